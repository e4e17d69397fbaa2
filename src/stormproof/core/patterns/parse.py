"""Validation and compilation of one event pattern into branches.

A pattern compiles to a tuple of *branches*. A branch maps dot-joined field paths to
:class:`Condition` objects that must all hold (AND); the branches are alternatives (OR). Without
``$or`` there is exactly one branch. Each ``$or`` multiplies the branches built so far by its
alternatives, as aws/event-ruler's ``JsonRuleCompiler`` does.

Rules carried over from event-ruler:

- Nested keys are joined with ``.``, so ``{"a": {"b": [1]}}`` and ``{"a.b": [1]}`` are the same
  rule. A path given twice keeps its last value (JSON objects with duplicate keys included).
- ``$or`` must hold an array of at least two objects, and names of operators may not be used as
  field names inside it. If a pattern fails those rules, it is read again with ``$or`` as an
  ordinary field name (event-ruler's fallback to its legacy compiler); if that fails too, the
  first error is reported.
- The text of a pattern is at most 4,096 characters (the EventBridge ``EventPattern`` limit).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stormproof.core import json_limits
from stormproof.core.patterns.cidr import exact_ip
from stormproof.core.patterns.expressions import parse_expression
from stormproof.core.patterns.flatten import is_number, number_key, parse_json, value_key
from stormproof.core.patterns.operators import (
    Cidr,
    Condition,
    ExactKey,
    Matcher,
    WildcardMatch,
    build_condition,
)
from stormproof.core.patterns.wildcard import MAX_COMPLEXITY, complexity
from stormproof.errors import InvalidPattern

MAX_PATTERN_LENGTH = 4096
"""Most characters an event pattern's text may have (SDK model ``EventPattern``)."""

_TOO_DEEP = f"Pattern is nested more than {json_limits.MAX_DEPTH} levels deep"

MAX_BRANCHES = 1024
"""Most alternatives the ``$or`` operators of one pattern may multiply out to."""

OR = "$or"
RESERVED_IN_OR = frozenset(
    {
        "exactly",
        "equals-ignore-case",
        "prefix",
        "suffix",
        "anything-but",
        "exists",
        "wildcard",
        "numeric",
        "cidr",
        "=",
        "<",
        "<=",
        ">",
        ">=",
        "regex",
        "not-wildcard",
        "not-equals-ignore-case",
        "date-after",
        "date-on-or-after",
        "date-before",
        "date-on-or-before",
        "in-date-range",
        "ip-address-in-range",
        "ip-address-not-in-range",
    }
)
TOO_COMPLEX = (
    "Rule is too complex - try using fewer wildcard characters or fewer repeating character "
    "sequences after a wildcard character"
)


@dataclass(frozen=True, slots=True)
class Branch:
    """One alternative of a pattern: every ``(path, condition)`` must hold."""

    conditions: tuple[tuple[str, Condition], ...]


Rules = list[dict[str, Condition]]


def load_pattern(pattern: Mapping[str, Any] | str | bytes | bytearray) -> Any:
    """Parse pattern text (or normalise a mapping) into plain JSON values, checking its size."""
    if isinstance(pattern, bytes | bytearray):
        pattern = pattern.decode("utf-8", errors="replace")
    if not isinstance(pattern, str):
        if json_limits.depth_over(pattern):
            raise InvalidPattern(_TOO_DEEP)
        try:
            pattern = json.dumps(
                pattern, separators=(",", ":"), ensure_ascii=False, allow_nan=False
            )
        except (TypeError, ValueError, RecursionError) as exc:
            raise InvalidPattern(f"Pattern is not JSON: {exc}") from None
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise InvalidPattern(
            f"Event pattern is {len(pattern)} characters long; the limit is {MAX_PATTERN_LENGTH}"
        )
    try:
        document = parse_json(pattern)
    except RecursionError:
        raise InvalidPattern(_TOO_DEEP) from None
    except ValueError as exc:
        raise InvalidPattern(str(exc)) from None
    if json_limits.depth_over(document):
        raise InvalidPattern(_TOO_DEEP)
    return document


def compile_branches(pattern: Mapping[str, Any] | str | bytes | bytearray) -> tuple[Branch, ...]:
    """Validate ``pattern`` and compile it to branches; raise ``InvalidPattern`` if invalid."""
    document = load_pattern(pattern)
    if not isinstance(document, dict):
        raise InvalidPattern("Filter is not an object")
    try:
        rules = _Compiler(legacy_or=False).object(document, "", [], inside_or=False)
    except InvalidPattern as first:
        if not _mentions_or(document):
            raise
        try:
            rules = _Compiler(legacy_or=True).object(document, "", [], inside_or=False)
        except InvalidPattern:
            raise first from None
    return _finish(rules)


def _finish(rules: Rules) -> tuple[Branch, ...]:
    _check_wildcard_complexity(rules)
    return tuple(Branch(tuple(sorted(rule.items()))) for rule in rules)


def _mentions_or(document: Any) -> bool:
    if isinstance(document, dict):
        return OR in document or any(_mentions_or(v) for v in document.values())
    if isinstance(document, list):
        return any(_mentions_or(v) for v in document)
    return False


class _Compiler:
    """Walks a pattern document; ``legacy_or`` reads ``$or`` as an ordinary field name."""

    def __init__(self, *, legacy_or: bool) -> None:
        self.legacy_or = legacy_or

    def object(self, node: dict[str, Any], path: str, rules: Rules, *, inside_or: bool) -> Rules:
        """Add the fields of the object ``node`` (at ``path``) to every rule in ``rules``."""
        if not node:
            raise InvalidPattern("Empty objects are not allowed")
        for name, value in node.items():
            if name == OR and not self.legacy_or:
                rules = self.alternatives(value, path, rules)
                continue
            if inside_or and name in RESERVED_IN_OR:
                raise InvalidPattern(
                    f"{name} is Ruler reserved fieldName which cannot be used inside {OR}."
                )
            field = f"{path}.{name}" if path else name
            if isinstance(value, dict):
                rules = self.object(value, field, rules, inside_or=inside_or)
            elif isinstance(value, list):
                condition = parse_values(value)
                rules = rules or [{}]
                for rule in rules:
                    rule[field] = condition
            else:
                raise InvalidPattern(f'"{name}" must be an object or an array')
        return rules

    def alternatives(self, value: Any, path: str, rules: Rules) -> Rules:
        """Expand ``"$or": [...]``: each object forks every rule built so far."""
        if not isinstance(value, list):
            raise InvalidPattern(f"It must be an Array followed with {OR}.")
        expanded: Rules = []
        for item in value:
            if not isinstance(item, dict):
                raise InvalidPattern(f"Only JSON object is allowed in array of {OR} relationship.")
            forked = [dict(rule) for rule in rules] or [{}]
            expanded.extend(self.object(item, path, forked, inside_or=True))
            if len(expanded) > MAX_BRANCHES:
                raise InvalidPattern(
                    f"Rule is too complex - more than {MAX_BRANCHES} {OR} branches"
                )
        if len(value) < 2:
            raise InvalidPattern(f"There must have at least 2 Objects in {OR} relationship.")
        return expanded


def parse_values(values: list[Any]) -> Condition:
    """Compile one field's list of alternatives (values and match expressions)."""
    parts: list[Matcher] = []
    for value in values:
        if isinstance(value, dict):
            parts.append(parse_expression(value))
        elif isinstance(value, str):
            block = exact_ip(value)
            # event-ruler turns IP literals into one-address ranges, matched as addresses.
            parts.append(Cidr(block) if block is not None else ExactKey(value))
        elif is_number(value):
            parts.append(ExactKey(number_key(value)))
        elif value is None or isinstance(value, bool):
            parts.append(ExactKey(value_key(value)))
        else:
            raise InvalidPattern("Match value must be String, number, true, false, or null")
    if not parts:
        raise InvalidPattern("Empty arrays are not allowed")
    return build_condition(parts)


def _check_wildcard_complexity(rules: Rules) -> None:
    """Refuse rules whose wildcards on one field could keep too many states alive at once."""
    by_path: dict[str, dict[int, WildcardMatch]] = {}
    for rule in rules:
        for path, condition in rule.items():
            for matcher in condition.others:
                if isinstance(matcher, WildcardMatch):
                    # Branches share Condition objects; count each wildcard once.
                    by_path.setdefault(path, {})[id(matcher)] = matcher
    for matchers in by_path.values():
        wildcards = [m.wildcard for m in matchers.values()]
        if sum(w.stars for w in wildcards) and complexity(wildcards) > MAX_COMPLEXITY:
            raise InvalidPattern(TOO_COMPLEX)
