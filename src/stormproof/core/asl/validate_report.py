"""Shared state of one validation run: where we are, and the problems found so far.

Validation never stops at the first problem: every check appends to one list,
so a user sees all that is wrong with a definition in a single error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def child(path: str, key: str) -> str:
    """The JSON path of member ``key`` of the node at ``path``.

    Plain identifiers use dot notation (``$.States.Foo``); anything else uses
    the bracket form (``$.States['My state']``) so the path stays unambiguous.
    """
    if _IDENTIFIER.fullmatch(key):
        return f"{path}.{key}"
    escaped = key.replace("\\", "\\\\").replace("'", "\\'")
    return f"{path}['{escaped}']"


def item(path: str, index: int) -> str:
    """The JSON path of element ``index`` of the array at ``path``."""
    return f"{path}[{index}]"


@dataclass
class Scope:
    """What every check of one definition shares.

    ``machine_type`` is ``STANDARD`` or ``EXPRESS``; ``top_jsonata`` is true
    when the whole machine declares ``QueryLanguage: JSONata`` (states may then
    not go back to JSONPath). ``state_names`` maps each state name to the path
    where it was first defined, because names must be unique machine-wide.
    """

    machine_type: str = "STANDARD"
    top_jsonata: bool = False
    problems: list[tuple[str, str]] = field(default_factory=list)
    state_names: dict[str, str] = field(default_factory=dict)

    def add(self, path: str, message: str) -> None:
        """Record one problem at ``path``."""
        self.problems.append((path, message))


@dataclass(frozen=True)
class StateCtx:
    """One state being checked: its JSON path, its body and its query language."""

    scope: Scope
    path: str
    state: dict[str, Any]
    jsonata: bool

    def at(self, name: str) -> str:
        """The JSON path of field ``name`` of this state."""
        return child(self.path, name)

    def add(self, name: str, message: str) -> None:
        """Record a problem with field ``name`` of this state."""
        self.scope.add(self.at(name), message)

    def has(self, name: str) -> bool:
        """Whether the state sets field ``name``."""
        return name in self.state
