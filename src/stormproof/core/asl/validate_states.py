"""Checks for the simple state types (Pass, Task, Wait, Succeed, Fail) and shared I/O fields."""

from __future__ import annotations

import re
from typing import Any

from stormproof.core.asl.validate_fields import (
    MAX_SECONDS,
    check_exclusive,
    check_integer,
    check_object,
    check_string,
)
from stormproof.core.asl.validate_report import Scope, StateCtx, child, item
from stormproof.core.asl.validate_syntax import (
    is_jsonata,
    is_rfc3339,
    path_or_intrinsic_problem,
    path_problem,
)

# Optimized service integrations (``arn:aws:states:::service:action``). A set
# lists the only actions AWS offers for that service; ``None`` means we do not
# track its actions and accept any. Unknown services are refused, as AWS
# refuses ``dynamodb:query`` (only reachable as ``aws-sdk:dynamodb:query``).
SERVICE_INTEGRATIONS: dict[str, frozenset[str] | None] = {
    "lambda": frozenset({"invoke"}),
    "dynamodb": frozenset({"getItem", "putItem", "updateItem", "deleteItem"}),
    "sns": frozenset({"publish"}),
    "sqs": frozenset({"sendMessage"}),
    "sql": frozenset({"execute"}),  # stormproof's own (arn:stormproof:states:::sql:execute)
    "states": frozenset({"startExecution"}),
    "events": frozenset({"putEvents"}),
    "batch": frozenset({"submitJob"}),
    "ecs": frozenset({"runTask"}),
    "glue": frozenset({"startJobRun"}),
    "databrew": frozenset({"startJobRun"}),
    "apigateway": frozenset({"invoke"}),
    "http": frozenset({"invoke"}),
    "athena": None,
    "bedrock": None,
    "codebuild": None,
    "eks": None,
    "elasticmapreduce": None,
    "emr-containers": None,
    "emr-serverless": None,
    "mediaconvert": None,
    "sagemaker": None,
}
_INTEGRATION = re.compile(
    r"arn:[^:]+:states:::(?P<service>[a-z0-9-]+):(?P<action>[A-Za-z0-9:-]+?)"
    r"(?P<pattern>\.sync(?::2)?|\.waitForTaskToken)?"
)
_ACTIVITY = re.compile(r"arn:[^:]+:states:[^:]*:[^:]*:activity:.+")


def check_template(scope: Scope, path: str, value: Any) -> None:
    """Check every ``key.$`` of a JSONPath payload template holds a path or intrinsic call."""
    if isinstance(value, list):
        for index, element in enumerate(value):
            check_template(scope, item(path, index), element)
        return
    if not isinstance(value, dict):
        return
    for key, member in value.items():
        where = child(path, key)
        if not key.endswith(".$"):
            check_template(scope, where, member)
            continue
        problem = path_or_intrinsic_problem(member)
        if problem:
            scope.add(where, f"the value for the field '{key}' {problem}")


def _check_path_field(ctx: StateCtx, name: str, *, nullable: bool, reference: bool) -> None:
    if not ctx.has(name):
        return
    value = ctx.state[name]
    if value is None and nullable:
        return
    problem = path_problem(value, reference=reference)
    if problem:
        ctx.add(name, f"{name} {problem}")


def check_io(ctx: StateCtx) -> None:
    """Check the JSONPath I/O fields and templates, or the JSONata ones, of any state."""
    for name in ("Parameters", "ResultSelector", "Assign"):
        if check_object(ctx, name) and not ctx.jsonata:
            check_template(ctx.scope, ctx.at(name), ctx.state[name])
    if ctx.jsonata:
        check_object(ctx, "Arguments", jsonata_ok=True)
        return
    _check_path_field(ctx, "InputPath", nullable=True, reference=False)
    _check_path_field(ctx, "OutputPath", nullable=True, reference=False)
    _check_path_field(ctx, "ResultPath", nullable=True, reference=True)


def check_pass(ctx: StateCtx) -> None:
    """Pass: only I/O fields, already covered by :func:`check_io`."""


def check_succeed(ctx: StateCtx) -> None:
    """Succeed: only I/O fields, already covered by :func:`check_io`."""


def check_fail(ctx: StateCtx) -> None:
    """Fail: ``Error``/``ErrorPath`` and ``Cause``/``CausePath``, each at most one."""
    check_exclusive(ctx, "Error", "ErrorPath")
    check_exclusive(ctx, "Cause", "CausePath")
    check_string(ctx, "Error")
    check_string(ctx, "Cause")
    for name in ("ErrorPath", "CausePath"):
        if ctx.has(name):
            problem = path_or_intrinsic_problem(ctx.state[name])
            if problem:
                ctx.add(name, f"{name} {problem}")


def check_wait(ctx: StateCtx) -> None:
    """Wait: exactly one of ``Seconds``, ``SecondsPath``, ``Timestamp``, ``TimestampPath``."""
    fields = ("Seconds", "SecondsPath", "Timestamp", "TimestampPath")
    if not any(ctx.has(name) for name in fields):
        ctx.scope.add(ctx.path, "a Wait state needs one of " + ", ".join(fields))
    check_exclusive(ctx, *fields)
    check_integer(ctx, "Seconds", 0, MAX_SECONDS)
    if ctx.has("Timestamp"):
        value = ctx.state["Timestamp"]
        if not (is_rfc3339(value) or (ctx.jsonata and is_jsonata(value))):
            ctx.add("Timestamp", "Timestamp does not match an RFC 3339 timestamp")
    for name in ("SecondsPath", "TimestampPath"):
        _check_path_field(ctx, name, nullable=False, reference=False)


def _check_resource(ctx: StateCtx) -> None:
    resource = ctx.state.get("Resource")
    if not ctx.has("Resource"):
        ctx.scope.add(ctx.path, "field 'Resource' is required in a Task state")
        return
    if not isinstance(resource, str) or not resource:
        ctx.add("Resource", "Resource must be a non-empty string (a URI)")
        return
    express = ctx.scope.machine_type == "EXPRESS"
    if express and _ACTIVITY.fullmatch(resource):
        ctx.add("Resource", "Express state machines do not support activities")
    match = _INTEGRATION.fullmatch(resource)
    if match is None:
        return
    service, action, pattern = match.group("service", "action", "pattern")
    known = SERVICE_INTEGRATIONS.get(service, frozenset())
    if service != "aws-sdk" and (
        service not in SERVICE_INTEGRATIONS or (known and action not in known)
    ):
        ctx.add("Resource", f"the resource {resource} is not a recognized service integration")
    if express and pattern:
        ctx.add("Resource", f"Express state machines do not support the '{pattern}' integration")


def _check_credentials(ctx: StateCtx) -> None:
    if not check_object(ctx, "Credentials"):
        return
    credentials: dict[str, Any] = ctx.state["Credentials"]
    allowed = {"RoleArn"} if ctx.jsonata else {"RoleArn", "RoleArn.$"}
    if not allowed & credentials.keys():
        ctx.add("Credentials", "field 'RoleArn' is required in Credentials")
    for name in credentials:
        if name not in allowed:
            ctx.scope.add(child(ctx.at("Credentials"), name), f"field '{name}' is not supported")
    if not ctx.jsonata:
        check_template(ctx.scope, ctx.at("Credentials"), credentials)


def check_task(ctx: StateCtx) -> None:
    """Task: resource, timeouts and heartbeats, credentials."""
    _check_resource(ctx)
    check_exclusive(ctx, "TimeoutSeconds", "TimeoutSecondsPath")
    check_exclusive(ctx, "HeartbeatSeconds", "HeartbeatSecondsPath")
    check_integer(ctx, "TimeoutSeconds", 1, MAX_SECONDS)
    check_integer(ctx, "HeartbeatSeconds", 1, MAX_SECONDS)
    for name in ("TimeoutSecondsPath", "HeartbeatSecondsPath"):
        _check_path_field(ctx, name, nullable=False, reference=False)
    timeout, heartbeat = ctx.state.get("TimeoutSeconds"), ctx.state.get("HeartbeatSeconds")
    if (
        isinstance(timeout, int | float)
        and isinstance(heartbeat, int | float)
        and heartbeat >= timeout
    ):
        ctx.add("HeartbeatSeconds", "HeartbeatSeconds must be smaller than TimeoutSeconds")
    _check_credentials(ctx)
