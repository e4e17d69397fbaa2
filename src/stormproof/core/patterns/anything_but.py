"""The ``anything-but`` operator and its forms.

Accepted shapes (aws/event-ruler ``JsonRuleCompiler``):

- a single string or number, or a non-empty list of all strings or all numbers;
- ``{"prefix": ...}``, ``{"suffix": ...}``, ``{"equals-ignore-case": ...}`` or
  ``{"wildcard": ...}`` holding one string or a list of strings (empty prefixes and suffixes
  are refused: they would exclude every string).

``anything-but`` needs the field to be present (a missing field never matches) and accepts
``null``; the string forms accept every value that is not a string.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from stormproof.core.patterns.flatten import is_number, value_key
from stormproof.core.patterns.operators import (
    AnythingBut,
    AnythingButString,
    EqualsIgnoreCase,
    Matcher,
    Prefix,
    Suffix,
    WildcardMatch,
)
from stormproof.core.patterns.wildcard import parse_wildcard
from stormproof.errors import InvalidPattern

TOO_MANY = "Too many elements in numeric expression"
_SHAPE = "Value of anything-but must be an array or single string/number value."
_TYPE_MESSAGES = {
    "equals-ignore-case": (
        "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported."
    ),
    "wildcard": "wildcard match pattern must be a string",
    "prefix": "prefix/suffix match pattern must be a string",
    "suffix": "prefix/suffix match pattern must be a string",
}
_BUILDERS: dict[str, Callable[[str], Matcher]] = {
    "equals-ignore-case": lambda text: EqualsIgnoreCase(text.lower()),
    "wildcard": lambda text: WildcardMatch(parse_wildcard(text)),
    "prefix": Prefix,
    "suffix": Suffix,
}


def parse_anything_but(value: Any) -> Matcher:
    """Validate the value of ``anything-but`` and return its matcher."""
    if isinstance(value, dict):
        return _string_form(value)
    if not (isinstance(value, list | str) or is_number(value)):
        raise InvalidPattern(_SHAPE)
    if isinstance(value, list):
        return AnythingBut(_plain_list(value))
    return AnythingBut(frozenset({value_key(value)}))


def _plain_list(values: list[Any]) -> frozenset[Hashable]:
    if any(not (isinstance(v, str) or is_number(v)) for v in values):
        raise InvalidPattern("Inside anything but list, start|null|boolean is not supported.")
    strings = sum(1 for v in values if isinstance(v, str))
    if not values or 0 < strings < len(values):
        raise InvalidPattern(
            "Inside anything but list, either all values are number or string, "
            "mixed type is not supported"
        )
    return frozenset(value_key(v) for v in values)


def _string_form(expression: dict[str, Any]) -> Matcher:
    """``{"prefix"|"suffix"|"equals-ignore-case"|"wildcard": string or list}``."""
    if not expression:
        raise InvalidPattern("Anything-But expression name not found")
    kind, value = next(iter(expression.items()))
    if kind not in _BUILDERS:
        raise InvalidPattern(f"Unsupported anything-but pattern: {kind}")
    if not (isinstance(value, list | str) or is_number(value)):
        raise InvalidPattern(_SHAPE)
    texts = value if isinstance(value, list) else [value]
    excluded = tuple(_BUILDERS[kind](_checked(kind, text)) for text in texts)
    if len(expression) > 1:
        raise InvalidPattern(TOO_MANY)
    return AnythingButString(excluded)


def _checked(kind: str, text: Any) -> str:
    if not isinstance(text, str):
        raise InvalidPattern(_TYPE_MESSAGES[kind])
    if not text and kind in ("prefix", "suffix"):
        raise InvalidPattern("Null prefix/suffix not allowed")
    return text
