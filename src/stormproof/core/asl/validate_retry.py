"""Checks for ``Retry`` (retriers) and ``Catch`` (catchers); spec §4.5 and §4.6."""

from __future__ import annotations

from typing import Any

from stormproof.core.asl.validate_fields import MAX_SECONDS, integer_problem, number_problem
from stormproof.core.asl.validate_report import Scope, StateCtx, child, item
from stormproof.core.asl.validate_syntax import path_problem

PREDEFINED_ERRORS = frozenset(
    {
        "States.ALL",
        "States.DataLimitExceeded",
        "States.Runtime",
        "States.Timeout",
        "States.HeartbeatTimeout",
        "States.TaskFailed",
        "States.Permissions",
        "States.BranchFailed",
        "States.NoChoiceMatched",
        "States.ParameterPathFailure",
        "States.ResultPathMatchFailure",
        "States.IntrinsicFailure",
        "States.ExceedToleratedFailureThreshold",
        "States.ItemReaderFailed",
        "States.ResultWriterFailed",
        "States.QueryEvaluationError",
        "States.Http.Socket",
    }
)
MAX_DELAY_SECONDS = 31_622_400

_RETRIER_FIELDS = frozenset(
    {
        "ErrorEquals",
        "IntervalSeconds",
        "MaxAttempts",
        "BackoffRate",
        "MaxDelaySeconds",
        "JitterStrategy",
        "Comment",
    }
)
_CATCHER_FIELDS = frozenset({"ErrorEquals", "Next", "Comment", "Assign"})
_CATCHER_JSONPATH = frozenset({"ResultPath"})
_CATCHER_JSONATA = frozenset({"Output"})
# (field, low, high, integer?) for each numeric retrier field.
_RETRIER_RANGES: tuple[tuple[str, float, float | None, bool], ...] = (
    ("IntervalSeconds", 1, MAX_SECONDS, True),
    ("MaxAttempts", 0, MAX_SECONDS, True),
    ("BackoffRate", 1.0, None, False),
    ("MaxDelaySeconds", 1, MAX_DELAY_SECONDS, True),
)


def _entries(ctx: StateCtx, name: str) -> list[Any]:
    """The elements of a ``Retry``/``Catch`` array, reporting it if it is not one."""
    value = ctx.state.get(name)
    if value is None and not ctx.has(name):
        return []
    if not isinstance(value, list):
        ctx.add(name, f"{name} must be an array")
        return []
    return value


def _check_error_equals(scope: Scope, path: str, entry: dict[str, Any], last: bool) -> None:
    """``ErrorEquals``: a non-empty list of names; ``States.ALL`` alone and last."""
    names = entry.get("ErrorEquals")
    where = child(path, "ErrorEquals")
    if "ErrorEquals" not in entry:
        scope.add(path, "field 'ErrorEquals' is required")
        return
    if not isinstance(names, list) or not names:
        scope.add(where, "ErrorEquals must be a non-empty array of error names")
        return
    for index, name in enumerate(names):
        if not isinstance(name, str) or not name:
            scope.add(item(where, index), "error names must be non-empty strings")
        elif name.startswith("States.") and name not in PREDEFINED_ERRORS:
            scope.add(item(where, index), f"'{name}' is not a predefined error name")
    if "States.ALL" in names and len(names) > 1:
        scope.add(where, "States.ALL must appear alone in ErrorEquals")
    if "States.ALL" in names and not last:
        scope.add(where, "States.ALL must appear only in the last element of the array")


def _check_retrier(scope: Scope, path: str, retrier: dict[str, Any], last: bool) -> None:
    for name in retrier:
        if name not in _RETRIER_FIELDS:
            scope.add(child(path, name), f"field '{name}' is not supported by a retrier")
    _check_error_equals(scope, path, retrier, last)
    for name, low, high, integral in _RETRIER_RANGES:
        if name not in retrier:
            continue
        value = retrier[name]
        if integral:
            problem = integer_problem(value, int(low), None if high is None else int(high))
        else:
            problem = number_problem(value, low, high)
        if problem:
            scope.add(child(path, name), f"{name} {problem}")
    if retrier.get("JitterStrategy", "FULL") not in ("FULL", "NONE"):
        scope.add(child(path, "JitterStrategy"), "JitterStrategy must be FULL or NONE")
    if not isinstance(retrier.get("Comment", ""), str):
        scope.add(child(path, "Comment"), "Comment must be a string")


def check_retry(ctx: StateCtx) -> None:
    """Check every retrier of the state's ``Retry`` array."""
    entries = _entries(ctx, "Retry")
    for index, retrier in enumerate(entries):
        path = item(ctx.at("Retry"), index)
        if not isinstance(retrier, dict):
            ctx.scope.add(path, "a retrier must be an object")
            continue
        _check_retrier(ctx.scope, path, retrier, index == len(entries) - 1)


def _check_catcher(ctx: StateCtx, path: str, catcher: dict[str, Any], last: bool) -> None:
    scope = ctx.scope
    mode_fields = _CATCHER_JSONATA if ctx.jsonata else _CATCHER_JSONPATH
    for name in catcher:
        if name not in _CATCHER_FIELDS | mode_fields:
            scope.add(child(path, name), f"field '{name}' is not supported by a catcher here")
    _check_error_equals(scope, path, catcher, last)
    if not isinstance(catcher.get("Next"), str) or not catcher.get("Next"):
        scope.add(child(path, "Next"), "a catcher must have a non-empty string Next")
    result_path = catcher.get("ResultPath")
    if result_path is not None and not ctx.jsonata:
        problem = path_problem(result_path, reference=True)
        if problem:
            scope.add(child(path, "ResultPath"), f"ResultPath {problem}")
    if "Assign" in catcher and not isinstance(catcher["Assign"], dict):
        scope.add(child(path, "Assign"), "Assign must be an object")


def check_catch(ctx: StateCtx) -> None:
    """Check every catcher of the state's ``Catch`` array (targets are checked per block)."""
    entries = _entries(ctx, "Catch")
    for index, catcher in enumerate(entries):
        path = item(ctx.at("Catch"), index)
        if not isinstance(catcher, dict):
            ctx.scope.add(path, "a catcher must be an object")
            continue
        _check_catcher(ctx, path, catcher, index == len(entries) - 1)
