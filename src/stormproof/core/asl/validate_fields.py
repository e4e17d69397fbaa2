"""Which fields each state type may carry, and typed checks for single fields.

The tables follow the ASL JSON schema of AWS's language server (see
``spec/aws-semantics.md`` §4.2) with the JSONata split of §4.8: the five
JSONPath I/O fields and every ``...Path`` variant exist only in JSONPath mode,
``Arguments``/``Output``/``Items`` only in JSONata mode, and ``Assign`` in both.
"""

from __future__ import annotations

from typing import Any

from stormproof.core.asl.validate_report import StateCtx
from stormproof.core.asl.validate_syntax import is_jsonata

STATE_TYPES = ("Pass", "Succeed", "Fail", "Task", "Choice", "Wait", "Parallel", "Map")
MAX_SECONDS = 99_999_999

_COMMON = frozenset({"Type", "Comment", "QueryLanguage"})
_FLOW = frozenset({"Next", "End"})
_IO = frozenset({"InputPath", "OutputPath"})
_RESULT = frozenset({"Parameters", "ResultSelector", "ResultPath"})
_ERRORS = frozenset({"Retry", "Catch"})
_VARIABLES = frozenset({"Output", "Assign"})

STATE_FIELDS: dict[str, frozenset[str]] = {
    "Pass": _FLOW | _IO | _VARIABLES | {"Parameters", "Result", "ResultPath"},
    "Task": _FLOW
    | _IO
    | _RESULT
    | _ERRORS
    | _VARIABLES
    | {
        "Resource",
        "Arguments",
        "Credentials",
        "TimeoutSeconds",
        "TimeoutSecondsPath",
        "HeartbeatSeconds",
        "HeartbeatSecondsPath",
    },
    "Choice": _IO | _VARIABLES | {"Choices", "Default"},
    "Wait": _FLOW | _IO | _VARIABLES | {"Seconds", "SecondsPath", "Timestamp", "TimestampPath"},
    "Succeed": _IO | {"Output"},
    "Fail": frozenset({"Error", "Cause", "ErrorPath", "CausePath"}),
    "Parallel": _FLOW | _IO | _RESULT | _ERRORS | _VARIABLES | {"Branches", "Arguments"},
    "Map": _FLOW
    | _IO
    | _RESULT
    | _ERRORS
    | _VARIABLES
    | {
        "ItemsPath",
        "Items",
        "ItemSelector",
        "Iterator",
        "ItemProcessor",
        "ItemReader",
        "ItemBatcher",
        "ResultWriter",
        "MaxConcurrency",
        "MaxConcurrencyPath",
        "ToleratedFailureCount",
        "ToleratedFailureCountPath",
        "ToleratedFailurePercentage",
        "ToleratedFailurePercentagePath",
        "Label",
    },
}

JSONPATH_ONLY = frozenset(
    {
        "InputPath",
        "OutputPath",
        "Parameters",
        "ResultSelector",
        "ResultPath",
        "Result",
        "ItemsPath",
        "SecondsPath",
        "TimestampPath",
        "ErrorPath",
        "CausePath",
        "TimeoutSecondsPath",
        "HeartbeatSecondsPath",
        "MaxConcurrencyPath",
        "ToleratedFailureCountPath",
        "ToleratedFailurePercentagePath",
    }
)
JSONATA_ONLY = frozenset({"Arguments", "Output", "Items"})


def check_fields(ctx: StateCtx, state_type: str) -> None:
    """Report fields the state type does not know, or that its query language forbids."""
    allowed = STATE_FIELDS[state_type] | _COMMON
    for name in ctx.state:
        if name not in allowed:
            ctx.add(name, f"field '{name}' is not supported by a {state_type} state")
        elif ctx.jsonata and name in JSONPATH_ONLY:
            ctx.add(name, f"field '{name}' is not supported when QueryLanguage is JSONata")
        elif not ctx.jsonata and name in JSONATA_ONLY:
            ctx.add(name, f"field '{name}' is only supported when QueryLanguage is JSONata")


def check_exclusive(ctx: StateCtx, *names: str) -> None:
    """Report when more than one of ``names`` is set (e.g. ``X`` and ``XPath``)."""
    present = [name for name in names if ctx.has(name)]
    if len(present) > 1:
        listed = ", ".join(present)
        ctx.add(present[1], f"fields {listed} are mutually exclusive; set at most one")


def integer_problem(value: Any, low: int, high: int | None = None) -> str | None:
    """Why ``value`` is not an integer in ``[low, high]``, or ``None``."""
    # bool is an int subclass in Python but never a number in JSON.
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if isinstance(value, float) and value.is_integer():
        is_int = True
    if not is_int:
        return "must be an integer"
    if value < low:
        return f"must be at least {low}"
    if high is not None and value > high:
        return f"must be at most {high}"
    return None


def number_problem(value: Any, low: float, high: float | None = None) -> str | None:
    """Why ``value`` is not a number in ``[low, high]``, or ``None``."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "must be a number"
    if value < low:
        return f"must be at least {low:g}"
    if high is not None and value > high:
        return f"must be at most {high:g}"
    return None


def check_integer(ctx: StateCtx, name: str, low: int, high: int | None = None) -> None:
    """Check an integer field; in JSONata mode a ``{% %}`` expression is also accepted."""
    if not ctx.has(name):
        return
    value = ctx.state[name]
    if ctx.jsonata and is_jsonata(value):
        return
    problem = integer_problem(value, low, high)
    if problem:
        ctx.add(name, f"{name} {problem}")


def check_number(ctx: StateCtx, name: str, low: float, high: float | None = None) -> None:
    """Check a numeric field; in JSONata mode a ``{% %}`` expression is also accepted."""
    if not ctx.has(name):
        return
    value = ctx.state[name]
    if ctx.jsonata and is_jsonata(value):
        return
    problem = number_problem(value, low, high)
    if problem:
        ctx.add(name, f"{name} {problem}")


def check_string(ctx: StateCtx, name: str, *, non_empty: bool = True) -> None:
    """Check that an optional field, when set, is a (non-empty) string."""
    if not ctx.has(name):
        return
    value = ctx.state[name]
    if not isinstance(value, str):
        ctx.add(name, f"{name} must be a string")
    elif non_empty and not value:
        ctx.add(name, f"{name} must not be empty")


def check_object(ctx: StateCtx, name: str, *, jsonata_ok: bool = False) -> bool:
    """Check that an optional field, when set, is an object; true if it is one."""
    if not ctx.has(name):
        return False
    value = ctx.state[name]
    if isinstance(value, dict):
        return True
    if not (jsonata_ok and is_jsonata(value)):
        ctx.add(name, f"{name} must be an object")
    return False
