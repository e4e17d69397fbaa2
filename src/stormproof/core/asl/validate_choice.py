"""Checks for Choice states and their rules (spec §4.2, "Choice rule operators").

In JSONPath mode a rule is either a Boolean (exactly one of ``And``/``Or``/
``Not``) or a comparison (``Variable`` plus exactly one operator). In JSONata
mode a rule is a ``Condition``. Only top-level rules carry ``Next``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stormproof.core.asl.validate_fields import number_problem
from stormproof.core.asl.validate_report import Scope, StateCtx, child, item
from stormproof.core.asl.validate_syntax import is_jsonata, is_rfc3339, path_problem


def _is_string(value: Any) -> bool:
    return isinstance(value, str)


def _is_number(value: Any) -> bool:
    return number_problem(value, float("-inf")) is None


def _is_boolean(value: Any) -> bool:
    return isinstance(value, bool)


_COMPARED = {"String": _is_string, "Numeric": _is_number, "Timestamp": is_rfc3339}
_ORDERINGS = ("Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals")

# Operator name -> (predicate on its operand, description for the message).
OPERATORS: dict[str, tuple[Callable[[Any], bool], str]] = {
    f"{kind}{order}": (check, f"a {kind.lower()} value" if kind != "Timestamp" else "a timestamp")
    for kind, check in _COMPARED.items()
    for order in _ORDERINGS
}
OPERATORS["BooleanEquals"] = (_is_boolean, "a boolean")
OPERATORS["StringMatches"] = (_is_string, "a string")
for _name in ("IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp"):
    OPERATORS[_name] = (_is_boolean, "a boolean")
# Every comparison except StringMatches and the type tests has a ...Path form.
PATH_OPERATORS = frozenset(
    f"{name}Path" for name in OPERATORS if not name.startswith("Is") and name != "StringMatches"
)
_BOOLEANS = ("And", "Or", "Not")
_JSONPATH_RULE = frozenset({"Variable", "Comment", *_BOOLEANS, *OPERATORS, *PATH_OPERATORS})
_TOP_ONLY = frozenset({"Next", "Assign"})


def _check_comparison(scope: Scope, path: str, rule: dict[str, Any]) -> None:
    operators = [name for name in rule if name in OPERATORS or name in PATH_OPERATORS]
    if "Variable" not in rule:
        scope.add(path, "a comparison rule must have a Variable")
    else:
        problem = path_problem(rule["Variable"])
        if problem:
            scope.add(child(path, "Variable"), f"Variable {problem}")
    if len(operators) != 1:
        found = ", ".join(operators) or "none"
        scope.add(path, f"a rule must have exactly one comparison operator (found: {found})")
    for name in operators:
        value = rule[name]
        if name in PATH_OPERATORS:
            problem = path_problem(value)
            if problem:
                scope.add(child(path, name), f"{name} {problem}")
            continue
        accepts, description = OPERATORS[name]
        if not accepts(value):
            scope.add(child(path, name), f"{name} must be {description}")


def _check_boolean(scope: Scope, path: str, rule: dict[str, Any], keys: list[str]) -> None:
    if len(keys) > 1 or "Variable" in rule:
        scope.add(path, "a Boolean rule must have exactly one of And, Or, Not and no Variable")
    for name in keys:
        value = rule[name]
        where = child(path, name)
        if name == "Not":
            _check_rule(scope, where, value, top=False, jsonata=False)
        elif not isinstance(value, list) or not value:
            scope.add(where, f"{name} must be a non-empty array of rules")
        else:
            for index, nested in enumerate(value):
                _check_rule(scope, item(where, index), nested, top=False, jsonata=False)


def _check_rule_fields(
    scope: Scope, path: str, rule: dict[str, Any], top: bool, jsonata: bool
) -> None:
    allowed = frozenset({"Condition", "Comment", "Output"}) if jsonata else _JSONPATH_RULE
    if top:
        allowed |= _TOP_ONLY
    for name in rule:
        if name not in allowed:
            where = "nested rule" if not top and name in _TOP_ONLY else "Choice rule"
            scope.add(child(path, name), f"field '{name}' is not supported in a {where} here")
    if top and (not isinstance(rule.get("Next"), str) or not rule.get("Next")):
        scope.add(child(path, "Next"), "a Choice rule must have a non-empty string Next")
    if "Assign" in rule and not isinstance(rule["Assign"], dict):
        scope.add(child(path, "Assign"), "Assign must be an object")


def _check_rule(scope: Scope, path: str, rule: Any, *, top: bool, jsonata: bool) -> None:
    if not isinstance(rule, dict):
        scope.add(path, "a Choice rule must be an object")
        return
    _check_rule_fields(scope, path, rule, top, jsonata)
    if jsonata:
        condition = rule.get("Condition")
        if "Condition" not in rule:
            scope.add(path, "a JSONata Choice rule must have a Condition")
        elif not (is_jsonata(condition) or isinstance(condition, bool)):
            scope.add(child(path, "Condition"), "Condition must be a JSONata expression {% ... %}")
        return
    booleans = [name for name in _BOOLEANS if name in rule]
    if booleans:
        _check_boolean(scope, path, rule, booleans)
    else:
        _check_comparison(scope, path, rule)


def check_choice(ctx: StateCtx) -> None:
    """Check a Choice state's ``Choices`` and ``Default`` (targets are checked per block)."""
    choices = ctx.state.get("Choices")
    if not ctx.has("Choices"):
        ctx.scope.add(ctx.path, "field 'Choices' is required in a Choice state")
    elif not isinstance(choices, list) or not choices:
        ctx.add("Choices", "Choices must be a non-empty array of rules")
    else:
        for index, rule in enumerate(choices):
            path = item(ctx.at("Choices"), index)
            _check_rule(ctx.scope, path, rule, top=True, jsonata=ctx.jsonata)
    if ctx.has("Default") and not isinstance(ctx.state["Default"], str):
        ctx.add("Default", "Default must be a state name")
