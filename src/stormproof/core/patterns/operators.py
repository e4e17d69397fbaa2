"""Matchers: one per operator of the event-pattern language, plus the per-field condition.

Each matcher tests one leaf value. String operators (``prefix``, ``suffix``,
``equals-ignore-case``, ``wildcard``) match strings only; ``numeric`` matches JSON numbers only
(never booleans); ``anything-but`` matches every present value, of any type and including
``null``, that its list does not exclude. Exact values (strings, numbers, booleans, null) and
``numeric: ["=", n]`` are not matchers at all: they are keys in the condition's ``exact`` set,
which is what lets the multi-rule index find them by hashing.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, Protocol

from stormproof.core.patterns.cidr import IpRange
from stormproof.core.patterns.flatten import number_key, value_key
from stormproof.core.patterns.wildcard import Wildcard


class Matcher(Protocol):
    """Tests one leaf value of an event."""

    def matches(self, value: Any) -> bool:
        """Whether ``value`` satisfies the operator."""
        ...


@dataclass(frozen=True, slots=True)
class ExactKey:
    """An exact value, held as its comparison key (see ``flatten.value_key``)."""

    key: Hashable

    def matches(self, value: Any) -> bool:
        """Never called: exact keys are looked up in ``Condition.exact`` instead."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Absent:
    """``{"exists": false}``: satisfied by the field's absence, never by a value."""

    def matches(self, value: Any) -> bool:
        """A present value never satisfies ``exists: false``."""
        return False


@dataclass(frozen=True, slots=True)
class Present:
    """``{"exists": true}``: any leaf value at the path, ``null`` included."""

    def matches(self, value: Any) -> bool:
        """Every leaf value is present."""
        return True


@dataclass(frozen=True, slots=True)
class Prefix:
    """``{"prefix": p}``, case-sensitive."""

    prefix: str

    def matches(self, value: Any) -> bool:
        """Whether ``value`` is a string starting with the prefix."""
        return isinstance(value, str) and value.startswith(self.prefix)


@dataclass(frozen=True, slots=True)
class Suffix:
    """``{"suffix": s}``, case-sensitive."""

    suffix: str

    def matches(self, value: Any) -> bool:
        """Whether ``value`` is a string ending with the suffix."""
        return isinstance(value, str) and value.endswith(self.suffix)


@dataclass(frozen=True, slots=True)
class EqualsIgnoreCase:
    """``{"equals-ignore-case": s}``; ``lowered`` is ``s.lower()``."""

    lowered: str

    def matches(self, value: Any) -> bool:
        """Whether ``value`` is a string equal to ``s`` when both are lower-cased."""
        return isinstance(value, str) and value.lower() == self.lowered


@dataclass(frozen=True, slots=True)
class PrefixIgnoreCase:
    """``{"prefix": {"equals-ignore-case": p}}``."""

    lowered: str

    def matches(self, value: Any) -> bool:
        """Whether ``value`` is a string starting with ``p``, ignoring case."""
        return isinstance(value, str) and value.lower().startswith(self.lowered)


@dataclass(frozen=True, slots=True)
class SuffixIgnoreCase:
    """``{"suffix": {"equals-ignore-case": s}}``."""

    lowered: str

    def matches(self, value: Any) -> bool:
        """Whether ``value`` is a string ending with ``s``, ignoring case."""
        return isinstance(value, str) and value.lower().endswith(self.lowered)


@dataclass(frozen=True, slots=True)
class WildcardMatch:
    """``{"wildcard": w}``."""

    wildcard: Wildcard

    def matches(self, value: Any) -> bool:
        """Whether ``value`` is a string the wildcard matches."""
        return isinstance(value, str) and self.wildcard.matches(value)


@dataclass(frozen=True, slots=True)
class NumericRange:
    """``{"numeric": [...]}`` with bounds; infinite bounds stand for an open side."""

    low: float
    low_open: bool
    high: float
    high_open: bool

    def matches(self, value: Any) -> bool:
        """Whether ``value`` is a JSON number inside the range."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        number = number_key(value)
        above = number > self.low if self.low_open else number >= self.low
        below = number < self.high if self.high_open else number <= self.high
        return above and below


@dataclass(frozen=True, slots=True)
class Cidr:
    """``{"cidr": block}``, or an exact string that is an IP literal (a one-address range)."""

    block: IpRange

    def matches(self, value: Any) -> bool:
        """Whether ``value`` is a string holding an address in the block."""
        return self.block.contains(value)


@dataclass(frozen=True, slots=True)
class AnythingBut:
    """``{"anything-but": v}`` with strings or numbers, held as comparison keys."""

    keys: frozenset[Hashable]

    def matches(self, value: Any) -> bool:
        """Whether ``value`` is none of the excluded values (``null`` never is)."""
        return value_key(value) not in self.keys


@dataclass(frozen=True, slots=True)
class AnythingButString:
    """``anything-but`` over a string operator; values of other types always match."""

    excluded: tuple[Matcher, ...]

    def matches(self, value: Any) -> bool:
        """Whether ``value`` is not a string matching any excluded operator."""
        return not isinstance(value, str) or not any(m.matches(value) for m in self.excluded)


@dataclass(frozen=True, slots=True)
class Condition:
    """What one field of a pattern requires: any of its values (an OR list).

    ``exact`` holds the keys of exact values; ``others`` the operator matchers; ``absent_ok``
    is set by ``{"exists": false}``. A leaf satisfies the condition if its key is in ``exact``
    or a matcher accepts it; the field's absence satisfies it only if ``absent_ok``.
    """

    exact: frozenset[Hashable]
    others: tuple[Matcher, ...]
    absent_ok: bool

    def accepts(self, value: Any, key: Hashable) -> bool:
        """Whether the leaf ``value`` (with comparison ``key``) satisfies the condition."""
        if key in self.exact:
            return True
        return any(m.matches(value) for m in self.others)


def build_condition(parts: list[Matcher]) -> Condition:
    """Fold the parsed members of one field's value list into a :class:`Condition`."""
    exact = frozenset(p.key for p in parts if isinstance(p, ExactKey))
    absent_ok = any(isinstance(p, Absent) for p in parts)
    others = tuple(p for p in parts if not isinstance(p, ExactKey | Absent))
    return Condition(exact, others, absent_ok)
