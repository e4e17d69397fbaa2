"""Evaluation of the ``States.*`` intrinsic functions (JSONPath mode).

:func:`evaluate` takes the call text, a resolver for path arguments and the
random source (for ``States.MathRandom`` and ``States.UUID``). Failures raise
``States.Runtime`` with the cause prefixed by the interpreter.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import random
import uuid
from collections.abc import Callable
from typing import Any

from stormproof.core.asl import json_text
from stormproof.core.asl.failure import runtime_error
from stormproof.core.asl.intrinsic_syntax import (
    CLOSE_MARK,
    OPEN_MARK,
    Call,
    Literal,
    Node,
    PathArg,
    parse,
    unmark,
)
from stormproof.core.asl.random_source import RandomSource

PathResolver = Callable[[str], Any]

#: ``States.ArrayRange`` may produce at most this many items.
ARRAY_RANGE_LIMIT = 1000

_HASHES = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}


def evaluate(text: str, resolve: PathResolver, rng: RandomSource) -> Any:
    """Evaluate the intrinsic call ``text``."""
    return _call(parse(text), resolve, rng)


def _value(node: Node, resolve: PathResolver, rng: RandomSource) -> Any:
    if isinstance(node, Call):
        return _call(node, resolve, rng)
    if isinstance(node, PathArg):
        return resolve(node.text)
    value = node.value
    return unmark(value) if isinstance(value, str) else value


def _call(call: Call, resolve: PathResolver, rng: RandomSource) -> Any:
    if call.name == "States.Format":
        return _format(call, resolve, rng)
    function = _FUNCTIONS.get(call.name)
    if function is None:
        raise runtime_error(f"Unsupported intrinsic function: {call.name}")
    args = [_value(a, resolve, rng) for a in call.args]
    if call.name in ("States.MathRandom", "States.UUID"):
        args.insert(0, rng)
    try:
        return function(*args)
    except TypeError as exc:
        raise runtime_error(f"Invalid arguments in {call.name}: {exc}") from exc


def _format(call: Call, resolve: PathResolver, rng: RandomSource) -> str:
    if not call.args:
        raise runtime_error("States.Format requires a template argument")
    first = call.args[0]
    template = first.value if isinstance(first, Literal) else _value(first, resolve, rng)
    if not isinstance(template, str):
        raise runtime_error("The first argument of States.Format must be a string")
    values = [_value(a, resolve, rng) for a in call.args[1:]]
    pieces = template.split("{}")
    if len(pieces) - 1 != len(values):
        raise runtime_error(
            f"States.Format expects {len(pieces) - 1} arguments but received {len(values)}"
        )
    out = [pieces[0]]
    for value, piece in zip(values, pieces[1:], strict=True):
        out.extend((java_string(value), piece))
    return "".join(out).replace(OPEN_MARK, "{").replace(CLOSE_MARK, "}")


def java_string(value: Any) -> str:
    """Render a value the way AWS's Java runtime prints it inside ``States.Format``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={java_string(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(java_string(v) for v in value) + "]"
    return str(value)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise runtime_error(message)


def _is_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _array(*values: Any) -> list[Any]:
    return list(values)


def array_partition(array: Any, size: Any) -> list[Any]:
    """``States.ArrayPartition``: chunks of ``size`` items (the last may be shorter)."""
    _require(isinstance(array, list), "States.ArrayPartition expects an array")
    _require(_is_int(size) and size > 0, "States.ArrayPartition chunk size must be positive")
    n = int(size)
    return [array[i : i + n] for i in range(0, len(array), n)]


def _array_contains(array: Any, value: Any) -> bool:
    _require(isinstance(array, list), "States.ArrayContains expects an array")
    return any(_json_equal(item, value) for item in array)


def _json_equal(a: Any, b: Any) -> bool:
    # Booleans are not numbers in JSON, although Python says True == 1.
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def array_range(start: Any, end: Any, step: Any) -> list[int]:
    """``States.ArrayRange``: ``start`` to ``end`` inclusive by ``step``, at most 1000 items."""
    _require(all(_is_int(v) for v in (start, end, step)), "States.ArrayRange expects integers")
    _require(step != 0, "States.ArrayRange step cannot be zero")
    stop = int(end) + (1 if step > 0 else -1)
    items = list(range(int(start), stop, int(step)))
    _require(len(items) <= ARRAY_RANGE_LIMIT, "States.ArrayRange result exceeds 1000 items")
    return items


def _array_get_item(array: Any, index: Any) -> Any:
    _require(isinstance(array, list), "States.ArrayGetItem expects an array")
    _require(_is_int(index) and 0 <= index < len(array), "States.ArrayGetItem index out of range")
    return array[int(index)]


def _array_length(array: Any) -> int:
    _require(isinstance(array, list), "States.ArrayLength expects an array")
    return len(array)


def _array_unique(array: Any) -> list[Any]:
    _require(isinstance(array, list), "States.ArrayUnique expects an array")
    out: list[Any] = []
    for item in array:
        if not any(_json_equal(item, seen) for seen in out):
            out.append(item)
    return out


def _base64_encode(text: Any) -> str:
    _require(isinstance(text, str), "States.Base64Encode expects a string")
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _base64_decode(text: Any) -> str:
    _require(isinstance(text, str), "States.Base64Decode expects a string")
    try:
        return base64.b64decode(text, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise runtime_error(f"States.Base64Decode cannot decode '{text}'") from exc


def hash_text(value: Any, algorithm: Any) -> str:
    """``States.Hash``: the hex digest of the UTF-8 text (MD5, SHA-1, SHA-256/384/512)."""
    _require(algorithm in _HASHES, f"States.Hash does not support the algorithm {algorithm}")
    data = value if isinstance(value, str) else json_text.dumps(value)
    return hashlib.new(_HASHES[algorithm], data.encode("utf-8")).hexdigest()


def _json_merge(left: Any, right: Any, deep: Any) -> dict[str, Any]:
    _require(isinstance(left, dict) and isinstance(right, dict), "States.JsonMerge expects objects")
    _require(deep is False, "States.JsonMerge supports only shallow merges (false)")
    return {**left, **right}


def _string_to_json(text: Any) -> Any:
    _require(isinstance(text, str), "States.StringToJson expects a string")
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise runtime_error(f"States.StringToJson cannot parse '{text}'") from exc


def _json_to_string(value: Any) -> str:
    return json_text.dumps(value)


def _java_round(value: Any) -> int:
    _require(isinstance(value, int | float) and not isinstance(value, bool), "expected a number")
    # Java's Math.round: half-way values round towards positive infinity.
    number: float = value
    return math.floor(number + 0.5)


def _math_add(a: Any, b: Any) -> int:
    return _java_round(a) + _java_round(b)


def _math_random(rng: RandomSource, start: Any, end: Any, seed: Any = None) -> int:
    low, high = _java_round(start), _java_round(end)
    _require(low < high, "States.MathRandom start must be below end")
    # A seed makes the draw repeatable; otherwise draw from the source given.
    fraction = random.Random(_java_round(seed)).random() if seed is not None else rng.random()
    return low + math.floor(fraction * (high - low))


def _string_split(text: Any, delimiters: Any) -> list[str]:
    _require(isinstance(text, str) and isinstance(delimiters, str), "expected strings")
    parts = [text]
    for delimiter in delimiters:
        parts = [piece for part in parts for piece in part.split(delimiter)]
    return [p for p in parts if p]


def new_uuid(rng: RandomSource) -> str:
    """``States.UUID``: a version-4 UUID drawn from ``rng``."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "States.Array": _array,
    "States.ArrayPartition": array_partition,
    "States.ArrayContains": _array_contains,
    "States.ArrayRange": array_range,
    "States.ArrayGetItem": _array_get_item,
    "States.ArrayLength": _array_length,
    "States.ArrayUnique": _array_unique,
    "States.Base64Encode": _base64_encode,
    "States.Base64Decode": _base64_decode,
    "States.Hash": hash_text,
    "States.JsonMerge": _json_merge,
    "States.StringToJson": _string_to_json,
    "States.JsonToString": _json_to_string,
    "States.MathAdd": _math_add,
    "States.MathRandom": _math_random,
    "States.StringSplit": _string_split,
    "States.UUID": new_uuid,
}
