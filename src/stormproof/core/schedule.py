"""EventBridge schedule expressions: ``rate(...)`` and six-field ``cron(...)``.

``parse(expr)`` validates an expression as AWS does and raises
``InvalidAttribute(field="schedule", value=expr, allowed=reason)`` otherwise;
the returned schedule answers ``next_after(t)``: the first firing time strictly
after ``t`` (UTC, whole minutes), or ``None`` when there is none (cron years end
at 2199).

``rate(value unit)``: ``value`` a positive integer, ``unit`` one of
``minute``/``hour``/``day`` in the singular for 1 and ``minutes``/``hours``/
``days`` otherwise (AWS rejects ``rate(1 minutes)`` and ``rate(5 minute)``).
Firings sit on a grid of the period from ``anchor``; ``parse`` anchors at the
Unix epoch (so ``rate(1 hour)`` fires on the hour); AWS anchors at the rule's
creation, which a caller gets with ``dataclasses.replace(s, anchor=created)``.

``cron(minutes hours day-of-month month day-of-week year)``, in UTC:

=============  ===========================  ====================
field          values                       wildcards
=============  ===========================  ====================
minutes        0-59                         ``, - * /``
hours          0-23                         ``, - * /``
day-of-month   1-31                         ``, - * ? / L W``
month          1-12 or JAN-DEC              ``, - * /``
day-of-week    1-7 or SUN-SAT (1 = SUN)     ``, - * ? L #``
year           1970-2199                    ``, - * /``
=============  ===========================  ====================

Exactly one of day-of-month and day-of-week is ``?``. ``L`` is the last day
of the month (day-of-month) or, after a weekday, the last such weekday of the
month (``6L``; a bare ``L`` is Saturday). ``15W`` is the weekday nearest the
15th within the month, ``LW`` the month's last weekday. ``3#2`` is the second
Tuesday. Names are case-insensitive; ranges must not wrap (``FRI-MON`` is
rejected).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final

from stormproof.errors import InvalidAttribute, safe_repr

MIN_YEAR: Final = 1970
MAX_YEAR: Final = 2199
EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

_RATE = re.compile(r"rate\(([0-9]+) (minute|hour|day)(s?)\)")
_CRON = re.compile(r"cron\((.*)\)", re.DOTALL)
_UNIT_SECONDS: Final = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS: Final = {n.upper(): i for i, n in enumerate(calendar.month_abbr) if n}
_WEEKDAYS: Final = {
    n: i for i, n in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), 1)
}


def _fail(expr: str, reason: str) -> InvalidAttribute:
    return InvalidAttribute("schedule", expr, reason)


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _aws_weekday(day: date) -> int:
    """1 = Sunday ... 7 = Saturday, as cron's day-of-week counts."""
    return day.isoweekday() % 7 + 1


@dataclass(frozen=True)
class RateSchedule:
    """``rate(...)``: fires every ``period`` seconds on a grid starting at ``anchor``."""

    expression: str
    period: int
    anchor: datetime = EPOCH

    def next_after(self, t: datetime) -> datetime | None:
        """The first firing strictly after ``t`` (``None`` past the datetime range)."""
        step = timedelta(seconds=self.period)
        anchor = _utc(self.anchor)
        periods = (_utc(t) - anchor) // step
        try:
            return anchor + (periods + 1) * step
        except OverflowError:
            return None

    def matches(self, t: datetime) -> bool:
        """Whether the schedule fires at ``t``."""
        return (_utc(t) - _utc(self.anchor)) % timedelta(seconds=self.period) == timedelta(0)


@dataclass(frozen=True)
class DayOfMonth:
    """A parsed day-of-month field (other than ``?``)."""

    days: frozenset[int] = frozenset()
    last: bool = False
    last_weekday: bool = False
    nearest_weekday: int | None = None

    def matches(self, day: date) -> bool:
        """Whether ``day`` is selected."""
        length = calendar.monthrange(day.year, day.month)[1]
        if self.last:
            return day.day == length
        if self.last_weekday:
            return day.day == _nearest_weekday(day.year, day.month, length)
        if self.nearest_weekday is not None:
            wanted = self.nearest_weekday
            return wanted <= length and day.day == _nearest_weekday(day.year, day.month, wanted)
        return day.day in self.days


def _nearest_weekday(year: int, month: int, wanted: int) -> int:
    """The Monday-to-Friday day nearest ``wanted``, never leaving the month."""
    length = calendar.monthrange(year, month)[1]
    weekday = date(year, month, wanted).weekday()  # Monday = 0
    if weekday == 5:  # Saturday: Friday before, or Monday after when the 1st
        return wanted + 2 if wanted == 1 else wanted - 1
    if weekday == 6:  # Sunday: Monday after, or Friday before when the last day
        return wanted - 2 if wanted == length else wanted + 1
    return wanted


@dataclass(frozen=True)
class DayOfWeek:
    """A parsed day-of-week field (other than ``?``); weekdays are 1 = SUN ... 7 = SAT."""

    days: frozenset[int] = frozenset()
    last_of: int | None = None
    nth: tuple[int, int] | None = None

    def matches(self, day: date) -> bool:
        """Whether ``day`` is selected."""
        weekday = _aws_weekday(day)
        if self.last_of is not None:
            length = calendar.monthrange(day.year, day.month)[1]
            return weekday == self.last_of and day.day + 7 > length
        if self.nth is not None:
            wanted, nth = self.nth
            return weekday == wanted and (day.day - 1) // 7 + 1 == nth
        return weekday in self.days


@dataclass(frozen=True)
class CronSchedule:
    """``cron(...)``: the parsed fields; exactly one of the day fields is ``None`` (``?``)."""

    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    day_of_month: DayOfMonth | None
    months: frozenset[int]
    day_of_week: DayOfWeek | None
    years: frozenset[int]

    def day_matches(self, day: date) -> bool:
        """Whether the day fields select ``day`` (month and year not checked)."""
        field = self.day_of_month if self.day_of_month is not None else self.day_of_week
        return field is not None and field.matches(day)

    def matches(self, t: datetime) -> bool:
        """Whether the schedule fires at ``t`` (seconds must be zero)."""
        t = _utc(t)
        return (
            t.second == 0
            and t.microsecond == 0
            and t.minute in self.minutes
            and t.hour in self.hours
            and t.month in self.months
            and t.year in self.years
            and self.day_matches(t.date())
        )

    def next_after(self, t: datetime) -> datetime | None:
        """The first firing strictly after ``t``, or ``None`` if there is none."""
        t = _utc(t)
        if t.year > MAX_YEAR:
            return None
        start = t.replace(second=0, microsecond=0) + timedelta(minutes=1)
        for day in self._days_from(start.date()):
            for hour in sorted(self.hours):
                for minute in sorted(self.minutes):
                    candidate = datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
                    if candidate >= start:
                        return candidate
        return None

    def _days_from(self, first: date) -> Iterator[date]:
        """Selected days on or after ``first``, in order, skipping unselected years and months."""
        for year in sorted(y for y in self.years if y >= first.year):
            for month in sorted(self.months):
                if (year, month) < (first.year, first.month):
                    continue
                start = first.day if (year, month) == (first.year, first.month) else 1
                for number in range(start, calendar.monthrange(year, month)[1] + 1):
                    day = date(year, month, number)
                    if self.day_matches(day):
                        yield day


def parse(expr: str) -> RateSchedule | CronSchedule:
    """Parse a ``rate(...)`` or ``cron(...)`` expression; raise ``InvalidAttribute`` if invalid."""
    if not isinstance(expr, str):
        raise _fail(safe_repr(expr), "a string: rate(value unit) or cron(6 fields)")
    if expr.startswith("rate("):
        return _parse_rate(expr)
    match = _CRON.fullmatch(expr)
    if match is None:
        raise _fail(
            expr, "rate(value unit) or cron(minutes hours day-of-month month day-of-week year)"
        )
    return _parse_cron(expr, match.group(1))


def _parse_rate(expr: str) -> RateSchedule:
    match = _RATE.fullmatch(expr)
    if match is None:
        raise _fail(
            expr, "rate(value unit) with unit minute(s), hour(s) or day(s), e.g. rate(5 minutes)"
        )
    number, unit, plural = match.groups()
    value = int(number)
    if value < 1 or number.startswith("0"):
        raise _fail(expr, "a rate value that is a positive integer without leading zeros")
    if (value == 1) == bool(plural):
        wanted = f"{unit}" if value == 1 else f"{unit}s"
        raise _fail(expr, f"the unit {wanted!r} for a value of {value} (singular only for 1)")
    return RateSchedule(expr, value * _UNIT_SECONDS[unit])


def _parse_cron(expr: str, body: str) -> CronSchedule:
    fields = body.split()
    if len(fields) != 6:
        raise _fail(
            expr,
            "six cron fields: minutes hours day-of-month month day-of-week year "
            f"(got {len(fields)})",
        )
    minute, hour, dom, month, dow, year = fields
    day_of_month = _parse_day_of_month(expr, dom)
    day_of_week = _parse_day_of_week(expr, dow)
    if (day_of_month is None) == (day_of_week is None):
        raise _fail(expr, "'?' in exactly one of day-of-month and day-of-week")
    return CronSchedule(
        expression=expr,
        minutes=_parse_set(expr, minute, _Field("minutes", 0, 59)),
        hours=_parse_set(expr, hour, _Field("hours", 0, 23)),
        day_of_month=day_of_month,
        months=_parse_set(expr, month, _Field("month", 1, 12, _MONTHS)),
        day_of_week=day_of_week,
        years=_parse_set(expr, year, _Field("year", MIN_YEAR, MAX_YEAR)),
    )


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: Mapping[str, int] | None = None
    steps: bool = True


_DOM = _Field("day-of-month", 1, 31)
_DOW = _Field("day-of-week", 1, 7, _WEEKDAYS, steps=False)


def _parse_day_of_month(expr: str, text: str) -> DayOfMonth | None:
    if text == "?":
        return None
    upper = text.upper()
    if upper == "L":
        return DayOfMonth(last=True)
    if upper == "LW":
        return DayOfMonth(last_weekday=True)
    if upper.endswith("W"):
        return DayOfMonth(nearest_weekday=_value(expr, upper[:-1], _DOM))
    return DayOfMonth(days=_parse_set(expr, text, _DOM))


def _parse_day_of_week(expr: str, text: str) -> DayOfWeek | None:
    if text == "?":
        return None
    upper = text.upper()
    if upper == "L":
        return DayOfWeek(days=frozenset({7}))  # the last day of the week: Saturday
    if upper.endswith("L"):
        return DayOfWeek(last_of=_value(expr, upper[:-1], _DOW))
    if "#" in upper:
        weekday, _, nth = upper.partition("#")
        if not nth.isdigit() or not 1 <= int(nth) <= 5:
            raise _fail(expr, f"day-of-week 'day#n' with n from 1 to 5 (got {text!r})")
        return DayOfWeek(nth=(_value(expr, weekday, _DOW), int(nth)))
    return DayOfWeek(days=_parse_set(expr, text, _DOW))


def _parse_set(expr: str, text: str, field: _Field) -> frozenset[int]:
    """A field made of ``*``, values, ranges and steps, separated by commas."""
    values: set[int] = set()
    for item in text.split(","):
        values.update(_parse_item(expr, item, field))
    return frozenset(values)


def _parse_item(expr: str, item: str, field: _Field) -> range:
    base, slash, step_text = item.partition("/")
    if slash and not field.steps:
        raise _fail(expr, f"{field.name} without '/' steps (got {item!r})")
    if base == "*":
        low, high = field.low, field.high
    elif "-" in base:
        first, _, last = base.partition("-")
        low, high = _value(expr, first, field), _value(expr, last, field)
        if low > high:
            raise _fail(expr, f"{field.name} ranges from low to high, not wrapping (got {item!r})")
    else:
        low = _value(expr, base, field)
        # "5/15" means from 5 to the end in steps of 15; a lone "5" means just 5.
        high = field.high if slash else low
    step = 1
    if slash:
        if not step_text.isdigit() or int(step_text) < 1:
            raise _fail(expr, f"{field.name} steps that are positive integers (got {item!r})")
        step = int(step_text)
    return range(low, high + 1, step)


def _value(expr: str, text: str, field: _Field) -> int:
    """One value of a field, by number or (for month and day-of-week) by name."""
    upper = text.upper()
    if field.names is not None and upper in field.names:
        return field.names[upper]
    if text.isdigit() and text.isascii() and field.low <= int(text) <= field.high:
        return int(text)
    names = f" or {min(field.names, key=field.names.__getitem__)}-" if field.names else ""
    if field.names:
        names += max(field.names, key=field.names.__getitem__)
    raise _fail(expr, f"{field.name} values {field.low}-{field.high}{names} (got {text!r})")
