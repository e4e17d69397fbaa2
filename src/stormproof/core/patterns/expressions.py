"""Match expressions: the ``{"operator": ...}`` objects inside a field's value list.

Validation follows aws/event-ruler's ``JsonRuleCompiler`` step by step, so the reasons read as
AWS's do ("prefix match pattern must be a string", "Bad numeric range operator: >", ...),
including its quirks: a non-string ``cidr`` reports "prefix match pattern must be a string",
and extra keys after ``numeric`` or ``anything-but`` report "Too many elements in numeric
expression". A value is checked before the keys that follow it, as a streaming parser would.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from stormproof.core.patterns.anything_but import TOO_MANY, parse_anything_but
from stormproof.core.patterns.cidr import parse_cidr
from stormproof.core.patterns.flatten import is_number, number_key
from stormproof.core.patterns.operators import (
    Absent,
    Cidr,
    EqualsIgnoreCase,
    ExactKey,
    Matcher,
    NumericRange,
    Prefix,
    PrefixIgnoreCase,
    Present,
    Suffix,
    SuffixIgnoreCase,
    WildcardMatch,
)
from stormproof.core.patterns.wildcard import parse_wildcard
from stormproof.errors import InvalidPattern

ONE_KEY = "Only one key allowed in match expression"
_INF = float("inf")
_END = object()  # stands for the end of a JSON array while walking it token by token


def token_text(value: Any) -> str:
    """How a JSON parser prints the token that starts ``value`` (for error messages)."""
    if value is _END:
        return "]"
    if isinstance(value, list):
        return "["
    if isinstance(value, dict):
        return "{"
    return json.dumps(value)


def _only_key(expression: dict[str, Any], message: str = ONE_KEY) -> None:
    if len(expression) > 1:
        raise InvalidPattern(message)


def _string(value: Any, message: str) -> str:
    if not isinstance(value, str):
        raise InvalidPattern(message)
    return value


def parse_expression(expression: dict[str, Any]) -> Matcher:
    """Validate one match expression and return its matcher."""
    if not expression:
        raise InvalidPattern("Match expression name not found")
    name, value = next(iter(expression.items()))
    parser = _PARSERS.get(name)
    if parser is None:
        raise InvalidPattern(f"Unrecognized match type {name}")
    matcher = parser(value)
    _only_key(expression, TOO_MANY if name in ("numeric", "anything-but") else ONE_KEY)
    return matcher


def _exactly(value: Any) -> Matcher:
    return ExactKey(_string(value, "exact match pattern must be a string"))


def _prefix(value: Any) -> Matcher:
    if isinstance(value, dict):
        return PrefixIgnoreCase(_ignore_case_inside("Prefix", value).lower())
    return Prefix(_string(value, "prefix match pattern must be a string"))


def _suffix(value: Any) -> Matcher:
    if isinstance(value, dict):
        return SuffixIgnoreCase(_ignore_case_inside("Suffix", value).lower())
    return Suffix(_string(value, "suffix match pattern must be a string"))


def _ignore_case_inside(kind: str, inner: dict[str, Any]) -> str:
    """``{"equals-ignore-case": s}`` nested in ``prefix``/``suffix``; returns ``s``."""
    if not inner:
        raise InvalidPattern(f"{kind} expression name not found")
    name, value = next(iter(inner.items()))
    if name != "equals-ignore-case":
        raise InvalidPattern(f"Unsupported {kind.lower()} pattern: {name}")
    text = _string(value, "equals-ignore-case match pattern must be a string")
    _only_key(inner)
    return text


def _equals_ignore_case(value: Any) -> Matcher:
    return EqualsIgnoreCase(
        _string(value, "equals-ignore-case match pattern must be a string").lower()
    )


def _wildcard(value: Any) -> Matcher:
    return WildcardMatch(parse_wildcard(_string(value, "wildcard match pattern must be a string")))


def _cidr(value: Any) -> Matcher:
    # event-ruler reports a non-string CIDR with the prefix message; AWS's recording agrees.
    return Cidr(parse_cidr(_string(value, "prefix match pattern must be a string")))


def _exists(value: Any) -> Matcher:
    if value is True:
        return Present()
    if value is False:
        return Absent()
    raise InvalidPattern("exists match pattern must be either true or false.")


def _numeric(value: Any) -> Matcher:
    if not isinstance(value, list):
        raise InvalidPattern("Value of numeric must be an array.")
    tokens = [*value, _END]
    operator = tokens[0]
    if not isinstance(operator, str):
        raise InvalidPattern(f"Invalid member in numeric match: {token_text(operator)}")
    if operator == "=":
        bound = _bound(tokens[1], "equals")
        if tokens[2] is not _END:
            raise InvalidPattern(TOO_MANY)
        return ExactKey(bound)
    if operator in (">", ">="):
        return _lower_bounded(operator, tokens)
    if operator in ("<", "<="):
        top = _bound(tokens[1], operator)
        if tokens[2] is not _END:
            raise InvalidPattern(TOO_MANY)
        return NumericRange(-_INF, False, top, operator == "<")
    raise InvalidPattern(f"Unrecognized numeric range operator: {operator}")


def _bound(token: Any, operator: str) -> float:
    if not is_number(token):
        raise InvalidPattern(f"Value of {operator} must be numeric")
    return number_key(token)


def _lower_bounded(operator: str, tokens: list[Any]) -> Matcher:
    """``[">", a]`` or ``[">", a, "<", b]`` (and the inclusive variants)."""
    bottom = _bound(tokens[1], operator)
    if tokens[2] is _END:
        return NumericRange(bottom, operator == ">", _INF, False)
    second = tokens[2]
    if not isinstance(second, str):
        raise InvalidPattern(f"Bad value in numeric range: {token_text(second)}")
    if second not in ("<", "<="):
        raise InvalidPattern(f"Bad numeric range operator: {second}")
    top = _bound(tokens[3], second)
    if tokens[4:5] != [_END]:
        raise InvalidPattern("Too many terms in numeric range expression")
    if bottom >= top:
        raise InvalidPattern("Bottom must be less than top")
    return NumericRange(bottom, operator == ">", top, second == "<")


_PARSERS: dict[str, Callable[[Any], Matcher]] = {
    "exactly": _exactly,
    "prefix": _prefix,
    "suffix": _suffix,
    "equals-ignore-case": _equals_ignore_case,
    "wildcard": _wildcard,
    "cidr": _cidr,
    "exists": _exists,
    "numeric": _numeric,
    "anything-but": parse_anything_but,
}
