"""The task consumer: runs the Task states of executions, at least once.

A step that enters a Task state commits one message on ``_sfn-tasks`` with the task
request. This consumer claims it, runs the resource (:mod:`stormproof.machines.integrations`)
while a keep-alive extends the message's lease, and then commits in one unit of work: the
deletion of the task message, the execution's next step taken with the outcome (on the
execution read before the task ran: no outcome message, no second read), and any message
the task sends (``sqs:sendMessage``). Only if the execution moved on meanwhile (another
branch's step) does the outcome go as a step message instead. When the next step's one
new task is a local function, it runs at once under the same message
(:mod:`stormproof.machines.inline_tasks`). A worker killed while a task runs stops
extending the lease; the message reappears and the task runs again (at-least-once, never
skipped). A task whose execution has closed, or whose outcome is already in, is dropped
without running.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import TYPE_CHECKING, Any

from stormproof.core.step_plan import task_pending
from stormproof.engine import tracing
from stormproof.engine.consumer import IDLE_WAIT
from stormproof.engine.slots import honour_cancellation
from stormproof.engine.waiting import nap_until_visible
from stormproof.errors import StaleLease, StormproofError
from stormproof.machines import inline_tasks, transaction_tasks
from stormproof.machines.integrations import TaskResult, run_task
from stormproof.machines.outcome_batches import OutcomeBatches
from stormproof.machines.step_messages import EXECUTION, INTERNAL, TASK, TASKS_QUEUE, step_op
from stormproof.machines.steps import StepConsumer, plan_ops
from stormproof.storage import machine_ops
from stormproof.storage.base import ChangeVisibility, ClaimedRow, Delete, Lease, Operation
from stormproof.storage.machine_ops import ExecutionRow

if TYPE_CHECKING:
    from stormproof.machines.services import ExecutionServices

log = logging.getLogger("stormproof.machines.executions")

TASK_VISIBILITY = 60.0
CLAIM_BATCH = 32


class TaskConsumer:
    """Claims task messages as capacity allows and runs each as an asyncio task."""

    def __init__(
        self, manager: ExecutionServices, steps: StepConsumer, *, capacity: int = 64
    ) -> None:
        self.manager = manager
        #: Takes the step of each outcome, in the unit that deletes the task message.
        self.steps = steps
        self.capacity = capacity
        #: Lease of a running task's message, extended every third of it while it runs.
        self.visibility = TASK_VISIBILITY
        self.running: set[asyncio.Task[None]] = set()
        self._kick = asyncio.Event()
        self._shared: OutcomeBatches | None = None

    async def run(self) -> None:
        """Poll forever (cancel to stop)."""
        while True:
            honour_cancellation()  # the PostgreSQL driver may swallow a cancellation
            try:
                await self._cycle()
            except StormproofError:
                # A driver may turn a cancellation into its own error: honour the request.
                honour_cancellation()
                log.exception("event=tasks.error")
                await self.manager.app.clock.sleep(1.0)

    async def _cycle(self) -> None:
        free = self.capacity - len(self.running)
        if free <= 0:
            await asyncio.wait(set(self.running), return_when=asyncio.FIRST_COMPLETED)
            return
        # Cleared before the claim: a task message our own commits enqueue after it (the
        # next task of an execution) wakes the nap below, which a store notification
        # racing the nap's own first read can miss.
        self._kick.clear()
        store, clock = self.manager.app.store, self.manager.app.clock
        mark = store.wake_mark([TASKS_QUEUE])  # see nap_until_visible's ``since``
        rows = await self._claim(min(free, CLAIM_BATCH))
        if not rows:
            kick = self._kick.wait()
            await nap_until_visible(store, clock, TASKS_QUEUE, IDLE_WAIT, kick, since=mark)
            return
        loaded = await self._load(rows)
        for row in rows:
            task = asyncio.get_running_loop().create_task(self.perform(row, loaded))
            self.running.add(task)
            task.add_done_callback(self.running.discard)

    async def _load(self, rows: list[ClaimedRow]) -> dict[str, ExecutionRow]:
        """The executions the claimed task messages name, in one read."""
        arns = list(dict.fromkeys(json.loads(row.body)[EXECUTION] for row in rows))
        return await self.manager.app.store.run(lambda: machine_ops.load_executions(arns))

    async def _claim(self, n: int) -> list[ClaimedRow]:
        store = self.manager.app.store
        return await store.claim(TASKS_QUEUE, INTERNAL, n, self.visibility)

    async def drain(self) -> int:
        """Run every visible task to its end (tests); how many ran."""
        total = 0
        while rows := await self._claim(self.capacity):
            loaded = await self._load(rows)
            await asyncio.gather(*(self.perform(row, loaded) for row in rows))
            total += len(rows)
        return total

    async def close(self) -> None:
        """Cancel running tasks (their messages reappear after the lease)."""
        for task in list(self.running):
            task.cancel()
        for task in list(self.running):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def perform(self, row: ClaimedRow, loaded: dict[str, ExecutionRow] | None = None) -> None:
        """Run one claimed task and commit its outcome with the message's deletion
        (``loaded``: the executions already read for the claimed batch)."""
        with tracing.processing_rows(TASKS_QUEUE, [row]):
            await self._perform(row, loaded)

    async def _perform(self, row: ClaimedRow, loaded: dict[str, ExecutionRow] | None) -> None:
        store = self.manager.app.store
        body = json.loads(row.body)
        arn, request = body[EXECUTION], body[TASK]
        lease = Lease(row.rowid, row.token)
        execution = await self.manager.load(arn) if loaded is None else loaded.get(arn)
        if execution is not None and not self._pending(execution, request["id"]):
            request = inline_tasks.orphan(self.manager, execution, self.steps.rng)
        if execution is None or request is None:
            await store.apply([Delete(TASKS_QUEUE, [lease])])
            return
        keeper = asyncio.get_running_loop().create_task(self._keep(lease))
        try:
            await self._chain(execution, lease, request)
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError, StormproofError):
                await keeper

    @staticmethod
    def _pending(execution: ExecutionRow, task_id: str) -> bool:
        return execution.status == "RUNNING" and task_pending(
            json.loads(execution.runtime), task_id
        )

    async def _chain(self, execution: ExecutionRow, lease: Lease, request: dict[str, Any]) -> None:
        """Run the task, commit its outcome with the next step, and run the next task at
        once while it is a local function (:mod:`stormproof.machines.inline_tasks`)."""
        chained: tuple[ExecutionRow, dict[str, Any]] | None = (execution, request)
        for hops in range(inline_tasks.CHAIN_MAX, 0, -1):
            if chained is None:
                return
            execution, request = chained
            result = await run_task(self.manager, execution, request)
            if result.transaction is not None:
                await self._transaction(execution, lease, request["id"], result)
                return
            chained = await self._commit(execution, lease, request["id"], result, hops > 1)

    async def _transaction(
        self, execution: ExecutionRow, lease: Lease, task_id: str, result: TaskResult
    ) -> None:
        """Run a transaction task in the unit of its outcome and the next step."""
        steps, store = self.steps, self.manager.app.store
        assert result.transaction is not None

        def step(output: Any) -> list[Operation]:
            return steps.outcome_ops(execution, task_id, {"output": output})

        bound = result.transaction
        await transaction_tasks.commit(
            store, lease, execution.id, task_id, bound, result.ops, step=step
        )

    async def _commit(
        self, execution: ExecutionRow, lease: Lease, task_id: str, result: TaskResult, chain: bool
    ) -> tuple[ExecutionRow, dict[str, Any]] | None:
        """Delete the task message and take the next step, in one unit: the execution read
        before the task ran is stepped with the outcome at once (and, with ``chain``, the
        next task kept under this lease: the execution as saved and its request). Only when
        the execution moved on meanwhile does the outcome go as a step message."""
        store, arn = self.manager.app.store, execution.id
        done: list[Operation] = [Delete(TASKS_QUEUE, [lease]), *result.ops]
        if result.outcome is not None:
            planned = self.steps.outcome_plan(execution, task_id, result.outcome)
            if planned is not None:
                plan, now = planned
                inline = await inline_tasks.pick(self.manager, execution, plan) if chain else None
                if inline is not None:
                    plan = inline
                    keep = ChangeVisibility(TASKS_QUEUE, [lease], [self.visibility])
                    done[0] = keep
                step = plan_ops(execution, plan, now)
                try:
                    await self._batches().apply([*step, *done])
                except StaleLease as exc:
                    if exc.index == len(step):  # the message: another worker has the task
                        _lost(arn, task_id)
                        return None
                    done[0] = Delete(TASKS_QUEUE, [lease])
                else:
                    self.steps.committed(execution, step)
                    if plan.dispatch:
                        self._kick.set()
                    if inline is None:
                        return None
                    saved = inline_tasks.saved_row(execution, step)
                    return saved, inline_tasks.inline_request(plan)
            done.append(step_op(arn, work={task_id: result.outcome}))
        try:
            await store.apply(done, atomic=True)
        except StaleLease:
            _lost(arn, task_id)
        return None

    def _batches(self) -> OutcomeBatches:
        """Where outcome units go (made on first use: the store opens with the app)."""
        if self._shared is None:
            self._shared = OutcomeBatches(self.manager.app.store)
        return self._shared

    async def _keep(self, lease: Lease) -> None:
        """Extend the task message's lease while the task runs."""
        clock, store = self.manager.app.clock, self.manager.app.store
        while True:
            await clock.sleep(self.visibility / 3)
            await store.apply([ChangeVisibility(TASKS_QUEUE, [lease], [self.visibility])])


def _lost(arn: str, task_id: str) -> None:
    log.warning("event=tasks.lease_lost execution=%s task=%s", arn, task_id)
