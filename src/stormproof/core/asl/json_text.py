"""JSON text as Step Functions writes it: compact, key order kept, non-ASCII kept."""

from __future__ import annotations

import json
from typing import Any


def dumps(value: Any) -> str:
    """Serialise ``value`` the way AWS embeds JSON in outputs and causes."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def type_name(value: Any) -> str:
    """The JSON type name AWS uses in messages ("array", "object", "number" ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
