"""The states that finish within one step: Pass, Choice, Succeed and Fail."""

from __future__ import annotations

import copy
from typing import Any

from stormproof.core.asl import choice, jsonata_mode, jsonpath_io, state_io
from stormproof.core.asl.failure import NO_CHOICE_MATCHED, StatesError, runtime_error
from stormproof.core.asl.paths import PathError
from stormproof.core.asl.run_context import Env, Frame, Run
from stormproof.core.asl.transitions import complete_state, fail_frame


def run_pass(run: Run, frame: Frame, state: dict[str, Any], env: Env) -> bool:
    """Pass: the result is ``Result`` if given, else the effective input."""
    if state_io.is_jsonata(run, state):
        output, assigned = state_io.state_output(run, frame, state, env, frame["input"])
        if "Output" not in state:
            output = frame["input"]
    else:
        value = state_io.state_input(run, frame, state, env)
        result = copy.deepcopy(state["Result"]) if "Result" in state else value
        output, assigned = state_io.state_output(run, frame, state, env, result)
    complete_state(run, frame, state, env, output, assigned)
    return True


def run_succeed(run: Run, frame: Frame, state: dict[str, Any], env: Env) -> bool:
    """Succeed: InputPath/OutputPath (or Output) and the frame ends."""
    output = _passthrough_output(run, frame, state, env, state)
    complete_state(run, frame, state, env, output, {})
    return True


def _passthrough_output(
    run: Run, frame: Frame, state: dict[str, Any], env: Env, source: dict[str, Any]
) -> Any:
    if state_io.is_jsonata(run, state):
        if "Output" in source:
            return state_io.evaluate(run, frame, env, source["Output"], "Output")
        return frame["input"]
    sc = state_io.scope(run, frame, env, None)
    value = jsonpath_io.apply_path(state.get("InputPath", "$"), frame["input"], sc)
    return jsonpath_io.apply_path(state.get("OutputPath", "$"), value, sc)


def run_fail(run: Run, frame: Frame, state: dict[str, Any], env: Env) -> bool:
    """Fail: the frame fails with ``Error``/``Cause`` (or their paths / expressions)."""
    error = _fail_field(run, frame, state, env, "Error")
    cause = _fail_field(run, frame, state, env, "Cause")
    fail_frame(frame, error, cause)
    return True


def _fail_field(run: Run, frame: Frame, state: dict[str, Any], env: Env, name: str) -> Any:
    if state_io.is_jsonata(run, state):
        return state_io.evaluate(run, frame, env, state.get(name), name) if name in state else None
    if f"{name}Path" in state:
        sc = state_io.scope(run, frame, env, frame["input"])
        return jsonpath_io.select_field(sc, state[f"{name}Path"], f"{name}Path")
    return state.get(name)


def run_choice(run: Run, frame: Frame, state: dict[str, Any], env: Env) -> bool:
    """Choice: the first matching rule's ``Next``, else ``Default``, else an error."""
    if state_io.is_jsonata(run, state):
        rule = _first_jsonata_rule(run, frame, state, env)
    else:
        rule = _first_jsonpath_rule(run, frame, state, env)
    target = rule.get("Next") if rule is not None else state.get("Default")
    if target is None:
        raise StatesError(NO_CHOICE_MATCHED, "No Choice Rules matched and no Default specified.")
    source = rule if rule is not None else state
    output = _passthrough_output(run, frame, state, env, source)
    assigned = _choice_assign(run, frame, state, env, source)
    complete_state(run, frame, {**state, "Next": target, "End": False}, env, output, assigned)
    return True


def _first_jsonpath_rule(
    run: Run, frame: Frame, state: dict[str, Any], env: Env
) -> dict[str, Any] | None:
    sc = state_io.scope(run, frame, env, None)
    value = jsonpath_io.apply_path(state.get("InputPath", "$"), frame["input"], sc)
    sc = sc.with_data(value)
    for rule in state.get("Choices", []):
        try:
            if choice.evaluate_rule(rule, sc.select):
                return dict(rule)
        except PathError as exc:
            raise runtime_error(f"Invalid path '{rule.get('Variable')}' : {exc.message}") from exc
    return None


def _first_jsonata_rule(
    run: Run, frame: Frame, state: dict[str, Any], env: Env
) -> dict[str, Any] | None:
    for rule in state.get("Choices", []):
        condition = rule.get("Condition")
        value = state_io.evaluate(run, frame, env, condition, "Condition")
        if not isinstance(value, bool):
            jsonata_mode.typed_result(value, "boolean", str(condition), "Condition")
        if value:
            return dict(rule)
    return None


def _choice_assign(
    run: Run, frame: Frame, state: dict[str, Any], env: Env, source: dict[str, Any]
) -> dict[str, Any]:
    template = source.get("Assign")
    if not isinstance(template, dict):
        return {}
    if state_io.is_jsonata(run, state):
        value = state_io.evaluate(run, frame, env, template, "Assign")
        return value if isinstance(value, dict) else {}
    sc = state_io.scope(run, frame, env, frame["input"])
    return jsonpath_io.assign(template, frame["input"], sc)
