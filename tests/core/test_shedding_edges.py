"""Load shedding's validation and surge rule (core/shedding.py): the limits of
max_message_age, shards and surge thresholds, and when a queue is surging."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stormproof.core import shedding
from stormproof.errors import InvalidAttribute


def test_max_message_age_is_none_or_one_second_to_fourteen_days() -> None:
    assert shedding.check_max_age(None) is None
    assert shedding.check_max_age(1) == 1.0
    for bad in (0.5, 14 * 86400 + 1, True, float("inf"), "60"):
        with pytest.raises(InvalidAttribute) as err:
            shedding.check_max_age(bad)
        assert err.value.field == "max_message_age" and err.value.value == bad


@given(st.integers(0, 10**9), st.integers(0, 10**6), st.none() | st.floats(1, 1e6))
def test_a_message_is_stale_past_its_max_age(sent: int, age: int, limit: float | None) -> None:
    assert shedding.stale(sent, sent + age, limit) == (limit is not None and age > limit)


def test_shards_of_two_to_64_queues() -> None:
    assert shedding.check_shards(2, 1) == (2, 1)
    assert shedding.check_shards(64, 63) == (64, 63)


@pytest.mark.parametrize(
    ("queues", "per_key", "field"),
    [
        (True, 1, "queues"),
        ("4", 1, "queues"),
        (1, 1, "queues"),
        (65, 1, "queues"),
        (4, 0, "per_key"),
        (4, 4, "per_key"),
        (4, True, "per_key"),
    ],
)
def test_bad_shards_name_the_field(queues: object, per_key: object, field: str) -> None:
    with pytest.raises(InvalidAttribute) as err:
        shedding.check_shards(queues, per_key)
    assert err.value.field == field


def test_surge_needs_a_threshold_and_only_known_options() -> None:
    assert shedding.check_surge({"to": "s", "backlog": 10}) == (10, None)
    assert shedding.check_surge({"to": "s", "oldest_age": 5}) == (None, 5.0)


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"backlog": 1}, "surge"),
        ({"to": "s", "backlog": 1, "depth": 2}, "surge.depth"),
        ({"to": "s", "backlog": 0}, "surge.backlog"),
        ({"to": "s", "backlog": True}, "surge.backlog"),
        ({"to": "s", "oldest_age": 0}, "surge.oldest_age"),
        ({"to": "s", "oldest_age": float("nan")}, "surge.oldest_age"),
        ({"to": "s"}, "surge.backlog"),
    ],
)
def test_bad_surges_name_the_field(spec: object, field: str) -> None:
    with pytest.raises(InvalidAttribute) as err:
        shedding.check_surge(spec)
    assert err.value.field == field


def test_a_queue_surges_past_either_threshold() -> None:
    assert shedding.surging(10, None, 10, None)
    assert not shedding.surging(9, None, 10, None)
    assert shedding.surging(0, 5.0, 10, 5.0)
    assert not shedding.surging(0, 4.9, None, 5.0)
    assert not shedding.surging(0, None, None, 5.0)  # an empty queue has no oldest age
