"""A state's input and output processing in either query language.

State handlers call :func:`state_input` to get what the state works on and
:func:`state_output` to turn its result into the output and the variables
it assigns; these pick JSONPath or JSONata processing for the state.
"""

from __future__ import annotations

from typing import Any

from stormproof.core.asl import jsonata_mode, jsonpath_io
from stormproof.core.asl.jsonpath_io import Scope
from stormproof.core.asl.run_context import JSONATA, Env, Frame, Run, context_object

_UNSET: Any = object()


def is_jsonata(run: Run, state: dict[str, Any]) -> bool:
    """True when the state uses JSONata."""
    return run.query_language(state) == JSONATA


def scope(run: Run, frame: Frame, env: Env, data: Any) -> Scope:
    """A JSONPath scope with ``$`` bound to ``data``."""
    variables = {**env.variables, **frame["vars"]}
    return Scope(data, context_object(run, frame), variables, run.rng, frame["input"])


def bindings(
    run: Run, frame: Frame, env: Env, *, result: Any = _UNSET, error_output: Any = _UNSET
) -> dict[str, Any]:
    """JSONata bindings: every visible variable plus ``$states``."""
    states: dict[str, Any] = {"input": frame["input"], "context": context_object(run, frame)}
    if result is not _UNSET:
        states["result"] = result
    if error_output is not _UNSET:
        states["errorOutput"] = error_output
    return {**env.variables, **frame["vars"], "states": states}


def evaluate(run: Run, frame: Frame, env: Env, value: Any, field: str) -> Any:
    """Evaluate a JSONata-capable field value (a literal or a ``{% %}`` string)."""
    return jsonata_mode.evaluate_template(value, field, bindings(run, frame, env), run.rng)


def state_input(run: Run, frame: Frame, state: dict[str, Any], env: Env) -> Any:
    """The effective input: InputPath+Parameters (JSONPath) or Arguments (JSONata)."""
    if is_jsonata(run, state):
        if "Arguments" in state:
            return evaluate(run, frame, env, state["Arguments"], "Arguments")
        return frame["input"]
    return jsonpath_io.effective_input(state, frame["input"], scope(run, frame, env, None))


def state_output(
    run: Run, frame: Frame, state: dict[str, Any], env: Env, result: Any
) -> tuple[Any, dict[str, Any]]:
    """The state's output and the variables it assigns, given its ``result``."""
    if is_jsonata(run, state):
        return _jsonata_output(run, frame, state, env, result, "Output" in state)
    sc = scope(run, frame, env, result)
    assigned = jsonpath_io.assign(state.get("Assign"), result, sc)
    output = jsonpath_io.finish_output(state, frame["input"], result, sc)
    return output, assigned


def _jsonata_output(
    run: Run, frame: Frame, state: dict[str, Any], env: Env, result: Any, has_output: bool
) -> tuple[Any, dict[str, Any]]:
    binds = bindings(run, frame, env, result=result)
    if state.get("Type") in ("Pass", "Choice", "Wait", "Succeed"):
        binds = bindings(run, frame, env)
    output = result
    if has_output:
        output = jsonata_mode.evaluate_template(state["Output"], "Output", binds, run.rng)
    assigned: dict[str, Any] = {}
    if isinstance(state.get("Assign"), dict):
        assigned = jsonata_mode.evaluate_template(state["Assign"], "Assign", binds, run.rng)
    return output, assigned


def catcher_output(
    run: Run,
    frame: Frame,
    state: dict[str, Any],
    env: Env,
    catcher: dict[str, Any],
    error_output: dict[str, Any],
) -> tuple[Any, dict[str, Any]]:
    """Output and assignments of a catcher handling ``error_output``."""
    if is_jsonata(run, state):
        binds = bindings(run, frame, env, error_output=error_output)
        output: Any = error_output
        if "Output" in catcher:
            output = jsonata_mode.evaluate_template(catcher["Output"], "Output", binds, run.rng)
        assigned: dict[str, Any] = {}
        if isinstance(catcher.get("Assign"), dict):
            assigned = jsonata_mode.evaluate_template(catcher["Assign"], "Assign", binds, run.rng)
        return output, assigned
    sc = scope(run, frame, env, error_output)
    assigned = jsonpath_io.assign(catcher.get("Assign"), error_output, sc)
    return jsonpath_io.apply_result_path(catcher, frame["input"], error_output), assigned
