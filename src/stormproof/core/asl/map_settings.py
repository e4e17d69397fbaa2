"""The settings a Map state reads when it starts: items, concurrency, failure tolerance.

Each comes from a literal, a ``...Path`` field (JSONPath mode) or a JSONata
expression, and is validated with AWS's messages.
"""

from __future__ import annotations

from typing import Any

from stormproof.core.asl import json_text, jsonata_mode, jsonpath_io, state_io
from stormproof.core.asl.failure import evaluation_error, runtime_error
from stormproof.core.asl.paths import PathError
from stormproof.core.asl.run_context import Env, Frame, Run


def items(run: Run, frame: Frame, state: dict[str, Any], env: Env, effective: Any) -> list[Any]:
    """The array the Map iterates over."""
    if state_io.is_jsonata(run, state):
        if "Items" not in state:
            if not isinstance(frame["input"], list):
                raise evaluation_error(
                    f"Map state input must be an array but was: {json_text.dumps(frame['input'])}"
                )
            return list(frame["input"])
        value = state_io.evaluate(run, frame, env, state["Items"], "Items")
        if not isinstance(value, list):
            jsonata_mode.typed_result(value, "array", str(state["Items"]), "Items")
        return list(value)
    path = state.get("ItemsPath", "$")
    sc = state_io.scope(run, frame, env, effective)
    try:
        value = sc.select(path)
    except PathError as exc:
        raise runtime_error(f"Invalid path '{path}' : {exc.message}") from exc
    if not isinstance(value, list):
        raise runtime_error(f"Map state input must be an array but was: {json_text.dumps(value)}")
    return list(value)


def integer_setting(
    run: Run, frame: Frame, state: dict[str, Any], env: Env, name: str, effective: Any
) -> int | None:
    """``MaxConcurrency`` or ``ToleratedFailureCount`` (literal, path or expression)."""
    raw = _raw(run, frame, state, env, name, effective)
    if raw is None:
        return None
    value = _as_number(raw, integer=True)
    if value is None:
        raise runtime_error(
            f'The {name}Path field refers to value "{_shown(raw)}" which is not a valid '
            f"integer: {state.get(name + 'Path')}"
        )
    return int(value)


def percentage_setting(
    run: Run, frame: Frame, state: dict[str, Any], env: Env, effective: Any
) -> float | None:
    """``ToleratedFailurePercentage`` (literal, path or expression), validated 0..100."""
    name = "ToleratedFailurePercentage"
    raw = _raw(run, frame, state, env, name, effective)
    if raw is None:
        return None
    value = _as_number(raw, integer=False)
    if value is None:
        raise runtime_error(
            f'The {name}Path field refers to value "{_shown(raw)}" which is not a valid '
            f"float: {state.get(name + 'Path')}"
        )
    if not 0 <= value <= 100:
        raise runtime_error("ToleratedFailurePercentage must be between 0 and 100.")
    return float(value)


def _raw(run: Run, frame: Frame, state: dict[str, Any], env: Env, name: str, effective: Any) -> Any:
    if name in state:
        value = state[name]
        if state_io.is_jsonata(run, state):
            value = state_io.evaluate(run, frame, env, value, name)
        return value
    if f"{name}Path" in state:
        sc = state_io.scope(run, frame, env, effective)
        return jsonpath_io.select_field(sc, state[f"{name}Path"], f"{name}Path")
    return None


def _as_number(raw: Any, *, integer: bool) -> float | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, str):
        try:
            raw = int(raw) if integer else float(raw)
        except ValueError:
            return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and (not integer or raw.is_integer()):
        return raw
    return None


def _shown(raw: Any) -> str:
    return raw if isinstance(raw, str) else json_text.dumps(raw)
