"""JSONPath-mode input and output processing.

Order (AWS): InputPath -> Parameters -> (task) -> ResultSelector -> ResultPath
-> OutputPath. Payload templates (``Parameters``, ``ResultSelector``,
``ItemSelector``, ``Assign``) evaluate keys ending in ``.$`` as a path, a
context path or an intrinsic call; everything else is copied literally.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from stormproof.core.asl import intrinsics, json_text, paths
from stormproof.core.asl.failure import StatesError, runtime_error
from stormproof.core.asl.intrinsic_syntax import is_intrinsic
from stormproof.core.asl.paths import PathError
from stormproof.core.asl.random_source import RandomSource


@dataclass
class Scope:
    """What a path can see: ``$`` (``data``), ``$$`` (``context``) and variables."""

    data: Any
    context: dict[str, Any]
    variables: dict[str, Any]
    rng: RandomSource
    #: The state input quoted in "could not be found in the input" messages.
    state_input: Any = None

    def with_data(self, data: Any) -> Scope:
        """The same scope with ``$`` bound to ``data``."""
        return Scope(data, self.context, self.variables, self.rng, self.state_input)

    def select(self, text: str) -> Any:
        """Evaluate a path (any root); raises :class:`PathError`."""
        path = paths.parse(text)
        if path.root == "$":
            return paths.select(path, self.data)
        if path.root == "$$":
            return paths.select(path, self.context)
        if path.root not in self.variables:
            raise PathError(f"The variable '{path.root}' is not defined")
        return paths.select(path, self.variables[path.root])


def select_field(scope: Scope, text: str, field_name: str) -> Any:
    """Evaluate a ``.$`` value (path or intrinsic) for ``field_name``."""
    if is_intrinsic(text):
        return intrinsics.evaluate(text, lambda p: select_field(scope, p, field_name), scope.rng)
    try:
        return scope.select(text)
    except PathError as exc:
        shown = json_text.dumps(scope.state_input)
        raise runtime_error(
            f"The JSONPath '{text}' specified for the field '{field_name}' could not be found "
            f"in the input '{shown}'"
        ) from exc


def payload(template: Any, scope: Scope) -> Any:
    """Evaluate a payload template against ``scope``."""
    if isinstance(template, dict):
        out: dict[str, Any] = {}
        for key, value in template.items():
            if key.endswith(".$") and isinstance(value, str):
                out[key[:-2]] = select_field(scope, value, key)
            else:
                out[key] = payload(value, scope)
        return out
    if isinstance(template, list):
        return [payload(v, scope) for v in template]
    return copy.deepcopy(template)


def apply_path(path: Any, value: Any, scope: Scope) -> Any:
    """``InputPath`` / ``OutputPath``: ``None`` yields ``{}``; a miss is ``States.Runtime``."""
    if path is None:
        return {}
    try:
        return scope.with_data(value).select(path)
    except PathError as exc:
        raise runtime_error(f"Invalid path '{path}' : {exc.message}") from exc


def apply_result_path(state: dict[str, Any], raw_input: Any, result: Any) -> Any:
    """Place ``result`` into the raw state input (``ResultPath``; ``null`` keeps the input)."""
    if "ResultPath" in state and state["ResultPath"] is None:
        return copy.deepcopy(raw_input)
    target = state.get("ResultPath", "$")
    try:
        return paths.put(raw_input, target, result)
    except PathError as exc:
        raise StatesError(
            "States.ResultPathMatchFailure",
            f"Unable to apply ResultPath '{target}' to input {json_text.dumps(raw_input)}",
            located=True,
        ) from exc


def effective_input(state: dict[str, Any], raw_input: Any, scope: Scope) -> Any:
    """InputPath then Parameters (or ItemSelector for Map states at item level)."""
    value = apply_path(state.get("InputPath", "$"), raw_input, scope)
    if "Parameters" in state and state.get("Type") != "Map":
        value = payload(state["Parameters"], scope.with_data(value))
    return value


def finish_output(state: dict[str, Any], raw_input: Any, result: Any, scope: Scope) -> Any:
    """ResultSelector, ResultPath and OutputPath applied to a state's result."""
    if "ResultSelector" in state:
        result = payload(state["ResultSelector"], scope.with_data(result))
    placed = apply_result_path(state, raw_input, result)
    return apply_path(state.get("OutputPath", "$"), placed, scope)


def assign(template: Any, result: Any, scope: Scope) -> dict[str, Any]:
    """JSONPath ``Assign``: ``$`` is the state's result; returns the new variables."""
    if not isinstance(template, dict):
        return {}
    values = payload(template, scope.with_data(result))
    return values if isinstance(values, dict) else {}
