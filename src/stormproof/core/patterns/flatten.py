"""Events: loading, envelope validation and flattening into leaf fields.

An event is flattened as aws/event-ruler flattens it: every leaf (string, number, boolean or
null) becomes a field named by the dot-joined keys leading to it; arrays are "crushed out", so
each element of ``"resources": ["a", "b"]`` is a value of the field ``resources``. Empty arrays
and empty objects produce no field at all.

For JSON array consistency each leaf also carries its *membership*: for every array of objects
(or of arrays) that encloses it, the array's id within this event and the element's index. Two
leaves may be used together only if they agree on every array they share (see ``match.py``).
Elements that are plain values record nothing: one array of plain values only ever feeds one
field, so it can never put two fields in conflict.

Values are compared through a *key*: strings are their own key, numbers become ``float`` (so
``300`` and ``300.0`` are equal, as AWS matched them), and ``true``/``false``/``null`` get tagged
keys so that ``true`` never equals ``1``.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Mapping
from typing import Any, NamedTuple

from stormproof.errors import InvalidEvent

REQUIRED_FIELDS = ("id", "account", "source", "time", "region", "detail-type")
"""Envelope fields ``TestEventPattern`` requires of an event (conformance vectors)."""

TRUE_KEY = ("bool", True)
FALSE_KEY = ("bool", False)
NULL_KEY = ("null",)

Membership = tuple[tuple[int, int], ...]
"""``(array_id, element_index)`` for each enclosing array of containers, outermost first."""


class Leaf(NamedTuple):
    """One leaf value of a flattened event."""

    value: Any
    key: Hashable
    membership: Membership


Fields = dict[str, list[Leaf]]
"""Flattened event: dot-joined path to the leaves found there."""


def is_number(value: Any) -> bool:
    """A JSON number (Python's ``bool`` is an ``int``, but never a JSON number)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def number_key(value: int | float) -> float:
    """The comparison key of a JSON number (a double, as event-ruler compares numbers)."""
    try:
        return float(value)
    except OverflowError:
        # Integers beyond the double range compare as infinities, as Java's parser makes them.
        return float("inf") if value > 0 else float("-inf")


def value_key(value: Any) -> Hashable:
    """The key ``value`` is compared by; raises ``InvalidEvent`` for non-JSON values."""
    if isinstance(value, str):
        return value
    if value is True:
        return TRUE_KEY
    if value is False:
        return FALSE_KEY
    if value is None:
        return NULL_KEY
    if isinstance(value, int | float):
        return number_key(value)
    raise InvalidEvent(f"Parameter Event is not valid. {type(value).__name__} is not a JSON value")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(text: str | bytes | bytearray) -> Any:
    """Strict JSON: ``NaN`` and ``Infinity`` are refused, as any JSON parser but Python's does."""
    return json.loads(text, parse_constant=_reject_constant)


def load_event(event: Mapping[str, Any] | str | bytes | bytearray) -> Mapping[str, Any]:
    """Parse (if text) and validate an event; raise ``InvalidEvent`` like ``TestEventPattern``."""
    if isinstance(event, str | bytes | bytearray):
        try:
            event = parse_json(event)
        except (ValueError, RecursionError) as exc:
            raise InvalidEvent(f"Parameter Event is not valid. {exc}") from None
    if not isinstance(event, Mapping):
        raise InvalidEvent("Parameter Event is not valid. The event must be a JSON object")
    missing = [name for name in REQUIRED_FIELDS if name not in event]
    if missing:
        raise InvalidEvent(
            f"Parameter Event is not valid. Missing mandatory fields: {', '.join(missing)}"
        )
    return event


def path_prefixes(paths: list[str] | set[str]) -> frozenset[str]:
    """Every dot-boundary prefix of ``paths`` (the paths included): what flattening visits."""
    wanted: set[str] = set()
    for path in paths:
        parts = path.split(".")
        for end in range(1, len(parts) + 1):
            wanted.add(".".join(parts[:end]))
    return frozenset(wanted)


def flatten(event: Mapping[str, Any], wanted: frozenset[str] | None = None) -> Fields:
    """Flatten ``event``; with ``wanted``, skip subtrees no pattern path can reach.

    Iterative, so deeply nested events (EventBridge allows 1,000 levels) cannot exhaust the
    Python stack.
    """
    fields: Fields = {}
    arrays = 0
    pending: list[tuple[str, Any, Membership]] = [(k, v, ()) for k, v in event.items()]
    while pending:
        path, value, membership = pending.pop()
        if wanted is not None and path not in wanted:
            continue
        if isinstance(value, Mapping):
            pending.extend((f"{path}.{k}", v, membership) for k, v in value.items())
        elif isinstance(value, list | tuple):
            array_id, arrays = arrays, arrays + 1
            for index, item in enumerate(value):
                if isinstance(item, Mapping | list | tuple):
                    pending.append((path, item, (*membership, (array_id, index))))
                else:
                    fields.setdefault(path, []).append(Leaf(item, value_key(item), membership))
        else:
            fields.setdefault(path, []).append(Leaf(value, value_key(value), membership))
    return fields
