"""UNSET: "not passed", distinct from None."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from stormproof.core.unset import UNSET, or_default, passed, seconds


def test_unset_reads_as_its_name() -> None:
    assert repr(UNSET) == "UNSET"


@given(st.dictionaries(st.text(), st.one_of(st.none(), st.integers(), st.just(UNSET))))
def test_passed_keeps_every_option_but_unset_ones(options: dict[str, object]) -> None:
    kept = passed(options)
    assert kept == {k: v for k, v in options.items() if v is not UNSET}
    assert None not in options.values() or None in kept.values()


def test_or_default_replaces_only_unset() -> None:
    assert or_default(UNSET, 10) == 10
    assert or_default(None, 10) is None
    assert or_default(0, 10) == 0


@given(st.floats(min_value=0, max_value=1e6))
def test_seconds_reads_a_timedelta_or_a_number(value: float) -> None:
    assert seconds(value) == value
    assert seconds(timedelta(seconds=value)) == timedelta(seconds=value).total_seconds()
