"""Parsing intrinsic-function calls such as ``States.Format('{} x', $.a)``.

The grammar: a call is ``States.Name(arg, ...)``; an argument is a nested
call, a path (``$...``, ``$$...`` or ``$variable...``), a single-quoted string
literal, a number, ``true``, ``false`` or ``null``.

Inside a string literal ``\\'``, ``\\{``, ``\\}`` and ``\\\\`` are escapes. An
escaped brace must stay literal in ``States.Format``, so it is kept as a
private-use character until :func:`unmark` turns it back into a brace.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache

from stormproof.core.asl.failure import StatesError, runtime_error

#: Stand-ins for ``\\{`` and ``\\}`` inside parsed literals.
OPEN_MARK = "\ue000"
CLOSE_MARK = "\ue001"

_CALL = re.compile(r"\s*(States\.[A-Za-z0-9]+)\s*\(")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_WORD = re.compile(r"(true|false|null)\b")
_ESCAPES = {"'": "'", "{": OPEN_MARK, "}": CLOSE_MARK, "\\": "\\", "n": "\n", "t": "\t"}


@dataclass(frozen=True)
class Call:
    """A parsed call: the function name and its argument nodes."""

    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Literal:
    """A literal argument (string literals keep brace marks)."""

    value: object


@dataclass(frozen=True)
class PathArg:
    """A path argument, resolved against input, context or variables."""

    text: str


Node = Call | Literal | PathArg


def is_intrinsic(text: str) -> bool:
    """True when ``text`` looks like an intrinsic call (``States.X(...)``)."""
    return _CALL.match(text) is not None


def unmark(text: str) -> str:
    """Turn escaped-brace marks back into braces."""
    return text.replace(OPEN_MARK, "{").replace(CLOSE_MARK, "}")


@lru_cache(maxsize=2048)
def parse(text: str) -> Call:
    """Parse one intrinsic call; raises ``States.Runtime`` when it is malformed."""
    node, pos = _parse_call(text, 0)
    if text[pos:].strip():
        raise _syntax(text)
    return node


def _syntax(text: str) -> StatesError:
    return runtime_error(f"The intrinsic function '{text}' is not valid.")


def _parse_call(text: str, pos: int) -> tuple[Call, int]:
    m = _CALL.match(text, pos)
    if m is None:
        raise _syntax(text)
    pos = m.end()
    args: list[Node] = []
    pos = _skip_space(text, pos)
    if text.startswith(")", pos):
        return Call(m.group(1), ()), pos + 1
    while True:
        arg, pos = _parse_arg(text, pos)
        args.append(arg)
        pos = _skip_space(text, pos)
        if text.startswith(",", pos):
            pos += 1
            continue
        if text.startswith(")", pos):
            return Call(m.group(1), tuple(args)), pos + 1
        raise _syntax(text)


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


def _parse_arg(text: str, pos: int) -> tuple[Node, int]:
    pos = _skip_space(text, pos)
    if _CALL.match(text, pos):
        return _parse_call(text, pos)
    if text.startswith("'", pos):
        return _parse_string(text, pos + 1)
    if text.startswith("$", pos):
        end = _path_end(text, pos)
        return PathArg(text[pos:end].strip()), end
    if (m := _NUMBER.match(text, pos)) is not None:
        return Literal(json.loads(m.group(0))), m.end()
    if (m := _WORD.match(text, pos)) is not None:
        return Literal(json.loads(m.group(1))), m.end()
    raise _syntax(text)


def _parse_string(text: str, pos: int) -> tuple[Literal, int]:
    out: list[str] = []
    while pos < len(text):
        ch = text[pos]
        if ch == "\\" and pos + 1 < len(text):
            out.append(_ESCAPES.get(text[pos + 1], text[pos + 1]))
            pos += 2
        elif ch == "'":
            return Literal("".join(out)), pos + 1
        else:
            out.append(ch)
            pos += 1
    raise _syntax(text)


def _path_end(text: str, pos: int) -> int:
    """A path runs to the next top-level ``,`` or ``)``, skipping brackets and quotes."""
    depth, quote = 0, ""
    while pos < len(text):
        ch = text[pos]
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[(":
            depth += 1
        elif ch in "])":
            if depth == 0:
                return pos
            depth -= 1
        elif ch == "," and depth == 0:
            return pos
        pos += 1
    return pos
