"""JSON documents stormproof reads or writes for a caller: depth and number limits.

Python's ``json`` module recurses, so a document nested a few thousand levels deep ends
in ``RecursionError``, and it writes ``NaN`` and ``Infinity``, which are not JSON. Every
user document (message bodies, execution input and task output, async invocation
events, event patterns, state machine definitions) goes through :func:`dumps` or
:func:`loads`, which refuse both with a :class:`~stormproof.errors.NestingTooDeep` or an
:class:`~stormproof.errors.InvalidAttribute` naming the field.

AWS documents no nesting limit for SQS bodies, Step Functions payloads, event patterns or
ASL definitions, so stormproof sets :data:`MAX_DEPTH` (64 levels). Event ``detail`` keeps
EventBridge's documented 1,000 levels (``bus_events.MAX_DEPTH``).
"""

from __future__ import annotations

import json
from typing import Any, Final

from stormproof.errors import InvalidAttribute, NestingTooDeep

MAX_DEPTH: Final = 64
"""Most levels of arrays and objects in a user's JSON document (a scalar is level 0)."""


def depth_over(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether ``value`` nests arrays/objects more than ``limit`` levels (iterative).

    Stops at the first container past the limit, so cyclic values end too.
    """
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if depth + 1 > limit:
            return True
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list | tuple))
    return False


def check_depth(field: str, value: Any, limit: int = MAX_DEPTH) -> None:
    """Raise :class:`NestingTooDeep` if ``value`` nests more than ``limit`` levels."""
    if depth_over(value, limit):
        raise NestingTooDeep(field, limit)


def dumps(field: str, value: Any, limit: int = MAX_DEPTH, **options: Any) -> str:
    """Strict JSON text of ``value``: depth-checked, ``NaN``/``Infinity`` refused.

    ``options`` are ``json.dumps`` options (``separators``, ``ensure_ascii``, ...).
    """
    check_depth(field, value, limit)
    try:
        return json.dumps(value, allow_nan=False, **options)
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidAttribute(
            field, _summary(value), f"a JSON-serialisable value without NaN or Infinity ({exc})"
        ) from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def loads(field: str, text: str | bytes | bytearray, limit: int = MAX_DEPTH, **options: Any) -> Any:
    """Parse strict JSON (no ``NaN``/``Infinity``) nested at most ``limit`` levels.

    A syntax error raises ``ValueError`` (``json.JSONDecodeError``) for the caller to
    word; too deep a document raises :class:`NestingTooDeep`.
    """
    options.setdefault("parse_constant", _refuse_constant)
    try:
        value = json.loads(text, **options)
    except RecursionError:
        raise NestingTooDeep(field, limit) from None
    check_depth(field, value, limit)
    return value


def _summary(value: Any) -> str:
    """A short description of a value whose repr may be huge or unprintable."""
    try:
        text = repr(value)
    except (RecursionError, ValueError):
        return f"<{type(value).__name__}>"
    return text if len(text) <= 200 else text[:200] + "..."
