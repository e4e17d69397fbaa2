"""Request body validation: size, JSON, nesting depth and the route's JSON Schema."""

from __future__ import annotations

import json
from typing import Any

from stormproof.errors import PayloadInvalid, PayloadTooLarge
from stormproof.gateway.routes import PostRoute


def parse_body(route: PostRoute, raw: bytes) -> Any:
    """The parsed body, or a :class:`PayloadInvalid`/:class:`PayloadTooLarge` naming why."""
    if len(raw) > route.max_body:
        raise PayloadTooLarge(
            f"the body has {len(raw)} bytes; at most {route.max_body} are accepted",
            size=len(raw),
            limit=route.max_body,
        )
    try:
        payload = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise PayloadInvalid(f"the body is not JSON: {exc}", errors=[]) from None
    depth = json_depth(payload)
    if depth > route.max_depth:
        raise PayloadInvalid(
            f"the body nests {depth} levels; at most {route.max_depth} are accepted",
            errors=[{"field": "", "message": "too deeply nested"}],
        )
    return payload


def check_schema(route: PostRoute, payload: Any) -> None:
    """Validate against the route's schema; the error names the offending field."""
    if route.validator is None:
        return
    import fastjsonschema

    try:
        route.validator(payload)
    except fastjsonschema.JsonSchemaValueException as exc:
        name = (exc.name or "data").removeprefix("data").lstrip(".")
        raise PayloadInvalid(
            f"the body does not match the route's schema: {exc.message}",
            errors=[{"field": name, "message": exc.message, "rule": exc.rule}],
        ) from None


def json_depth(value: Any) -> int:
    """Nesting depth of a parsed JSON value (iterative: a hostile body cannot recurse)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest
