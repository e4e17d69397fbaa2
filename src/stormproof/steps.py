"""The step consumer: advances executions, one durable message per step.

Every execution step is a message on the internal queue ``_sfn-steps``: a start, a task
outcome, or a timer (Wait states, retry backoff, deadlines; delivered by the message's
visibility, so a waiting execution costs no worker). One cycle claims a batch, loads the
executions it names in one read, and for each execution:

1. merges the outcomes of all its claimed messages and calls ``advance`` (consecutive
   Pass/Choice/Succeed/Fail states run in that one call);
2. commits, in **one unit of work**: the new state at the expected version with its
   history events, the deletion of the claimed messages, one message per new task (on
   ``_sfn-tasks``), the next timer message, and a parent's outcome when a ``.sync`` child
   closes.

A version conflict (another worker stepped the same execution first) rolls the unit back
and the step is replayed on the fresh row; a crash before the commit leaves the message to
reappear after its visibility timeout, so an execution resumes at the state it was in.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from stormproof.core.queue_rules import OutgoingMessage, QueueAttributes
from stormproof.errors import StaleLease, StormproofError
from stormproof.execution_records import dumps, machine_arn
from stormproof.step_plan import StepPlan, plan_step
from stormproof.storage import machine_ops
from stormproof.storage.base import ClaimedRow, Delete, Enqueue, Lease, Operation
from stormproof.storage.machine_ops import ExecutionRow, SaveExecution

if TYPE_CHECKING:
    from stormproof.executions import ExecutionManager

log = logging.getLogger("stormproof.executions")

STEPS_QUEUE = "_sfn-steps"
TASKS_QUEUE = "_sfn-tasks"
STEP_VISIBILITY = 30.0
#: Internal queues keep messages until consumed: a timer may lie years ahead.
INTERNAL = QueueAttributes(visibility_timeout=STEP_VISIBILITY, retention=1e12)
MAX_CONFLICTS = 20
IDLE_WAIT = 2.0


def message(body: dict[str, Any], delay: float = 0.0) -> OutgoingMessage:
    """An internal message (no SQS limits: a timer's delay may exceed 900 s)."""
    text = dumps(body)
    return OutgoingMessage(text, None, max(0.0, delay), None, None, len(text))


def step_op(arn: str, *, work: dict[str, Any] | None = None, delay: float = 0.0) -> Enqueue:
    """Enqueue a step of ``arn`` (with task outcomes ``work``), visible after ``delay``."""
    body: dict[str, Any] = {"e": arn}
    if work:
        body["w"] = work
    return Enqueue(STEPS_QUEUE, [message(body, delay)])


def check_cancelled() -> None:
    """Raise CancelledError if the current task was asked to stop (a driver may have turned
    the cancellation into an error of its own)."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def to_datetime(epoch: float) -> datetime:
    """Epoch seconds as an aware UTC datetime."""
    return datetime.fromtimestamp(epoch, UTC)


@dataclass
class _Claimed:
    rows: list[ClaimedRow]
    work: dict[str, dict[str, Any]]
    fired: list[str]


class StepConsumer:
    """Claims step messages in batches and advances their executions."""

    def __init__(self, manager: ExecutionManager, *, batch: int = 128, lanes: int = 2) -> None:
        self.manager = manager
        self.batch = batch
        self.lanes = lanes
        self.rng = random.Random()
        self.steps = 0

    async def run(self) -> None:
        """Poll forever (cancel to stop); ``lanes`` claim loops overlap claims and commits."""
        await asyncio.gather(*(self._lane() for _ in range(self.lanes)))

    async def _lane(self) -> None:
        while True:
            check_cancelled()  # the PostgreSQL driver may swallow a cancellation
            try:
                if not await self.poll_once():
                    await self.manager.wait_for(STEPS_QUEUE, IDLE_WAIT)
            except StormproofError:
                check_cancelled()
                log.exception("event=steps.error")
                await self.manager.app.clock.sleep(1.0)

    async def poll_once(self) -> int:
        """Claim one batch and process it; the number of messages claimed."""
        store = self.manager.app.store
        rows = await store.claim(STEPS_QUEUE, INTERNAL, self.batch, STEP_VISIBILITY)
        if rows:
            await self.process(rows)
        return len(rows)

    async def drain(self) -> int:
        """Process every visible step message (tests); how many were processed."""
        total = 0
        while n := await self.poll_once():
            total += n
        return total

    async def process(self, rows: list[ClaimedRow]) -> None:
        """Advance each execution named by the claimed messages, committing concurrently."""
        claimed: dict[str, _Claimed] = defaultdict(lambda: _Claimed([], {}, []))
        for row in rows:
            body = json.loads(row.body)
            entry = claimed[body["e"]]
            entry.rows.append(row)
            entry.work.update(body.get("w") or {})
            if "t" in body:
                entry.fired.append(body["t"])
        store = self.manager.app.store
        loaded = await store.run(lambda: machine_ops.load_executions(list(claimed)))
        await asyncio.gather(
            *(self._one(arn, entry, loaded.get(arn)) for arn, entry in claimed.items())
        )

    async def _one(self, arn: str, entry: _Claimed, row: ExecutionRow | None) -> None:
        store = self.manager.app.store
        leases = [Lease(r.rowid, r.token) for r in entry.rows]
        for _ in range(MAX_CONFLICTS):
            if row is None or row.status != "RUNNING":
                await store.apply([Delete(STEPS_QUEUE, leases)])
                return
            now = self.manager.app.clock.now()
            plan = plan_step(
                self.manager.state_of(row),
                json.loads(row.runtime),
                to_datetime(now),
                self.rng,
                entry.work,
                entry.fired,
            )
            ops = [*plan_ops(row, plan, now), Delete(STEPS_QUEUE, leases)]
            try:
                await store.apply(ops, atomic=True)
            except StaleLease as exc:
                if exc.index != 0:
                    return  # our messages were claimed again elsewhere: that worker steps
                row = await self.manager.load(arn)
                continue
            self.steps += 1
            return
        log.warning("event=steps.conflict execution=%s", arn)


def save_op(row: ExecutionRow, plan: StepPlan, now: float) -> SaveExecution:
    """The compare-and-set of an execution after ``plan``."""
    state = plan.state
    finished = plan.finished
    return SaveExecution(
        id=row.id,
        expected=row.version,
        status=plan.status,
        state=dumps({k: v for k, v in state.items() if k != "definition"}),
        runtime=dumps(plan.runtime),
        output=dumps(state.get("output")) if plan.status == "SUCCEEDED" else None,
        error=state.get("error") if finished else None,
        cause=state.get("cause") if finished else None,
        stop_time=now if finished else None,
        redrive_count=int(state["context"]["Execution"].get("RedriveCount", row.redrive_count)),
        events=plan.events,
    )


def plan_ops(row: ExecutionRow, plan: StepPlan, now: float) -> list[Operation]:
    """The unit of work of a step: save, new task messages, the timer, a parent's outcome."""
    ops: list[Operation] = [save_op(row, plan, now)]
    if plan.dispatch:
        tasks = [message({"e": row.id, "task": request}) for request in plan.dispatch]
        ops.append(Enqueue(TASKS_QUEUE, tasks))
    if plan.timer is not None:
        at = plan.timer.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        delay = plan.timer.timestamp() - now
        ops.append(Enqueue(STEPS_QUEUE, [message({"e": row.id, "t": at}, delay)]))
    if plan.finished and row.parent:
        ops.append(parent_op(row, plan, now))
    return ops


def parent_op(row: ExecutionRow, plan: StepPlan, now: float) -> Enqueue:
    """The outcome of a ``startExecution.sync`` task, for the parent that waits on ``row``."""
    parent = json.loads(row.parent or "{}")
    state = plan.state
    v2 = parent.get("mode") == "sync:2"
    described: dict[str, Any] = {
        "ExecutionArn": row.id,
        "Input": json.loads(row.input) if v2 else row.input,
        "InputDetails": {"Included": True},
        "Name": row.name,
        "StartDate": int(row.start_time * 1000),
        "StateMachineArn": machine_arn(row.machine),
        "Status": plan.status,
        "StopDate": int(now * 1000),
    }
    if plan.status == "SUCCEEDED":
        output = state.get("output")
        described["Output"] = output if v2 else dumps(output)
        described["OutputDetails"] = {"Included": True}
        outcome: dict[str, Any] = {"output": described}
    else:
        for key in ("error", "cause"):
            if state.get(key) is not None:
                described[key.capitalize()] = state[key]
        outcome = {"error": "States.TaskFailed", "cause": dumps(described)}
    return step_op(parent["execution"], work={parent["task"]: outcome})
