"""Usage-plan quota periods (pure), with Hypothesis."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stormproof.core.quota import MAX_OFFSET, Quota, window
from stormproof.errors import InvalidAttribute

NOW = st.floats(min_value=0, max_value=4_000_000_000, allow_nan=False)


@given(NOW, st.sampled_from(["DAY", "WEEK", "MONTH"]), st.integers(0, 27))
def test_the_window_holds_now_and_starts_on_the_offset_day(
    now: float, period: str, off: int
) -> None:
    quota = Quota(5, period, min(off, MAX_OFFSET[period]))
    start, reset = window(quota, now)
    assert start <= now < reset
    begin = datetime.fromtimestamp(start, UTC)
    assert (begin.hour, begin.minute, begin.second) == (0, 0, 0)
    if period == "WEEK":
        assert (begin.weekday() + 1) % 7 == quota.offset  # 0 = Sunday
        assert reset - start == 7 * 86_400
    elif period == "MONTH":
        assert begin.day == quota.offset + 1
    else:
        assert reset - start == 86_400
    assert window(quota, reset)[0] == reset  # the next period starts at the reset


def test_examples_and_bad_settings() -> None:
    # 2026-03-15 12:00 UTC, a Sunday.
    now = datetime(2026, 3, 15, 12, tzinfo=UTC).timestamp()
    start, reset = window(Quota(1, "MONTH", 19), now)
    assert datetime.fromtimestamp(start, UTC) == datetime(2026, 2, 20, tzinfo=UTC)
    assert datetime.fromtimestamp(reset, UTC) == datetime(2026, 3, 20, tzinfo=UTC)
    start, _ = window(Quota(1, "WEEK", 1), now)
    assert datetime.fromtimestamp(start, UTC) == datetime(2026, 3, 9, tzinfo=UTC)
    bad_settings = [(0, "DAY", 0), (1, "YEAR", 0), (1, "DAY", 1), (1, "WEEK", 7)]
    for bad in bad_settings:
        with pytest.raises(InvalidAttribute) as info:
            Quota(*bad)
        assert info.value.field.startswith("quota.")
