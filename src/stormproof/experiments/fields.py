"""Reading one mapping of an experiment file: every value checked, every error naming the
field by its path in the file (``faults[1].at``), the value and the allowed range."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from stormproof.core.numbers import is_whole
from stormproof.errors import InvalidAttribute


class Fields:
    """The keys of one mapping at ``path``; :meth:`done` refuses keys nobody read."""

    def __init__(self, path: str, data: Any) -> None:
        if not isinstance(data, Mapping):
            raise InvalidAttribute(path or "experiment", data, "a mapping")
        self.path = path
        self.data = data
        self._read: set[str] = set()

    def name(self, key: str) -> str:
        """The full path of ``key``."""
        return f"{self.path}.{key}" if self.path else key

    def raw(self, key: str, default: Any = None) -> Any:
        """The value of ``key`` unchecked (``default`` when absent)."""
        self._read.add(key)
        return self.data.get(key, default)

    def has(self, key: str) -> bool:
        """``key`` is present."""
        return key in self.data

    def number(
        self, key: str, default: float | None, low: float, high: float, *, above: bool = False
    ) -> float:
        """A finite number from ``low`` to ``high`` (``low`` excluded when ``above``)."""
        value = self.raw(key, default)
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        ok = ok and math.isfinite(value) and (value > low if above else value >= low)
        if not ok or value > high:
            side = f"> {low:g}" if above else f">= {low:g}"
            raise InvalidAttribute(self.name(key), value, f"a number {side} and <= {high:g}")
        return float(value)

    def optional_number(self, key: str, low: float, high: float) -> float | None:
        """Like :meth:`number`, or None when absent."""
        return None if self.raw(key) is None else self.number(key, None, low, high)

    def whole(self, key: str, default: int, low: int, high: int) -> int:
        """A whole number from ``low`` to ``high``."""
        value = self.raw(key, default)
        if not is_whole(value) or not low <= value <= high:
            raise InvalidAttribute(self.name(key), value, f"an integer from {low} to {high}")
        return int(value)

    def text(self, key: str, default: str | None = None, *, max_length: int = 256) -> str:
        """A non-empty string of at most ``max_length`` characters."""
        value = self.raw(key, default)
        if not isinstance(value, str) or not 0 < len(value) <= max_length:
            allowed = f"a non-empty string of at most {max_length} characters"
            raise InvalidAttribute(self.name(key), value, allowed)
        return value

    def optional_text(self, key: str) -> str | None:
        """Like :meth:`text`, or None when absent."""
        return None if self.raw(key) is None else self.text(key)

    def choice(self, key: str, choices: Sequence[str], default: str | None = None) -> str:
        """One of ``choices``."""
        value = self.raw(key, default)
        if value not in choices:
            raise InvalidAttribute(self.name(key), value, "one of " + ", ".join(choices))
        return str(value)

    def mapping(self, key: str) -> dict[str, Any]:
        """A mapping (empty when absent)."""
        value = self.raw(key, {})
        if not isinstance(value, Mapping):
            raise InvalidAttribute(self.name(key), value, "a mapping")
        return dict(value)

    def items(self, key: str, max_items: int) -> list[Any]:
        """A list of at most ``max_items`` entries (empty when absent)."""
        value = self.raw(key, [])
        if not isinstance(value, list) or len(value) > max_items:
            raise InvalidAttribute(self.name(key), value, f"a list of at most {max_items} items")
        return value

    def done(self) -> None:
        """Refuse a key nobody read: a typo must not be silently ignored."""
        unknown = sorted(set(self.data) - self._read)
        if unknown:
            known = ", ".join(sorted(self._read))
            raise InvalidAttribute(
                self.name(str(unknown[0])), self.data[unknown[0]], f"keys {known}"
            )
