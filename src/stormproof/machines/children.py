"""Executions that another execution waits for: ``startExecution.sync`` and distributed Map
children.

A child row's ``parent`` column is its *link*: ``{"execution", "task", "mode"}``, the
parent's ARN and the request id its outcome is reported under. When the child closes, the
step that closes it also enqueues that outcome as a step of the parent (same unit of
work), so the parent learns of it exactly when it happened.

A distributed Map's children (see :mod:`stormproof.core.asl.map_run`) are started in the
unit of work of the parent step that asked for them, each with its first step message.
Stopping and redriving them are *control messages* on the child
(:mod:`stormproof.machines.step_messages`), applied by the step consumer with the child's own
compare-and-set, never by the parent writing the child's row:

- ``x`` (stop): abort the child if it still reports to that request id;
- ``r`` (redrive): point the child at a new request id, and resume it if it had failed,
  timed out or been aborted; a child that succeeded meanwhile reports at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from stormproof.core.asl import map_run
from stormproof.core.asl.interpreter import ExecState, StartContext, start
from stormproof.core.step_plan import new_runtime
from stormproof.machines.records import (
    ACCOUNT,
    REDRIVABLE,
    REGION,
    dumps,
    machine_arn,
    to_datetime,
)
from stormproof.machines.step_messages import (
    EXECUTION,
    STEPS_QUEUE,
    Action,
    control_op,
    message,
    step_op,
)
from stormproof.storage.base import Enqueue, Operation
from stormproof.storage.machine_ops import ExecutionRow, InsertChildren

MAP_MODE = "map"


def link_of(row: ExecutionRow) -> dict[str, Any] | None:
    """The parent link of ``row`` (None for a top-level execution)."""
    link: dict[str, Any] | None = json.loads(row.parent) if row.parent else None
    return link


def spawn_ops(
    parent: ExecutionRow, state: ExecState, requests: list[dict[str, Any]], now: float
) -> list[Operation]:
    """Start (or redrive) the child executions distributed Map ``requests`` ask for: one
    batched insert and one batch of first steps, however many children."""
    rows: list[dict[str, Any]] = []
    ops: list[Operation] = []
    for request in requests:
        arn = map_run.child_arn(parent.id, request)
        link = {"execution": parent.id, "task": request["id"], "mode": MAP_MODE}
        if "redrive" in request:
            ops.append(control_op(arn, relink=link))
        else:
            rows.append(_child_row(arn, link, state, request, now))
    if rows:
        ops.append(InsertChildren(rows))
        ops.append(Enqueue(STEPS_QUEUE, [message({EXECUTION: row["id"]}) for row in rows]))
    return ops


def _child_row(
    arn: str, link: dict[str, Any], state: ExecState, request: dict[str, Any], now: float
) -> dict[str, Any]:
    definition = map_run.child_definition(state["definition"], request["block"])
    context = StartContext(
        start_time=to_datetime(now),
        execution_name=request["name"],
        state_machine_name=request["machine"],
        region=REGION,
        account=ACCOUNT,
        role_arn=str(state.get("role_arn", "")),
    )
    child = start(definition, request["input"], context)
    return {
        "id": arn,
        "machine": request["machine"],
        "name": request["name"],
        "input": dumps(request["input"]),
        "definition": dumps(definition),
        "start_time": now,
        "state": dumps({k: v for k, v in child.items() if k != "definition"}),
        "runtime": dumps(new_runtime()),
        "parent": dumps(link),
        "map_run": request["map_run"],
    }


def stop_ops(stop: list[tuple[str, str]]) -> list[Operation]:
    """Control messages stopping children nobody waits for any more."""
    return [control_op(arn, stop=request_id) for arn, request_id in stop]


def parent_outcome(
    link: dict[str, Any],
    row: ExecutionRow,
    status: str,
    result: tuple[Any, str | None, str | None],
    now: float,
) -> Enqueue:
    """The step of the parent that reports ``row``'s end (``result``: output, error, cause)."""
    if link.get("mode") == MAP_MODE:
        outcome = _map_outcome(status, result)
    else:
        outcome = _sync_outcome(link, row, status, result, now)
    return step_op(link["execution"], work={link["task"]: outcome})


def _map_outcome(status: str, result: tuple[Any, str | None, str | None]) -> dict[str, Any]:
    """A Map Run child's outcome: its output, or its error and cause."""
    output, error, cause = result
    if status == "SUCCEEDED":
        return {"output": output}
    if error is None and status == "TIMED_OUT":
        error = "States.Timeout"
    return {"error": error, "cause": cause}


def _sync_outcome(
    link: dict[str, Any],
    row: ExecutionRow,
    status: str,
    result: tuple[Any, str | None, str | None],
    now: float,
) -> dict[str, Any]:
    """A ``startExecution.sync`` task's outcome: the child's ``DescribeExecution``."""
    output, error, cause = result
    v2 = link.get("mode") == "sync:2"
    described: dict[str, Any] = {
        "ExecutionArn": row.id,
        "Input": json.loads(row.input) if v2 else row.input,
        "InputDetails": {"Included": True},
        "Name": row.name,
        "StartDate": int(row.start_time * 1000),
        "StateMachineArn": machine_arn(row.machine),
        "Status": status,
        "StopDate": int(now * 1000),
    }
    if status == "SUCCEEDED":
        described["Output"] = output if v2 else dumps(output)
        described["OutputDetails"] = {"Included": True}
        return {"output": described}
    for key, value in (("Error", error), ("Cause", cause)):
        if value is not None:
            described[key] = value
    return {"error": "States.TaskFailed", "cause": dumps(described)}


@dataclass(frozen=True)
class Control:
    """What the control messages claimed for one execution ask of it."""

    relink: dict[str, Any] | None
    stops: frozenset[str]

    def new_link(self, row: ExecutionRow) -> dict[str, Any] | None:
        """The parent link ``row`` must take (None: it keeps its own)."""
        link = link_of(row) or {}
        if self.relink is None or self.relink.get("task") == link.get("task"):
            return None
        return self.relink

    def decide(self, row: ExecutionRow) -> Action:
        """What to do with ``row`` (see :class:`~stormproof.machines.step_messages.Action`)."""
        link = link_of(row) or {}
        relink = self.new_link(row) is not None
        if relink and row.status in REDRIVABLE:
            return Action.REDRIVE
        if relink and row.status != "RUNNING":
            return Action.NOTIFY
        if row.status != "RUNNING":
            return Action.SKIP
        if not relink and link.get("task") in self.stops:
            return Action.ABORT
        return Action.STEP
