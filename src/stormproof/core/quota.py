"""Usage-plan quotas as API Gateway defines them (pure: ``now`` is an argument).

A quota is ``limit`` requests per calendar ``period`` (``DAY``, ``WEEK`` or ``MONTH``, in
UTC), starting ``offset`` days into the period: for ``WEEK`` 0 is Sunday and 1 Monday, for
``MONTH`` 0 is the 1st (AWS's ``QuotaSettings{limit, offset, period}``). :func:`window`
gives the period holding ``now``; the count resets at its end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from stormproof.errors import InvalidAttribute

PERIODS = ("DAY", "WEEK", "MONTH")
MAX_OFFSET = {"DAY": 0, "WEEK": 6, "MONTH": 27}


@dataclass(frozen=True)
class Quota:
    """``limit`` requests per ``period``, the period starting ``offset`` days in."""

    limit: int
    period: str
    offset: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.limit, bool) or not isinstance(self.limit, int) or self.limit < 1:
            raise InvalidAttribute("quota.limit", self.limit, "an integer >= 1")
        if self.period not in PERIODS:
            raise InvalidAttribute("quota.period", self.period, "DAY, WEEK or MONTH")
        top = MAX_OFFSET[self.period]
        if isinstance(self.offset, bool) or not isinstance(self.offset, int):
            raise InvalidAttribute("quota.offset", self.offset, f"an integer 0..{top}")
        if not 0 <= self.offset <= top:
            raise InvalidAttribute("quota.offset", self.offset, f"an integer 0..{top}")


def window(quota: Quota, now: float) -> tuple[float, float]:
    """``(start, reset)``: the epoch seconds bounding the period that holds ``now``."""
    moment = datetime.fromtimestamp(now, UTC)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if quota.period == "DAY":
        return day.timestamp(), (day + timedelta(days=1)).timestamp()
    if quota.period == "WEEK":
        since_sunday = (day.weekday() + 1) % 7  # Monday is 0 in Python, Sunday 0 in AWS
        start = day - timedelta(days=(since_sunday - quota.offset) % 7)
        return start.timestamp(), (start + timedelta(days=7)).timestamp()
    start = _month_start(day.year, day.month, quota.offset)
    if start > day:
        year, month = (day.year - 1, 12) if day.month == 1 else (day.year, day.month - 1)
        start = _month_start(year, month, quota.offset)
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    return start.timestamp(), _month_start(year, month, quota.offset).timestamp()


def _month_start(year: int, month: int, offset: int) -> datetime:
    return datetime(year, month, 1, tzinfo=UTC) + timedelta(days=offset)


def remaining(quota: Quota, used: int) -> int:
    """Requests left in the period after ``used``."""
    return max(0, quota.limit - used)
