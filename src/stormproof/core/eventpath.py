"""The JSONPath subset EventBridge accepts in ``InputPath`` and ``InputPathsMap``.

A path is ``$`` followed by steps: ``.name`` (dot notation), ``[3]`` (an array
index) or ``['name']`` / ``["name"]`` (bracket notation), e.g.
``$.detail.items[0].id`` or ``$['detail-type']``. Wildcards, slices, filters
and recursive descent are not part of EventBridge's input paths and are
rejected when the target is defined, so a path that parses always means one
place in the event.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final

from stormproof.errors import InvalidAttribute

MAX_PATH_LENGTH: Final = 256

# Dotted names stop at the next separator; "*" is excluded so a wildcard is not
# silently read as a key called "*".
_STEP = re.compile(r"""\.([^.\[\]*]+)|\[([0-9]+)\]|\['([^']*)'\]|\["([^"]*)"\]""")


class Missing(Enum):
    """Marker type for "the path selects nothing in this event"."""

    MISSING = "missing"


MISSING: Final = Missing.MISSING
"""Returned by ``EventPath.resolve`` when the path does not exist in the event."""


@dataclass(frozen=True)
class EventPath:
    """A parsed input path: ``text`` as written, ``steps`` as keys and indexes."""

    text: str
    steps: tuple[str | int, ...]

    @classmethod
    def parse(cls, text: str, *, field: str) -> EventPath:
        """Parse ``text``; raise ``InvalidAttribute(field, text, ...)`` if it is not a path."""
        allowed = (
            f"a JSONPath of at most {MAX_PATH_LENGTH} characters: $ followed by .name, "
            "[index] or ['name'] steps (no wildcards, slices, filters or ..)"
        )
        if not isinstance(text, str) or len(text) > MAX_PATH_LENGTH or not text.startswith("$"):
            raise InvalidAttribute(field, text, allowed)
        steps: list[str | int] = []
        pos = 1
        while pos < len(text):
            match = _STEP.match(text, pos)
            if match is None:
                raise InvalidAttribute(field, text, allowed)
            name, index, single, double = match.groups()
            if index is not None:
                steps.append(int(index))
            else:
                steps.append(next(s for s in (name, single, double) if s is not None))
            pos = match.end()
        return cls(text, tuple(steps))

    def resolve(self, document: Any) -> Any:
        """The value at this path in ``document``, or ``MISSING``."""
        current = document
        for step in self.steps:
            if isinstance(step, int):
                if not isinstance(current, list) or step >= len(current):
                    return MISSING
                current = current[step]
            elif isinstance(current, dict) and step in current:
                current = current[step]
            else:
                return MISSING
        return current
