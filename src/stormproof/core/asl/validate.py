"""Static validation of Amazon States Language definitions, in the spirit of ``statelint``.

:func:`validate` refuses what Step Functions refuses at ``CreateStateMachine``
time, and reports every problem at once as ``(json_path, message)`` pairs::

    validate({"StartAt": "A", "States": {"A": {"Type": "Pass"}}})
    # InvalidDefinition: $.States.A: a non-terminal state must have Next or End: true

The checks are split by noun: ``validate_fields`` (which fields a state type
takes), ``validate_states`` (Pass, Task, Wait, Succeed, Fail), ``validate_choice``,
``validate_retry`` (Retry/Catch), ``validate_map`` (Map, Parallel) and
``validate_syntax`` (JSONPath, intrinsics, timestamps, labels). This module
owns the structure: the top level, each ``States`` block, transitions and
reachability.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from stormproof.core import json_limits
from stormproof.core.asl.validate_choice import check_choice
from stormproof.core.asl.validate_fields import (
    MAX_SECONDS,
    STATE_TYPES,
    check_fields,
    check_string,
    integer_problem,
)
from stormproof.core.asl.validate_map import check_map, check_parallel
from stormproof.core.asl.validate_report import Scope, StateCtx, child, item
from stormproof.core.asl.validate_retry import check_catch, check_retry
from stormproof.core.asl.validate_states import (
    check_fail,
    check_io,
    check_pass,
    check_succeed,
    check_task,
    check_wait,
)
from stormproof.errors import InvalidDefinition, NestingTooDeep

__all__ = ["MAX_STATE_NAME_LENGTH", "Definition", "find_problems", "validate"]

MAX_STATE_NAME_LENGTH = 80
MACHINE_TYPES = ("STANDARD", "EXPRESS")
QUERY_LANGUAGES = ("JSONPath", "JSONata")
_BLOCK_FIELDS = frozenset({"StartAt", "States", "Comment"})
_TOP_FIELDS = frozenset({"Version", "TimeoutSeconds", "QueryLanguage"})
_TOO_DEEP = f"the definition nests more than {json_limits.MAX_DEPTH} levels of arrays and objects"
_TERMINAL_TYPES = ("Succeed", "Fail")
# AWS's own wording (ValidateStateMachineDefinition diagnostics).
_NO_DOWNGRADE = "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine"
# A parsed definition, or its JSON text.
Definition = str | bytes | Mapping[str, Any]
_SIMPLE_CHECKS: dict[str, Callable[[StateCtx], None]] = {
    "Pass": check_pass,
    "Succeed": check_succeed,
    "Fail": check_fail,
    "Task": check_task,
    "Wait": check_wait,
    "Choice": check_choice,
}


def validate(definition: Definition, *, machine_type: str = "STANDARD") -> None:
    """Raise :class:`~stormproof.errors.InvalidDefinition` if ``definition`` has problems.

    ``definition`` is a parsed definition (a mapping) or its JSON text.
    ``machine_type`` is ``STANDARD`` or ``EXPRESS`` (Express machines refuse
    ``.sync`` and ``.waitForTaskToken`` integrations and activities). The
    error's ``problems`` lists every problem found, each with its JSON path.
    """
    problems = find_problems(definition, machine_type=machine_type)
    if problems:
        raise InvalidDefinition(problems)


def find_problems(
    definition: Definition, *, machine_type: str = "STANDARD"
) -> list[tuple[str, str]]:
    """Return every ``(json_path, message)`` problem of ``definition`` (empty if valid)."""
    if machine_type not in MACHINE_TYPES:
        raise ValueError(f"machine_type must be one of {MACHINE_TYPES}, not {machine_type!r}")
    scope = Scope(machine_type=machine_type)
    document = _load(scope, definition)
    if document is not None:
        _check_top(scope, document)
    return scope.problems


class _Object(dict[str, Any]):
    """A parsed JSON object that remembers keys the text repeated."""

    duplicates: list[str]


def _object_from_pairs(pairs: list[tuple[str, Any]]) -> _Object:
    result = _Object()
    result.duplicates = []
    for key, value in pairs:
        if key in result:
            result.duplicates.append(key)
        result[key] = value
    return result


def _refuse_constant(name: str) -> None:
    # NaN and Infinity are Python extensions, not JSON.
    raise ValueError(f"{name} is not valid JSON")


def _report_duplicates(scope: Scope, path: str, value: Any) -> None:
    if isinstance(value, dict):
        for key in getattr(value, "duplicates", ()):
            scope.add(child(path, key), f"duplicate key '{key}'")
        for key, member in value.items():
            _report_duplicates(scope, child(path, key), member)
    elif isinstance(value, list):
        for index, element in enumerate(value):
            _report_duplicates(scope, item(path, index), element)


def _load(scope: Scope, definition: object) -> Mapping[str, Any] | None:
    """Parse JSON text (reporting syntax errors and duplicate keys) or accept a mapping."""
    # Typed as object: untyped callers may pass anything, and that is a problem to report.
    if isinstance(definition, Mapping):
        if json_limits.depth_over(definition):
            scope.add("$", _TOO_DEEP)
            return None
        return definition
    if not isinstance(definition, str | bytes):
        scope.add("$", "a definition must be a JSON object or its text")
        return None
    try:
        parsed = json_limits.loads(
            "definition",
            definition,
            object_pairs_hook=_object_from_pairs,
            parse_constant=_refuse_constant,
        )
    except NestingTooDeep:
        scope.add("$", _TOO_DEEP)
        return None
    except ValueError as exc:  # UnicodeDecodeError (bytes that are not UTF-8) included
        scope.add("$", f"the definition is not valid JSON: {exc}")
        return None
    if not isinstance(parsed, dict):
        scope.add("$", "a definition must be a JSON object")
        return None
    _report_duplicates(scope, "$", parsed)
    return parsed


def _check_top(scope: Scope, document: Mapping[str, Any]) -> None:
    """Top-level fields, then the machine's own ``States`` block."""
    language = document.get("QueryLanguage", "JSONPath")
    if language not in QUERY_LANGUAGES:
        scope.add("$.QueryLanguage", "QueryLanguage must be JSONPath or JSONata")
    scope.top_jsonata = language == "JSONata"
    if "Version" in document and document["Version"] != "1.0":
        scope.add("$.Version", "Version must be the string '1.0'")
    if "TimeoutSeconds" in document:
        problem = integer_problem(document["TimeoutSeconds"], 1, MAX_SECONDS)
        if problem:
            scope.add("$.TimeoutSeconds", f"TimeoutSeconds {problem}")
    check_block(scope, "$", dict(document), scope.top_jsonata, _TOP_FIELDS)


def check_block(scope: Scope, path: str, block: Any, jsonata: bool, extra: frozenset[str]) -> None:
    """Check one machine or sub-machine: ``StartAt``, ``States`` and every state in it."""
    if not isinstance(block, dict):
        scope.add(path, "must be an object with StartAt and States")
        return
    for name in block:
        if name not in _BLOCK_FIELDS | extra:
            scope.add(child(path, name), f"field '{name}' is not supported here")
    if not isinstance(block.get("Comment", ""), str):
        scope.add(child(path, "Comment"), "Comment must be a string")
    states, start = block.get("States"), block.get("StartAt")
    if "StartAt" not in block:
        scope.add(path, "field 'StartAt' is required")
    elif not isinstance(start, str) or not start:
        scope.add(child(path, "StartAt"), "StartAt must be a state name")
    if "States" not in block:
        scope.add(path, "field 'States' is required")
        return
    states_path = child(path, "States")
    if not isinstance(states, dict) or not states:
        scope.add(states_path, "States must be an object holding at least one state")
        return
    if isinstance(start, str) and start and start not in states:
        scope.add(child(path, "StartAt"), f"StartAt '{start}' does not name a state in States")
    for name, state in states.items():
        _check_state(scope, child(states_path, name), name, state, jsonata)
    _check_graph(scope, states_path, states, start)


def _check_name(scope: Scope, path: str, name: str) -> None:
    if not name:
        scope.add(path, "state names must not be empty")
    if len(name) > MAX_STATE_NAME_LENGTH:
        scope.add(path, f"state names must be at most {MAX_STATE_NAME_LENGTH} characters")
    # Names are unique across the whole machine, branches and processors included.
    first = scope.state_names.setdefault(name, path)
    if first != path:
        scope.add(path, f"state name '{name}' is already used at {first}")


def _query_language(scope: Scope, path: str, state: dict[str, Any], inherited: bool) -> bool:
    """Whether the state runs in JSONata mode (it may override its enclosing language)."""
    if "QueryLanguage" not in state:
        return inherited
    language = state["QueryLanguage"]
    if language not in QUERY_LANGUAGES:
        scope.add(child(path, "QueryLanguage"), "QueryLanguage must be JSONPath or JSONata")
        return inherited
    if language == "JSONPath" and scope.top_jsonata:
        scope.add(
            path,
            "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine",
        )
    return bool(language == "JSONata")


def _check_state(scope: Scope, path: str, name: str, state: Any, inherited: bool) -> None:
    _check_name(scope, path, name)
    if not isinstance(state, dict):
        scope.add(path, "a state must be an object")
        return
    state_type = state.get("Type")
    if "Type" not in state:
        scope.add(path, "field 'Type' is required")
        return
    if state_type not in STATE_TYPES:
        scope.add(child(path, "Type"), f"Type must be one of {', '.join(STATE_TYPES)}")
        return
    ctx = StateCtx(scope, path, state, _query_language(scope, path, state, inherited))
    check_fields(ctx, state_type)
    check_string(ctx, "Comment", non_empty=False)
    _check_flow(ctx, state_type)
    check_io(ctx)
    if state_type in ("Task", "Parallel", "Map"):
        check_retry(ctx)
        check_catch(ctx)
    if state_type == "Parallel":
        check_parallel(ctx, check_block)
    elif state_type == "Map":
        check_map(ctx, check_block)
    else:
        _SIMPLE_CHECKS[state_type](ctx)


def _check_flow(ctx: StateCtx, state_type: str) -> None:
    """``Next`` xor ``End: true`` on every state that is neither terminal nor a Choice."""
    if state_type in (*_TERMINAL_TYPES, "Choice"):
        return  # Next/End on these are reported as unsupported fields.
    end = ctx.state.get("End")
    if ctx.has("End") and not isinstance(end, bool):
        ctx.add("End", "End must be a boolean")
    if end is True and ctx.has("Next"):
        ctx.add("Next", "a state with End: true must not have Next")
    elif end is not True and not ctx.has("Next"):
        ctx.scope.add(ctx.path, "a non-terminal state must have Next or End: true")
    if ctx.has("Next") and (not isinstance(ctx.state["Next"], str) or not ctx.state["Next"]):
        ctx.add("Next", "Next must be a state name")


def _transitions(path: str, state: dict[str, Any]) -> list[tuple[str, Any]]:
    """Every ``(json_path, target)`` a state can transition to."""
    found = [(child(path, key), state[key]) for key in ("Next", "Default") if key in state]
    for array in ("Choices", "Catch"):
        entries = state.get(array)
        if isinstance(entries, list):
            for index, entry in enumerate(entries):
                if isinstance(entry, dict) and "Next" in entry:
                    found.append((child(item(child(path, array), index), "Next"), entry["Next"]))
    return found


def _is_terminal(state: Any) -> bool:
    return isinstance(state, dict) and (
        state.get("Type") in _TERMINAL_TYPES or state.get("End") is True
    )


def _check_graph(scope: Scope, states_path: str, states: dict[str, Any], start: Any) -> None:
    """Transition targets exist in this block; every state is reachable; some state ends."""
    edges = _edges(scope, states_path, states)
    if not any(_is_terminal(state) for state in states.values()):
        scope.add(states_path, "no terminal state: add a Succeed, Fail or End: true state")
    if not isinstance(start, str) or start not in states:
        return
    reached, frontier = {start}, [start]
    while frontier:
        for target in edges[frontier.pop()]:
            if target not in reached:
                reached.add(target)
                frontier.append(target)
    for name in states:
        if name not in reached:
            scope.add(child(states_path, name), f"state '{name}' is not reachable from StartAt")


def _edges(scope: Scope, states_path: str, states: dict[str, Any]) -> dict[str, list[str]]:
    """Each state's transition targets in this block; a target naming no state is reported."""
    edges: dict[str, list[str]] = {}
    for name, state in states.items():
        edges[name] = []
        if not isinstance(state, dict):
            continue
        for where, target in _transitions(child(states_path, name), state):
            if not isinstance(target, str) or not target:
                continue  # the wrong type is reported by the state's own checks
            if target in states:
                edges[name].append(target)
            else:
                scope.add(where, f"'{target}' does not name a state in this States object")
    return edges
