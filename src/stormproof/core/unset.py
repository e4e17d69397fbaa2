"""``UNSET``, the default of options whose ``None`` means something, and ``Seconds``."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Final

#: A duration as the public API takes it: seconds, or a ``timedelta``.
Seconds = float | timedelta


class Unset(enum.Enum):
    """The type of :data:`UNSET`: "not passed", where ``None`` is a meaningful value."""

    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = Unset.UNSET


def passed(options: Mapping[str, Any]) -> dict[str, Any]:
    """The options actually passed: every one that is not ``UNSET``."""
    return {k: v for k, v in options.items() if v is not UNSET}


def or_default(value: Any, default: Any) -> Any:
    """``value``, or ``default`` when it was not passed."""
    return default if value is UNSET else value


def seconds(value: Seconds) -> float:
    """A duration in seconds (a ``timedelta`` converted)."""
    return value.total_seconds() if isinstance(value, timedelta) else value
