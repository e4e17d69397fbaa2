"""A compiled event pattern."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stormproof.core.patterns.flatten import flatten, load_event, path_prefixes
from stormproof.core.patterns.match import branch_matches
from stormproof.core.patterns.parse import Branch, compile_branches

PatternSource = Mapping[str, Any] | str | bytes | bytearray
"""What a pattern may be given as: a mapping, or its JSON text."""

EventSource = Mapping[str, Any] | str | bytes | bytearray
"""What an event may be given as: a mapping, or its JSON text."""


class Pattern:
    """An EventBridge event pattern, validated and compiled once, matched many times.

    Build one with :func:`compile_pattern`. ``branches`` are the pattern's alternatives after
    ``$or`` is multiplied out; ``paths`` every field path it names.
    """

    __slots__ = ("_wanted", "branches", "paths")

    def __init__(self, branches: tuple[Branch, ...]) -> None:
        self.branches = branches
        self.paths = frozenset(path for b in branches for path, _ in b.conditions)
        self._wanted = path_prefixes(set(self.paths))

    def matches(self, event: EventSource) -> bool:
        """Whether ``event`` (a mapping or JSON text) matches; ``InvalidEvent`` if malformed."""
        fields = flatten(load_event(event), self._wanted)
        return any(branch_matches(b.conditions, fields) for b in self.branches)

    def __repr__(self) -> str:
        return f"<Pattern paths={sorted(self.paths)!r} branches={len(self.branches)}>"


def compile_pattern(pattern: PatternSource | Pattern) -> Pattern:
    """Validate and compile ``pattern``; raise ``InvalidPattern`` with AWS's reason if invalid."""
    if isinstance(pattern, Pattern):
        return pattern
    return Pattern(compile_branches(pattern))
