"""JSONPath filter expressions: the ``[?(@.status == 0)]`` part of a path.

Supported: ``@`` relative paths (names and indexes), comparisons with
``== != < <= > >=`` against number, string, boolean and null literals, bare
existence tests, ``!``, ``&&`` and ``||`` with parentheses.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_TOKEN = re.compile(
    r"\s*(?:(?P<op>==|!=|<=|>=|<|>|&&|\|\||!|\(|\))"
    r"|(?P<rel>@(?:\.[A-Za-z0-9_\-]+|\[\d+\]|\['[^']*'\])*)"
    r"|(?P<str>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
    r"|(?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)"
    r"|(?P<word>true|false|null))"
)

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}

_MISSING = object()


@dataclass(frozen=True)
class FilterExpr:
    """A parsed filter: a tree of ``(op, operands...)`` tuples."""

    tree: tuple[Any, ...]

    def matches(self, item: Any) -> bool:
        """True when ``item`` (the ``@`` node) satisfies the filter."""
        return bool(_eval(self.tree, item))


def parse_filter(text: str) -> FilterExpr:
    """Parse the text between ``[?(`` and ``)]``."""
    tokens = _tokenize(text)
    tree, pos = _parse_or(tokens, 0)
    if pos != len(tokens):
        raise ValueError(f"Unexpected token in filter: {text}")
    return FilterExpr(tree)


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text.rstrip()):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise ValueError(f"Invalid filter expression: {text}")
        kind = m.lastgroup or ""
        tokens.append((kind, m.group(kind)))
        pos = m.end()
    return tokens


def _parse_or(tokens: list[tuple[str, str]], pos: int) -> tuple[tuple[Any, ...], int]:
    left, pos = _parse_and(tokens, pos)
    while pos < len(tokens) and tokens[pos] == ("op", "||"):
        right, pos = _parse_and(tokens, pos + 1)
        left = ("or", left, right)
    return left, pos


def _parse_and(tokens: list[tuple[str, str]], pos: int) -> tuple[tuple[Any, ...], int]:
    left, pos = _parse_unary(tokens, pos)
    while pos < len(tokens) and tokens[pos] == ("op", "&&"):
        right, pos = _parse_unary(tokens, pos + 1)
        left = ("and", left, right)
    return left, pos


def _parse_unary(tokens: list[tuple[str, str]], pos: int) -> tuple[tuple[Any, ...], int]:
    if tokens[pos] == ("op", "!"):
        inner, pos = _parse_unary(tokens, pos + 1)
        return ("not", inner), pos
    if tokens[pos] == ("op", "("):
        inner, pos = _parse_or(tokens, pos + 1)
        return inner, pos + 1
    left = _operand(tokens[pos])
    pos += 1
    if pos < len(tokens) and tokens[pos][0] == "op" and tokens[pos][1] in _COMPARE:
        op = tokens[pos][1]
        right = _operand(tokens[pos + 1])
        return ("cmp", op, left, right), pos + 2
    return ("exists", left), pos


def _operand(token: tuple[str, str]) -> tuple[str, Any]:
    kind, text = token
    if kind == "rel":
        return ("rel", re.findall(r"\.([A-Za-z0-9_\-]+)|\[(\d+)\]|\['([^']*)'\]", text))
    if kind == "str":
        return ("lit", text[1:-1].replace("\\'", "'").replace('\\"', '"'))
    if kind in ("num", "word"):
        return ("lit", json.loads(text))
    raise ValueError(f"Unexpected token in filter: {text}")


def _resolve(operand: tuple[str, Any], item: Any) -> Any:
    kind, value = operand
    if kind == "lit":
        return value
    node = item
    for name, index, quoted in value:
        if index:
            ok = isinstance(node, list) and int(index) < len(node)
            node = node[int(index)] if ok else _MISSING
        else:
            key = name or quoted
            node = node[key] if isinstance(node, dict) and key in node else _MISSING
        if node is _MISSING:
            return _MISSING
    return node


def _eval(tree: tuple[Any, ...], item: Any) -> bool:
    op = tree[0]
    if op == "or":
        return _eval(tree[1], item) or _eval(tree[2], item)
    if op == "and":
        return _eval(tree[1], item) and _eval(tree[2], item)
    if op == "not":
        return not _eval(tree[1], item)
    if op == "exists":
        return _resolve(tree[1], item) is not _MISSING
    left, right = _resolve(tree[2], item), _resolve(tree[3], item)
    if left is _MISSING or right is _MISSING:
        return False
    try:
        return bool(_COMPARE[tree[1]](left, right))
    except TypeError:
        # Comparing e.g. a string with a number selects nothing, as in Jayway.
        return False
