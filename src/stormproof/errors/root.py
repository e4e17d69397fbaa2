"""The root of the tree, and the repr every error uses for the values it names."""

from __future__ import annotations

import reprlib
from typing import Any


def safe_repr(value: Any) -> str:
    """``repr(value)``, or a shortened one when it would recurse too deep (a value nested
    thousands of levels) or fails."""
    try:
        return repr(value)
    except (RecursionError, ValueError):
        return reprlib.repr(value)


class StormproofError(Exception):
    """Root of every error stormproof raises on purpose."""
