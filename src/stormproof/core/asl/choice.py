"""Choice rules in JSONPath mode: comparison operators, ``Is*`` tests, And/Or/Not.

A rule is evaluated with a resolver that maps a path to a value. Comparisons
whose operand has the wrong type are simply false (AWS's recorded behaviour);
a ``Variable`` that selects nothing is an error, except for ``IsPresent``.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from stormproof.core.asl.paths import PathError

Resolver = Callable[[str], Any]

_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "Equals": operator.eq,
    "LessThan": operator.lt,
    "GreaterThan": operator.gt,
    "LessThanEquals": operator.le,
    "GreaterThanEquals": operator.ge,
}

_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")

_MISSING = object()


def parse_timestamp(value: Any) -> datetime | None:
    """Parse an RFC 3339 timestamp with an explicit zone; ``None`` if it is not one."""
    if not isinstance(value, str) or _TIMESTAMP.fullmatch(value) is None:
        return None
    text = value.replace("Z", "+00:00")
    if "." in text:
        # Python accepts at most six fractional digits; AWS accepts nine.
        head, _, tail = text.partition(".")
        digits = re.match(r"\d+", tail)
        frac = digits.group(0) if digits else ""
        text = f"{head}.{frac[:6].ljust(6, '0')}{tail[len(frac) :]}"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def evaluate_rule(rule: dict[str, Any], resolve: Resolver) -> bool:
    """True when the Choice rule (or nested boolean expression) matches."""
    if "And" in rule:
        return all(evaluate_rule(r, resolve) for r in rule["And"])
    if "Or" in rule:
        return any(evaluate_rule(r, resolve) for r in rule["Or"])
    if "Not" in rule:
        return not evaluate_rule(rule["Not"], resolve)
    variable_path = rule.get("Variable")
    if not isinstance(variable_path, str):
        raise PathError("A Choice rule needs a Variable")
    name, expected = _operator_of(rule)
    if name == "IsPresent":
        return bool(_is_present(variable_path, resolve) == expected)
    value = resolve(variable_path)
    if name.endswith("Path"):
        name = name[: -len("Path")]
        expected = resolve(expected)
    return _compare(name, value, expected)


def _operator_of(rule: dict[str, Any]) -> tuple[str, Any]:
    for key, value in rule.items():
        if key not in ("Variable", "Next", "Comment", "Assign", "Output"):
            return key, value
    raise PathError("A Choice rule needs a comparison operator")


def _is_present(path: str, resolve: Resolver) -> bool:
    try:
        value = resolve(path)
    except PathError:
        return False
    # An indefinite path that selects nothing counts as absent.
    return not (isinstance(value, list) and not value and _indefinite(path))


def _indefinite(path: str) -> bool:
    return any(token in path for token in ("[*]", ".*", "..", "[?", ":"))


def _compare(name: str, value: Any, expected: Any) -> bool:
    if name.startswith("Is"):
        return bool(_type_test(name, value) == expected)
    for prefix, check in _FAMILIES.items():
        if name.startswith(prefix):
            op = name[len(prefix) :]
            if op == "Matches":
                return _string_matches(value, expected)
            if op in _ORDER:
                return check(value, expected, _ORDER[op])
    raise PathError(f"Unsupported Choice operator: {name}")


def _type_test(name: str, value: Any) -> bool:
    if name == "IsNull":
        return value is None
    if name == "IsNumeric":
        return _is_number(value)
    if name == "IsString":
        return isinstance(value, str)
    if name == "IsBoolean":
        return isinstance(value, bool)
    if name == "IsTimestamp":
        return parse_timestamp(value) is not None
    raise PathError(f"Unsupported Choice operator: {name}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _strings(value: Any, expected: Any, op: Callable[[Any, Any], bool]) -> bool:
    return isinstance(value, str) and isinstance(expected, str) and op(value, expected)


def _numbers(value: Any, expected: Any, op: Callable[[Any, Any], bool]) -> bool:
    return _is_number(value) and _is_number(expected) and op(value, expected)


def _booleans(value: Any, expected: Any, op: Callable[[Any, Any], bool]) -> bool:
    return isinstance(value, bool) and isinstance(expected, bool) and op(value, expected)


def _timestamps(value: Any, expected: Any, op: Callable[[Any, Any], bool]) -> bool:
    left, right = parse_timestamp(value), parse_timestamp(expected)
    return left is not None and right is not None and op(left, right)


_FAMILIES: dict[str, Callable[[Any, Any, Callable[[Any, Any], bool]], bool]] = {
    "String": _strings,
    "Numeric": _numbers,
    "Boolean": _booleans,
    "Timestamp": _timestamps,
}


def _string_matches(value: Any, pattern: Any) -> bool:
    """``*`` matches any run of characters; ``\\*`` and ``\\\\`` are literal."""
    if not isinstance(value, str) or not isinstance(pattern, str):
        return False
    regex, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            regex.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        regex.append(".*" if ch == "*" else re.escape(ch))
        i += 1
    return re.fullmatch("".join(regex), value, flags=re.DOTALL) is not None
