"""The step consumer: advances executions, one durable message per step.

Every execution step is a message on the internal queue ``_sfn-steps``: a start, a task
outcome, or a timer (Wait states, retry backoff, deadlines; delivered by the message's
visibility, so a waiting execution costs no worker). One cycle claims a batch, loads the
executions it names in one read, and for each execution:

1. merges the outcomes of all its claimed messages and calls ``advance`` (consecutive
   Pass/Choice/Succeed/Fail states run in that one call);
2. commits, in **one unit of work**: the new state at the expected version with its
   history events, the deletion of the claimed messages, one message per new task (on
   ``_sfn-tasks``), the rows and first steps of new distributed-Map children, control
   messages for children to stop or redrive, the next timer message, and the outcome for
   the parent when a child (``.sync`` or Map) closes (:mod:`stormproof.machines.children`).
   When the one new task is a transaction, it runs in that unit instead of getting a
   message, and the step after it too (:mod:`stormproof.machines.step_transactions`).

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
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from stormproof.core.step_plan import StepPlan, new_runtime, plan_abort, plan_step, redrive
from stormproof.engine import events, tracing
from stormproof.engine.consumer import IDLE_WAIT
from stormproof.engine.slots import honour_cancellation
from stormproof.errors import StaleLease, StormproofError
from stormproof.machines import step_transactions
from stormproof.machines.children import Control, link_of, parent_outcome, spawn_ops, stop_ops
from stormproof.machines.records import dumps, to_datetime
from stormproof.machines.step_messages import (
    EXECUTION,
    FIRED,
    INTERNAL,
    RELINK,
    STEP_VISIBILITY,
    STEPS_QUEUE,
    STOP,
    TASK,
    TASKS_QUEUE,
    WORK,
    Action,
    message,
)
from stormproof.storage import machine_ops
from stormproof.storage.base import ClaimedRow, Delete, Enqueue, Lease, Operation
from stormproof.storage.machine_ops import ExecutionRow, SaveExecution
from stormproof.storage.request_ops import outcome_ops

if TYPE_CHECKING:
    from stormproof.machines.services import ExecutionServices

log = logging.getLogger("stormproof.machines.executions")

MAX_CONFLICTS = 20  # an execution's version moved under us this often: give up


@dataclass
class _Claimed:
    rows: list[ClaimedRow] = field(default_factory=list)
    work: dict[str, dict[str, Any]] = field(default_factory=dict)
    fired: list[str] = field(default_factory=list)
    relink: dict[str, Any] | None = None
    stops: set[str] = field(default_factory=set)

    def add(self, row: ClaimedRow) -> None:
        body = json.loads(row.body)
        self.rows.append(row)
        self.work.update(body.get(WORK) or {})
        if FIRED in body:
            self.fired.append(body[FIRED])
        if RELINK in body:
            self.relink = body[RELINK]
        if STOP in body:
            self.stops.add(body[STOP])


class StepConsumer:
    """Claims step messages in batches and advances their executions."""

    def __init__(self, manager: ExecutionServices, *, batch: int = 128, lanes: int = 2) -> None:
        self.manager = manager
        self.batch = batch
        self.lanes = lanes
        self.rng = random.Random()
        self.steps = 0
        #: How long a claimed step stays invisible (a dead worker's steps reappear after it).
        self.visibility = STEP_VISIBILITY

    async def run(self) -> None:
        """Poll forever (cancel to stop); ``lanes`` claim loops overlap claims and commits."""
        await asyncio.gather(*(self._lane() for _ in range(self.lanes)))

    async def _lane(self) -> None:
        while True:
            honour_cancellation()  # the PostgreSQL driver may swallow a cancellation
            try:
                # The mark before the claim: a send's wake-up that comes between an
                # empty claim and the nap's waiter still ends the nap (no lost wake-up).
                mark = self.manager.app.store.wake_mark([STEPS_QUEUE])
                if not await self.poll_once():
                    await self.manager.wait_for(STEPS_QUEUE, IDLE_WAIT, since=mark)
            except StormproofError:
                honour_cancellation()
                log.exception("event=steps.error")
                await self.manager.app.clock.sleep(1.0)

    async def poll_once(self) -> int:
        """Claim one batch and process it; the number of messages claimed."""
        store = self.manager.app.store
        rows = await store.claim(STEPS_QUEUE, INTERNAL, self.batch, self.visibility)
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
        claimed: dict[str, _Claimed] = defaultdict(_Claimed)
        for row in rows:
            claimed[json.loads(row.body)[EXECUTION]].add(row)
        store = self.manager.app.store
        loaded = await store.run(lambda: machine_ops.load_executions(list(claimed)))
        await asyncio.gather(
            *(self._traced(arn, entry, loaded.get(arn)) for arn, entry in claimed.items())
        )

    async def _traced(self, arn: str, entry: _Claimed, row: ExecutionRow | None) -> None:
        with tracing.processing_rows(STEPS_QUEUE, entry.rows):
            await self._one(arn, entry, row)

    async def _one(self, arn: str, entry: _Claimed, row: ExecutionRow | None) -> None:
        store = self.manager.app.store
        done = Delete(STEPS_QUEUE, [Lease(r.rowid, r.token) for r in entry.rows])
        for _ in range(MAX_CONFLICTS):
            ops = [] if row is None else self._decide(row, entry)
            hop = await step_transactions.plan(
                self.manager, row, ops, self.outcome_ops, entry.fired
            )
            try:
                if hop is None:
                    await store.apply([*ops, done], atomic=True)
                else:
                    await hop.apply(store, done)
            except StaleLease as exc:
                if exc.index != 0:
                    return  # our messages were claimed again elsewhere: that worker steps
                row = await self.manager.load(arn)
                continue
            if hop is None:
                self.steps += 1
                _emit_saved(self.manager.app.name, row, ops)
            else:
                self.committed(hop.row, hop.committed())
            return
        log.warning("event=steps.conflict execution=%s", arn)

    def outcome_plan(
        self, row: ExecutionRow, task_id: str, outcome: dict[str, Any]
    ) -> tuple[StepPlan, float] | None:
        """The step consuming one task's outcome at once (and its time), for the task
        consumer to commit with the task message's deletion: one transaction for the
        outcome and the next step, no outcome message, no re-read. None when the
        execution no longer runs (the step consumer would skip it too)."""
        if row.status != "RUNNING":
            return None
        now = self.manager.app.clock.now()
        state, runtime = self.manager.state_of(row), json.loads(row.runtime)
        work = {task_id: outcome}
        return plan_step(state, runtime, to_datetime(now), self.rng, work, owned=True), now

    def outcome_ops(
        self, row: ExecutionRow, task_id: str, outcome: dict[str, Any]
    ) -> list[Operation]:
        """The unit of :meth:`outcome_plan` ([] when the execution no longer runs)."""
        planned = self.outcome_plan(row, task_id, outcome)
        return [] if planned is None else plan_ops(row, *planned)

    def committed(self, row: ExecutionRow, ops: list[Operation]) -> None:
        """Count a step another consumer committed, and emit its events."""
        self.steps += 1
        _emit_saved(self.manager.app.name, row, ops)

    def _decide(self, row: ExecutionRow, entry: _Claimed) -> list[Operation]:
        """The unit of work for the claimed messages of one execution (without their deletion)."""
        control = Control(entry.relink, frozenset(entry.stops))
        action = control.decide(row)
        now = self.manager.app.clock.now()
        if action is Action.SKIP:
            return []
        if action is Action.NOTIFY:
            result = (json.loads(row.output or "null"), row.error, row.cause)
            return [parent_outcome(entry.relink or {}, row, row.status, result, now)]
        state = self.manager.state_of(row)
        if action is Action.ABORT:
            plan = plan_abort(state, to_datetime(now), None, None, json.loads(row.runtime))
            return plan_ops(row, plan, now)
        runtime = json.loads(row.runtime)
        earlier: list[dict[str, Any]] = []
        if action is Action.REDRIVE:
            state, earlier = redrive(state, to_datetime(now))
            runtime = new_runtime()
        # ``state`` was parsed for this decision alone: the planner may advance it in place.
        plan = plan_step(
            state, runtime, to_datetime(now), self.rng, entry.work, entry.fired, owned=True
        )
        plan = replace(plan, events=[*earlier, *plan.events])
        return plan_ops(row, plan, now, control.new_link(row))


_FINISHED = {
    "SUCCEEDED": "execution.succeeded",
    "FAILED": "execution.failed",
    "TIMED_OUT": "execution.failed",
    "ABORTED": "execution.failed",
}


def _emit_saved(app: str, row: ExecutionRow | None, ops: list[Operation]) -> None:
    """``execution.state_entered`` per state entered and the finish, after the commit."""
    if row is None or not ops or not isinstance(save := ops[0], SaveExecution):
        return
    if not events.listening():
        return
    ids: dict[str, Any] = {"machine": row.machine, "execution_arn": row.id}
    for event in save.events:
        if str(event.get("type", "")).endswith("StateEntered"):
            name = (event.get("stateEnteredEventDetails") or {}).get("name")
            events.emit("execution.state_entered", app, state_name=name, **ids)
    if (finished := _FINISHED.get(save.status)) and row.status != save.status:
        events.emit(
            finished,
            app,
            status=save.status,
            error_type=save.error,
            error_message=save.cause,
            input=row.input,
            start_time=row.start_time,
            stop_time=save.stop_time,
            redrive_count=save.redrive_count,
            **ids,
        )


def save_op(
    row: ExecutionRow, plan: StepPlan, now: float, relink: dict[str, Any] | None = None
) -> SaveExecution:
    """The compare-and-set of an execution after ``plan`` (``relink``: a new parent link)."""
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
        parent=None if relink is None else dumps(relink),
    )


def plan_ops(
    row: ExecutionRow, plan: StepPlan, now: float, relink: dict[str, Any] | None = None
) -> list[Operation]:
    """The unit of work of a step: save, new task messages, child executions to start or
    stop, the timer, and the outcome for a parent that waits on this execution."""
    ops: list[Operation] = [save_op(row, plan, now, relink)]
    if plan.dispatch:
        tasks = [message({EXECUTION: row.id, TASK: request}) for request in plan.dispatch]
        ops.append(Enqueue(TASKS_QUEUE, tasks))
    ops.extend(spawn_ops(row, plan.state, plan.spawn, now))
    ops.extend(stop_ops(plan.stop))
    if plan.timer is not None:
        at = plan.timer.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        delay = plan.timer.timestamp() - now
        ops.append(Enqueue(STEPS_QUEUE, [message({EXECUTION: row.id, FIRED: at}, delay)]))
    link = relink or link_of(row)
    if plan.finished and link is not None:
        state = plan.state
        result = (state.get("output"), state.get("error"), state.get("cause"))
        ops.append(parent_outcome(link, row, plan.status, result, now))
    ops.extend(request_ops(row, plan, now))
    return ops


def request_ops(row: ExecutionRow, plan: StepPlan, now: float) -> list[Operation]:
    """The front-door request record of an execution started by a POST (its name is the
    request id): ``running`` at its first step, final when it closes, in the step's unit."""
    if plan.finished:
        state = plan.state
        if plan.status == "SUCCEEDED":
            return [*outcome_ops(row.name, "succeeded", now, result=state.get("output"))]
        error = {"error": state.get("error"), "cause": state.get("cause")}
        return [*outcome_ops(row.name, "failed", now, error=error)]
    if row.version == 1:  # the execution's first step (versions start at 1)
        return [*outcome_ops(row.name, "running", now)]
    return []
