"""What a Task state's ``Resource`` runs: functions and the service integrations.

- a key of the machine's ``resources``, a registered function's name, or a Lambda ARN
  naming one: the function runs with the task input; its return value is the result;
- ``arn:aws:states:::lambda:invoke``: ``FunctionName`` and ``Payload``; the result is
  ``{"ExecutedVersion", "Payload", "StatusCode"}``;
- ``arn:aws:states:::sqs:sendMessage``: ``QueueUrl`` (a URL or a queue name),
  ``MessageBody``, ``DelaySeconds``, ``MessageGroupId``, ``MessageDeduplicationId``; the
  message commits in the same transaction as the task's outcome (exactly once);
- ``arn:aws:states:::events:putEvents``: ``Entries`` published on the app's buses;
- ``arn:aws:states:::states:startExecution`` (``.sync``, ``.sync:2``): a child execution;
  the ``.sync`` forms complete when the child closes;
- any of these with ``.waitForTaskToken``: the call is made, then the task waits for
  ``send_task_success``/``failure`` with ``$$.Task.Token``.

A Python exception raised by a task becomes ``Error`` = its class name and ``Cause`` = its
message (an exception with ``error``/``cause`` attributes sets them itself).
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import json
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from stormproof.core import queue_rules as rules
from stormproof.errors import (
    ExecutionAlreadyExists,
    FunctionError,
    QueueDoesNotExist,
    StormproofError,
    Throttled,
)
from stormproof.functions.transactions import Bound
from stormproof.machines.records import dumps, iso_time
from stormproof.machines.transaction_tasks import deferred
from stormproof.storage import machine_ops
from stormproof.storage.base import Enqueue, Operation
from stormproof.storage.machine_ops import ExecutionRow

if TYPE_CHECKING:
    from stormproof.machines.services import ExecutionServices

WAIT_TOKEN = ".waitForTaskToken"
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
SQS_SEND = "arn:aws:states:::sqs:sendMessage"
PUT_EVENTS = "arn:aws:states:::events:putEvents"
START_EXECUTION = "arn:aws:states:::states:startExecution"
_INTEGRATIONS = ("arn:aws:states:::", "arn:stormproof:")


class TaskError(Exception):
    """A task failed with an ASL error name and cause."""

    def __init__(self, error: str | None, cause: str | None) -> None:
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause


@dataclass
class TaskResult:
    """A task's outcome (None: it completes later) and operations to commit with it."""

    outcome: dict[str, Any] | None
    ops: list[Operation] = field(default_factory=list)
    #: A transaction to run inside the unit that commits the outcome (transaction_tasks).
    transaction: Bound | None = None


async def run_task(
    manager: ExecutionServices, execution: ExecutionRow, request: dict[str, Any]
) -> TaskResult:
    """Run one task request; failures become ``{"error", "cause"}`` outcomes."""
    resource = str(request["resource"])
    waits = resource.endswith(WAIT_TOKEN)
    base = resource.removesuffix(WAIT_TOKEN)
    result = TaskResult(None)
    try:
        await _dispatch(manager, execution, request, base, result)
    except TaskError as exc:
        return TaskResult({"error": exc.error, "cause": exc.cause})
    except Exception as exc:  # a task may fail any way at all: it is the task's failure
        return TaskResult(error_outcome(exc))
    if waits:
        result.outcome = None
    return result


def error_outcome(exc: BaseException) -> dict[str, Any]:
    """``{"error", "cause"}`` for an exception raised by a task."""
    error = getattr(exc, "error", None)
    if isinstance(error, str):
        cause = getattr(exc, "cause", None)
        return {"error": error, "cause": None if cause is None else str(cause)}
    return {"error": type(exc).__name__, "cause": str(exc)}


async def _dispatch(
    manager: ExecutionServices,
    execution: ExecutionRow,
    request: dict[str, Any],
    base: str,
    result: TaskResult,
) -> None:
    # A distributed Map's child runs "<machine>/<Map>": its tasks use the machine's resources.
    machine = await manager.machine(execution.machine.split("/", 1)[0])
    value = request["input"]
    result.transaction = deferred(manager.functions.transactions, machine.resources, base, value)
    if result.transaction is not None:
        return
    if base in machine.resources:
        result.outcome = {"output": await call(machine.resources[base], value)}
    elif base == LAMBDA_INVOKE:
        params = _object(value, base)
        function = _lookup(manager, machine.resources, str(params.get("FunctionName", "")))
        payload = await call(function, params.get("Payload"))
        output = {"ExecutedVersion": "$LATEST", "Payload": payload, "StatusCode": 200}
        result.outcome = {"output": output}
    elif base == SQS_SEND:
        await _sqs_send(manager, _object(value, base), result)
    elif base == PUT_EVENTS:
        result.outcome = {"output": await _put_events(manager, _object(value, base))}
    elif base.startswith(START_EXECUTION):
        await _start_execution(manager, execution, request, base, result)
    else:
        function = _lookup(manager, machine.resources, base)
        result.outcome = {"output": await call(function, value)}


def is_local(
    manager: ExecutionServices, resources: dict[str, Any], resource: str, value: Any
) -> bool:
    """Whether a Task ``resource`` is a plain function of this app, called with its input
    and finished when it returns (see :mod:`stormproof.machines.inline_tasks`)."""
    if resource.endswith(WAIT_TOKEN) or resource.startswith(
        ("arn:aws:states:::", "arn:stormproof:")
    ):
        return False
    if deferred(manager.functions.transactions, resources, resource, value) is not None:
        return False
    try:
        _lookup(manager, resources, resource)
    except TaskError:
        return False
    return True


def _object(value: Any, resource: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TaskError("States.Runtime", f"{resource} needs an object of parameters")
    return value


def _lookup(manager: ExecutionServices, resources: dict[str, Any], name: str) -> Any:
    """A function by resource key, registered name, or Lambda ARN."""
    if name in resources:
        return resources[name]
    short = name.split(":function:", 1)[1].split(":", 1)[0] if ":function:" in name else name
    if short in resources:
        return resources[short]
    try:
        return manager.functions.get(short)
    except LookupError:
        raise TaskError(
            "States.TaskFailed", f"no function or resource named {name!r} in this app"
        ) from None


async def call(function: Any, value: Any) -> Any:
    """Run a Function (timeout, reserved concurrency) or a plain callable with ``value``."""
    if getattr(function, "is_stormproof_function", False):
        try:
            return await function.invoke(value)
        except FunctionError as exc:
            raise TaskError(exc.error_type, exc.error_message) from exc
        except Throttled as exc:
            raise TaskError("Lambda.TooManyRequestsException", str(exc)) from exc
    if inspect.iscoroutinefunction(function):
        return await function(value)
    outcome = await asyncio.to_thread(function, value)
    if inspect.isawaitable(outcome):
        return await outcome
    return outcome


async def _sqs_send(manager: ExecutionServices, params: dict[str, Any], result: TaskResult) -> None:
    name = str(params.get("QueueUrl", "")).rstrip("/").rsplit("/", 1)[-1]
    try:
        queue = await manager.queues.get(name)
        attrs = queue.attributes
        body = params.get("MessageBody")
        text = body if isinstance(body, str) else dumps(body)
        message = rules.prepare_message(
            attrs,
            text,
            params.get("DelaySeconds"),
            None,
            params.get("MessageGroupId"),
            params.get("MessageDeduplicationId"),
        )
    except QueueDoesNotExist as exc:
        raise TaskError("SQS.QueueDoesNotExistException", str(exc)) from exc
    except StormproofError as exc:
        raise TaskError("SQS.SqsException", str(exc)) from exc
    message_id = str(uuid.uuid4())
    result.ops.append(Enqueue(name, [message], attrs.dedup_window, attrs.fifo))
    digest = hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()
    result.outcome = {"output": {"MessageId": message_id, "MD5OfMessageBody": digest}}


async def _put_events(manager: ExecutionServices, params: dict[str, Any]) -> dict[str, Any]:
    entries = params.get("Entries")
    if not isinstance(entries, list) or not entries:
        raise TaskError("EventBridge.ValidationException", "Entries must be a non-empty list")
    by_bus: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        bus = str(entry.get("EventBusName") or "default").rsplit("/", 1)[-1]
        by_bus.setdefault(bus, []).append(
            {
                "source": entry.get("Source"),
                "detail_type": entry.get("DetailType"),
                "detail": entry.get("Detail"),
                "resources": entry.get("Resources") or [],
            }
        )
    out: list[dict[str, Any]] = []
    for bus, items in by_bus.items():
        try:
            answer = await manager.buses.bus(bus).put_events(items)
        except StormproofError as exc:
            raise TaskError("EventBridge.EventBridgeException", str(exc)) from exc
        for e in answer.entries:
            out.append({"EventId": e.event_id} if e.event_id else {"ErrorCode": e.error_code})
    failed = sum(1 for e in out if "ErrorCode" in e)
    return {"Entries": out, "FailedEntryCount": failed}


async def _start_execution(
    manager: ExecutionServices,
    execution: ExecutionRow,
    request: dict[str, Any],
    base: str,
    result: TaskResult,
) -> None:
    params = _object(request["input"], base)
    mode = base.removeprefix(START_EXECUTION).lstrip(".")
    child_input = params.get("Input")
    if isinstance(child_input, str):
        try:
            child_input = json.loads(child_input)
        except ValueError:
            pass
    # A name derived from the task makes a re-run after a crash find the same child.
    name = (
        params.get("Name") or uuid.uuid5(uuid.NAMESPACE_URL, f"{execution.id}#{request['id']}").hex
    )
    parent = None
    if mode in ("sync", "sync:2"):
        parent = dumps({"execution": execution.id, "task": request["id"], "mode": mode})
    machine = str(params.get("StateMachineArn", ""))
    try:
        arn = await manager.start_execution(machine, child_input, name, parent=parent)
    except ExecutionAlreadyExists:
        arn = await _child_arn(manager, machine, str(name), parent)
    if parent is None:
        started = await manager.describe_execution(arn)
        result.outcome = {
            "output": {"ExecutionArn": arn, "StartDate": iso_time(started.start_time)}
        }


async def _child_arn(
    manager: ExecutionServices, machine: str, name: str, parent: str | None
) -> str:
    """The child a previous run of this task already started (or a real name clash)."""
    found = await manager.machine(machine)
    row = await manager.app.store.run(lambda: machine_ops.execution_by_name(found.name, name))
    if row is not None and row.parent == parent:
        return row.id
    raise TaskError("StepFunctions.ExecutionAlreadyExistsException", name)
