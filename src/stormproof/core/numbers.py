"""Whole numbers given by users: the one check that knows ``True`` is not ``1``.

``bool`` is a subclass of ``int`` in Python, so ``isinstance(True, int)`` holds; a flag
passed where a count belongs is a bug, and every count, size and limit is checked here.
"""

from __future__ import annotations

from typing import Any

from stormproof.errors import InvalidAttribute


def is_whole(value: Any) -> bool:
    """``value`` is an ``int`` and not a ``bool``."""
    return isinstance(value, int) and not isinstance(value, bool)


def whole_number(
    field: str, value: Any, low: int, high: int | None = None, *, allowed: str | None = None
) -> int:
    """``value`` if it is a whole number from ``low`` to ``high`` (no upper bound when
    ``high`` is None); else :class:`InvalidAttribute` naming ``field``, ``value`` and what
    is ``allowed`` (by default "an integer from low to high" or "an integer >= low")."""
    if is_whole(value) and low <= value and (high is None or value <= high):
        return int(value)
    if allowed is None:
        allowed = f"an integer >= {low}" if high is None else f"an integer from {low} to {high}"
    raise InvalidAttribute(field, value, allowed)
