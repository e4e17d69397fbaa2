"""EventBridge schedule expressions: validation, next firing time, periodicity."""

from __future__ import annotations

import calendar
import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stormproof.core.schedule import CronSchedule, RateSchedule, parse
from stormproof.errors import InvalidAttribute

times = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2190, 1, 1), timezones=st.just(UTC)
)
T0 = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)  # a Monday


# --- rate -----------------------------------------------------------------------------


@st.composite
def rates(draw: st.DrawFn) -> str:
    value = draw(st.integers(min_value=1, max_value=10_000))
    unit = draw(st.sampled_from(["minute", "hour", "day"]))
    return f"rate({value} {unit}{'' if value == 1 else 's'})"


@pytest.mark.parametrize(
    ("expr", "period"),
    [
        ("rate(1 minute)", 60),
        ("rate(5 minutes)", 300),
        ("rate(1 hour)", 3600),
        ("rate(2 hours)", 7200),
        ("rate(1 day)", 86400),
        ("rate(7 days)", 604800),
    ],
)
def test_rate_periods(expr: str, period: int) -> None:
    schedule = parse(expr)
    assert isinstance(schedule, RateSchedule)
    assert schedule.period == period


@pytest.mark.parametrize(
    "expr",
    [
        "rate(1 minutes)",
        "rate(5 minute)",
        "rate(1 hours)",
        "rate(2 day)",
        "rate(0 minutes)",
        "rate(-1 minutes)",
        "rate(05 minutes)",
        "rate(1 second)",
        "rate(5  minutes)",
        "rate(5 weeks)",
        "rate(1.5 hours)",
        "rate()",
    ],
)
def test_invalid_rates_are_rejected(expr: str) -> None:
    with pytest.raises(InvalidAttribute) as info:
        parse(expr)
    assert info.value.field == "schedule"
    assert info.value.value == expr


@given(rates(), times)
def test_rate_next_is_strictly_later_and_periodic(expr: str, t: datetime) -> None:
    schedule = parse(expr)
    assert isinstance(schedule, RateSchedule)
    first = schedule.next_after(t)
    assert first is not None
    assert t < first <= t + timedelta(seconds=schedule.period)
    assert schedule.matches(first)
    second = schedule.next_after(first)
    assert second is not None
    assert second - first == timedelta(seconds=schedule.period)


@given(rates(), times, times)
def test_rate_follows_its_anchor(expr: str, anchor: datetime, t: datetime) -> None:
    parsed = parse(expr)
    assert isinstance(parsed, RateSchedule)
    schedule = dataclasses.replace(parsed, anchor=anchor)
    nxt = schedule.next_after(t)
    assert nxt is not None
    assert (nxt - anchor) % timedelta(seconds=schedule.period) == timedelta(0)


def test_rate_from_the_epoch_fires_on_the_hour() -> None:
    assert parse("rate(1 hour)").next_after(
        datetime(2024, 1, 1, 12, 30, 5, tzinfo=UTC)
    ) == datetime(2024, 1, 1, 13, 0, tzinfo=UTC)


# --- cron: examples ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "after", "expected"),
    [
        ("cron(0 12 * * ? *)", T0, datetime(2024, 1, 2, 12, 0)),
        ("cron(15 10 ? * 6L 2024-2025)", T0, datetime(2024, 1, 26, 10, 15)),  # last Friday
        ("cron(0/15 * ? * MON-FRI *)", T0, datetime(2024, 1, 1, 12, 15)),
        (
            "cron(0/5 8-17 ? * MON-FRI *)",
            datetime(2024, 1, 5, 17, 56, tzinfo=UTC),
            datetime(2024, 1, 8, 8, 0),
        ),
        ("cron(0 10 L * ? *)", T0, datetime(2024, 1, 31, 10, 0)),
        ("cron(0 10 L 2 ? *)", T0, datetime(2024, 2, 29, 10, 0)),  # leap year
        ("cron(0 10 15W * ? *)", T0, datetime(2024, 1, 15, 10, 0)),  # Monday: itself
        ("cron(0 10 6W * ? *)", T0, datetime(2024, 1, 5, 10, 0)),  # Saturday -> Friday
        ("cron(0 10 7W * ? *)", T0, datetime(2024, 1, 8, 10, 0)),  # Sunday -> Monday
        ("cron(0 10 1W 6 ? *)", T0, datetime(2024, 6, 3, 10, 0)),  # Sat the 1st -> Mon the 3rd
        ("cron(0 10 30W 6 ? *)", T0, datetime(2024, 6, 28, 10, 0)),  # Sun the last -> Fri
        ("cron(0 10 LW 3 ? *)", T0, datetime(2024, 3, 29, 10, 0)),  # 31st is a Sunday
        ("cron(0 10 ? * 3#2 *)", T0, datetime(2024, 1, 9, 10, 0)),  # second Tuesday
        ("cron(0 10 ? * L *)", T0, datetime(2024, 1, 6, 10, 0)),  # Saturday
        ("cron(0 0 1 JAN,jul ? *)", T0, datetime(2024, 7, 1, 0, 0)),
        ("cron(0 0 29 2 ? *)", datetime(2024, 3, 1, tzinfo=UTC), datetime(2028, 2, 29, 0, 0)),
        ("cron(0 8 1 1 ? 2199)", T0, datetime(2199, 1, 1, 8, 0)),
        ("cron(0 0 1 */5 ? *)", T0, datetime(2024, 6, 1, 0, 0)),
        ("cron(5-10/2 * * * ? *)", T0, datetime(2024, 1, 1, 12, 5)),
        ("cron(0 0 ? * 1 *)", T0, datetime(2024, 1, 7, 0, 0)),  # 1 = Sunday
    ],
)
def test_cron_examples(expr: str, after: datetime, expected: datetime) -> None:
    assert parse(expr).next_after(after) == expected.replace(tzinfo=UTC)


@pytest.mark.parametrize(
    "expr",
    ["cron(0 0 30 2 ? *)", "cron(0 0 31W 4 ? *)", "cron(0 0 1 1 ? 1999)"],
)
def test_cron_that_never_fires_again_answers_none(expr: str) -> None:
    assert parse(expr).next_after(T0) is None


def test_naive_times_are_utc_and_seconds_are_dropped() -> None:
    schedule = parse("cron(* * * * ? *)")
    assert schedule.next_after(datetime(2024, 1, 1, 12, 0, 59, 999_999)) == datetime(
        2024, 1, 1, 12, 1, tzinfo=UTC
    )


@pytest.mark.parametrize(
    "expr",
    [
        "cron(0 12 * * * *)",  # no ?
        "cron(0 12 ? * ? *)",  # two ?
        "cron(0 12 * * ?)",  # five fields
        "cron(0 12 * * ? * *)",  # seven fields
        "cron(60 * * * ? *)",
        "cron(0 24 * * ? *)",
        "cron(0 0 0 * ? *)",
        "cron(0 0 32 * ? *)",
        "cron(0 0 * 13 * ?)",
        "cron(0 0 ? * 8 *)",
        "cron(0 0 ? * 0 *)",
        "cron(0 0 * * ? 1969)",
        "cron(0 0 * * ? 2200)",
        "cron(0 0 * FOO ? *)",
        "cron(0 0 ? * FRI-MON *)",  # wrapping range
        "cron(0 0 ? * MON/2 *)",  # no steps in day-of-week
        "cron(0 0 ? * 2#6 *)",
        "cron(0 0 ? * 2#0 *)",
        "cron(0 0 1,L * ? *)",
        "cron(0 0 L * L *)",
        "cron(*/0 * * * ? *)",
        "cron(? * * * ? *)",
        "cron(0 0 W * ? *)",
        "cron(0 0 1,,2 * ? *)",
        "cron(0 0 ٣ * ? *)",  # a non-ASCII digit
        "cron()",
        "cron 0 12 * * ? *",
        "at(2024-01-01T00:00:00)",
        "",
    ],
)
def test_invalid_crons_are_rejected_with_a_reason(expr: str) -> None:
    with pytest.raises(InvalidAttribute) as info:
        parse(expr)
    assert info.value.field == "schedule"
    assert info.value.value == expr
    assert info.value.allowed


# --- cron: properties -------------------------------------------------------------------


def _part(values: st.SearchStrategy[int], low: int, high: int) -> st.SearchStrategy[str]:
    single = values.map(str)
    span = st.tuples(values, values).map(lambda ab: f"{min(ab)}-{max(ab)}")
    step = st.tuples(values, st.integers(1, high - low + 1)).map(lambda vs: f"{vs[0]}/{vs[1]}")
    return st.one_of(
        st.just("*"), single, span, step, st.lists(single, min_size=1, max_size=4).map(",".join)
    )


@st.composite
def crons(draw: st.DrawFn) -> str:
    minutes = draw(_part(st.integers(0, 59), 0, 59))
    hours = draw(_part(st.integers(0, 23), 0, 23))
    months = draw(_part(st.integers(1, 12), 1, 12))
    years = draw(st.one_of(st.just("*"), st.integers(2000, 2150).map(lambda y: f"{y}-2199")))
    dow_values = st.integers(1, 7)
    day_fields = st.one_of(
        _part(st.integers(1, 31), 1, 31).map(lambda d: (d, "?")),
        st.sampled_from(["L", "LW"]).map(lambda d: (d, "?")),
        st.integers(1, 28).map(lambda d: (f"{d}W", "?")),
        st.one_of(
            dow_values.map(str),
            dow_values.map(lambda d: f"{d}L"),
            st.tuples(dow_values, st.integers(1, 4)).map(lambda p: f"{p[0]}#{p[1]}"),
            st.just("MON-FRI"),
            st.just("*"),
        ).map(lambda d: ("?", d)),
    )
    dom, dow = draw(day_fields)
    return f"cron({minutes} {hours} {dom} {months} {dow} {years})"


@given(crons(), times)
def test_cron_next_is_strictly_later_and_matches(expr: str, t: datetime) -> None:
    schedule = parse(expr)
    assert isinstance(schedule, CronSchedule)
    nxt = schedule.next_after(t)
    if nxt is None:
        return
    assert nxt > t
    assert nxt.tzinfo is UTC
    assert schedule.matches(nxt)


@given(crons(), times)
def test_cron_next_is_the_first_match(expr: str, t: datetime) -> None:
    # Walk minute by minute over a bounded window: no earlier minute may match.
    schedule = parse(expr)
    nxt = schedule.next_after(t)
    probe = t.replace(second=0, microsecond=0) + timedelta(minutes=1)
    for _ in range(3 * 24 * 60):
        if nxt is not None and probe >= nxt:
            break
        assert not schedule.matches(probe), f"{probe} matches before {nxt}"
        probe += timedelta(minutes=1)


@given(st.integers(1, 7), st.integers(1, 5), times)
def test_nth_weekday_is_that_weekday_in_that_week(weekday: int, nth: int, t: datetime) -> None:
    nxt = parse(f"cron(0 0 ? * {weekday}#{nth} *)").next_after(t)
    assert nxt is not None
    assert nxt.isoweekday() % 7 + 1 == weekday
    assert (nxt.day - 1) // 7 + 1 == nth


@given(st.integers(1, 7), times)
def test_last_weekday_of_month_has_no_later_same_weekday(weekday: int, t: datetime) -> None:
    nxt = parse(f"cron(0 0 ? * {weekday}L *)").next_after(t)
    assert nxt is not None
    assert nxt.isoweekday() % 7 + 1 == weekday
    assert nxt.day + 7 > calendar.monthrange(nxt.year, nxt.month)[1]


@given(st.integers(1, 31), times)
def test_nearest_weekday_stays_in_month_and_within_two_days(day: int, t: datetime) -> None:
    nxt = parse(f"cron(0 0 {day}W * ? *)").next_after(t)
    assert nxt is not None
    assert nxt.isoweekday() <= 5
    assert abs(nxt.day - day) <= 2
