"""The JSONPath subset Step Functions uses.

Three kinds of path appear in a definition:

* *reference paths* (``ResultPath``, and the target of ``put``): only names and
  indexes, so they point at exactly one node;
* *full paths* (``InputPath``, ``ItemsPath``, ``.$`` values, Choice
  ``Variable``): also ``*``, ``..``, slices, unions and ``[?(...)]`` filters,
  which select a list of nodes;
* roots: ``$`` is the state input, ``$$`` the context object, and ``$name``
  a workflow variable.

Paths are parsed once and cached; evaluation never mutates its input.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from stormproof.core.asl.path_filter import FilterExpr, parse_filter

_NAME = re.compile(r"[^.\[\]()]+")
_VARIABLE_ROOT = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


class PathError(Exception):
    """A path selected nothing, or is not valid JSONPath.

    ``message`` is the Jayway-style text AWS quotes ("No results for path:
    $['a']" or "Missing property in path $['a']").
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Segment:
    """One step of a path: ``kind`` is key, index, wild, slice, union, deep or filter."""

    kind: str
    value: Any = None


@dataclass(frozen=True)
class Path:
    """A parsed path: its root (``$``, ``$$`` or a variable name) and segments."""

    text: str
    root: str
    segments: tuple[Segment, ...]

    @property
    def definite(self) -> bool:
        """True when the path can select at most one node (no wildcard, slice, filter...)."""
        return all(s.kind in ("key", "index") for s in self.segments)


@lru_cache(maxsize=4096)
def parse(text: str) -> Path:
    """Parse ``text`` into a :class:`Path`; raises :class:`PathError` if it is not one."""
    if text.startswith("$$"):
        root, pos = "$$", 2
    elif (m := _VARIABLE_ROOT.match(text)) is not None:
        root, pos = m.group(1), m.end()
    elif text.startswith("$"):
        root, pos = "$", 1
    else:
        raise PathError(f"Path must start with '$': {text}")
    segments: list[Segment] = []
    while pos < len(text):
        segment, pos = _parse_segment(text, pos)
        segments.append(segment)
    return Path(text, root, tuple(segments))


def _parse_segment(text: str, pos: int) -> tuple[Segment, int]:
    if text.startswith("..", pos):
        m = _NAME.match(text, pos + 2)
        if m is None:
            raise PathError(f"Invalid path: {text}")
        name = m.group(0)
        return Segment("deep", None if name == "*" else name), m.end()
    if text[pos] == ".":
        if text.startswith(".length()", pos) and pos + 9 == len(text):
            return Segment("length"), pos + 9
        m = _NAME.match(text, pos + 1)
        if m is None:
            raise PathError(f"Invalid path: {text}")
        name = m.group(0)
        return (Segment("wild") if name == "*" else Segment("key", name)), m.end()
    if text[pos] == "[":
        return _parse_bracket(text, pos)
    raise PathError(f"Invalid path: {text}")


def _parse_bracket(text: str, pos: int) -> tuple[Segment, int]:
    if text.startswith("[?(", pos):
        end = _matching_close(text, pos + 2)
        expr: FilterExpr = parse_filter(text[pos + 3 : end])
        if not text.startswith("]", end + 1):
            raise PathError(f"Invalid path: {text}")
        return Segment("filter", expr), end + 2
    if text.startswith(("['", '["'), pos):
        quote = text[pos + 1]
        end = text.find(quote + "]", pos + 2)
        if end < 0:
            raise PathError(f"Invalid path: {text}")
        # Keys are taken verbatim: AWS does not unescape inside bracket quotes.
        names = text[pos + 2 : end].split(quote + "," + quote)
        seg = Segment("key", names[0]) if len(names) == 1 else Segment("union", tuple(names))
        return seg, end + 2
    end = text.find("]", pos)
    if end < 0:
        raise PathError(f"Invalid path: {text}")
    return _index_segment(text[pos + 1 : end].strip(), text), end + 1


def _index_segment(body: str, text: str) -> Segment:
    try:
        if body == "*":
            return Segment("wild")
        if ":" in body:
            parts = [int(p) if p.strip() else None for p in body.split(":")]
            return Segment("slice", tuple(parts + [None] * (3 - len(parts))))
        if "," in body:
            return Segment("union", tuple(int(p) for p in body.split(",")))
        return Segment("index", int(body))
    except ValueError as exc:
        raise PathError(f"Invalid path: {text}") from exc


def _matching_close(text: str, open_pos: int) -> int:
    depth = 0
    for i in range(open_pos, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return i
    raise PathError(f"Invalid path: {text}")


def bracket_notation(segments: tuple[Segment, ...]) -> str:
    """Render segments the way Jayway prints them in messages: ``$['a'][0]``."""
    out = ["$"]
    for s in segments:
        out.append(f"[{s.value}]" if s.kind == "index" else f"['{s.value}']")
    return "".join(out)


def select(path: Path | str, data: Any) -> Any:
    """Evaluate ``path`` against ``data`` (the root it names must already be chosen).

    A definite path returns the one node or raises :class:`PathError`; an
    indefinite one returns the (possibly empty) list of matches.
    """
    p = parse(path) if isinstance(path, str) else path
    if p.definite:
        return _select_definite(p, data)
    nodes = [data]
    for segment in p.segments:
        nodes = [child for node in nodes for child in _step(segment, node)]
    return nodes


def _select_definite(p: Path, data: Any) -> Any:
    node = data
    for i, segment in enumerate(p.segments):
        found, node = _child(segment, node)
        if not found:
            shown = bracket_notation(p.segments[: i + 1])
            if i == len(p.segments) - 1:
                raise PathError(f"No results for path: {shown}")
            raise PathError(f"Missing property in path {shown}")
    return node


def _child(segment: Segment, node: Any) -> tuple[bool, Any]:
    if segment.kind == "key" and isinstance(node, dict) and segment.value in node:
        return True, node[segment.value]
    if segment.kind == "index" and isinstance(node, list):
        index = segment.value
        if -len(node) <= index < len(node):
            return True, node[index]
    return False, None


def _step(segment: Segment, node: Any) -> list[Any]:
    kind = segment.kind
    if kind in ("key", "index"):
        found, child = _child(segment, node)
        return [child] if found else []
    if kind == "wild":
        return _children(node)
    if kind == "slice" and isinstance(node, list):
        start, stop, step = segment.value
        return list(node[slice(start, stop, step)])
    if kind == "union":
        return [c for v in segment.value for c in _step(_union_part(v), node)]
    if kind == "deep":
        return _deep(segment.value, node)
    if kind == "filter":
        expr: FilterExpr = segment.value
        return [c for c in _children(node) if expr.matches(c)]
    if kind == "length" and isinstance(node, list | dict | str):
        return [len(node)]
    return []


def _union_part(value: Any) -> Segment:
    return Segment("index", value) if isinstance(value, int) else Segment("key", value)


def _children(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return list(node.values())
    if isinstance(node, list):
        return list(node)
    return []


def _deep(name: str | None, node: Any) -> list[Any]:
    out: list[Any] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if name is None or key == name:
                out.append(value)
            out.extend(_deep(name, value))
    elif isinstance(node, list):
        for value in node:
            if name is None:
                out.append(value)
            out.extend(_deep(name, value))
    return out


def put(data: Any, path: Path | str, value: Any) -> Any:
    """Return a copy of ``data`` with ``value`` placed at the reference path.

    Intermediate objects are created as needed (``ResultPath`` semantics); a
    path of just ``$`` replaces the whole document.
    """
    p = parse(path) if isinstance(path, str) else path
    if not p.segments:
        return copy.deepcopy(value)
    root = copy.deepcopy(data)
    if not isinstance(root, dict | list):
        root = {}
    node = root
    for i, segment in enumerate(p.segments):
        last = i == len(p.segments) - 1
        node = _put_step(node, segment, value if last else None, last, p)
    return root


def _put_step(node: Any, segment: Segment, value: Any, last: bool, p: Path) -> Any:
    if segment.kind == "key" and isinstance(node, dict):
        if last:
            node[segment.value] = copy.deepcopy(value)
            return None
        child = node.get(segment.value)
        if not isinstance(child, dict | list):
            child = node[segment.value] = {}
        return child
    if (
        segment.kind == "index"
        and isinstance(node, list)
        and -len(node) <= segment.value < len(node)
    ):
        if last:
            node[segment.value] = copy.deepcopy(value)
            return None
        return node[segment.value]
    raise PathError(f"Invalid path '{p.text}': cannot place a value there")
