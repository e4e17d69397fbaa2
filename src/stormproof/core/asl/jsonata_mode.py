"""QueryLanguage JSONata: ``{% ... %}`` expressions in Arguments, Output, Assign...

Expressions see ``$states`` (``input``, ``context``, and ``result`` or
``errorOutput`` where defined) and every workflow variable as ``$name``. AWS
adds a few functions to JSONata 2.0 (``$partition``, ``$range``, ``$hash``,
``$random``, ``$uuid``, ``$parse``); they are bound here, with ``$random`` and
``$uuid`` drawing from the random source passed in.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from typing import Any

from jsonata import Jsonata
from jsonata.jexception import JException
from jsonata.utils import Utils

from stormproof.core.asl import intrinsics, json_text
from stormproof.core.asl.failure import evaluation_error
from stormproof.core.asl.random_source import RandomSource


def is_expression(value: Any) -> bool:
    """True for a string of the form ``{% expression %}``."""
    return isinstance(value, str) and value.startswith("{%") and value.endswith("%}")


@lru_cache(maxsize=2048)
def _compiled(expression: str) -> Jsonata:
    compiled = Jsonata(expression)
    # Keep JSON null distinct from "undefined" (which AWS reports as an error).
    compiled.set_output_convert_nulls(False)
    return compiled


def _aws_functions(rng: RandomSource) -> dict[str, Any]:
    def partition(array: Any, size: Any) -> Any:
        return intrinsics.array_partition(array, size)

    def number_range(start: Any, end: Any, step: Any) -> Any:
        values = intrinsics.array_range(start, end, step)
        # AWS returns a JSONata sequence, and a one-item sequence is its item.
        return values[0] if len(values) == 1 else values

    return {
        "partition": Jsonata.JLambda(partition),
        "range": Jsonata.JLambda(number_range),
        "hash": Jsonata.JLambda(intrinsics.hash_text),
        "random": Jsonata.JLambda(rng.random),
        "uuid": Jsonata.JLambda(lambda: intrinsics.new_uuid(rng)),
        "parse": Jsonata.JLambda(json.loads),
    }


def evaluate(
    text: str, field: str, bindings: dict[str, Any], rng: RandomSource, *, allow_undefined: bool
) -> Any:
    """Evaluate one ``{% %}`` string; ``field`` names it in error messages (``Output/x``)."""
    expression = text[2:-2].strip()
    prefix = f"The JSONata expression '{expression}' specified for the field '{field}'"
    # A variable holding JSON null must not look "undefined" to the evaluator.
    values = {k: Utils.NULL_VALUE if v is None else v for k, v in bindings.items()}
    try:
        raw = _compiled(expression).evaluate(None, {**_aws_functions(rng), **values})
    except JException as exc:
        message = exc.args[0] if exc.args else str(exc)
        raise evaluation_error(
            f"{prefix} threw an error during evaluation. {exc.error}: {message}"
        ) from exc
    except Exception as exc:  # the evaluator raises plain Python errors too
        raise evaluation_error(f"{prefix} threw an error during evaluation. {exc}") from exc
    if raw is None:
        if allow_undefined:
            return None
        raise evaluation_error(f"{prefix} returned nothing (undefined).")
    if callable(raw) or not _is_json(raw):
        raise evaluation_error(f"{prefix} returned an unsupported result type.")
    return normalise_numbers(Utils.convert_nulls(raw))


def _is_json(value: Any) -> bool:
    if value is Utils.NULL_VALUE or value is None:
        return True
    if isinstance(value, bool | int | float | str):
        return True
    if isinstance(value, list):
        return all(_is_json(v) for v in value)
    if isinstance(value, dict):
        return all(_is_json(v) for v in value.values())
    return False


def normalise_numbers(value: Any) -> Any:
    """Integral floats become ints: JSONata's arithmetic is float, AWS prints ``3`` not ``3.0``."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [normalise_numbers(v) for v in value]
    if isinstance(value, dict):
        return {k: normalise_numbers(v) for k, v in value.items()}
    return value


def evaluate_template(
    template: Any, field: str, bindings: dict[str, Any], rng: RandomSource
) -> Any:
    """Evaluate every ``{% %}`` string inside ``template``; other values are literal."""
    if is_expression(template):
        return evaluate(template, field, bindings, rng, allow_undefined=False)
    if isinstance(template, dict):
        return {
            key: evaluate_template(value, f"{field}/{key}", bindings, rng)
            for key, value in template.items()
        }
    if isinstance(template, list):
        return [evaluate_template(v, field, bindings, rng) for v in template]
    return template


def typed_result(value: Any, expected: str, expression: str, field: str) -> None:
    """Raise the AWS error when an expression's result is not of the ``expected`` JSON type."""
    actual = json_text.type_name(value)
    if actual != expected:
        raise evaluation_error(
            f"The JSONata expression '{expression[2:-2].strip()}' specified for the field "
            f"'{field}' returned an unexpected result type. Expected '{expected}', but was "
            f"'{actual}' for value: {json_text.dumps(value)}"
        )
