"""The task consumer: runs the Task states of executions, at least once.

A step that enters a Task state commits one message on ``_sfn-tasks`` with the task
request. This consumer claims it, runs the resource (:mod:`stormproof.machines.integrations`)
while a keep-alive extends the message's lease, and then commits in one unit of work: the
deletion of the task message, the outcome as a step message, and any message the task
sends (``sqs:sendMessage``). A worker killed while a task runs stops extending the lease;
the message reappears and the task runs again (at-least-once, never skipped). A task whose
execution has closed, or whose outcome is already in, is dropped without running.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from stormproof.core.step_plan import task_pending
from stormproof.engine import tracing
from stormproof.engine.consumer import IDLE_WAIT
from stormproof.engine.slots import honour_cancellation
from stormproof.errors import StaleLease, StormproofError
from stormproof.machines import transaction_tasks
from stormproof.machines.integrations import TaskResult, run_task
from stormproof.machines.step_messages import EXECUTION, INTERNAL, TASK, TASKS_QUEUE, step_op
from stormproof.machines.steps import StepConsumer
from stormproof.storage import machine_ops
from stormproof.storage.base import ChangeVisibility, ClaimedRow, Delete, Lease, Operation
from stormproof.storage.machine_ops import ExecutionRow

if TYPE_CHECKING:
    from stormproof.machines.services import ExecutionServices

log = logging.getLogger("stormproof.machines.executions")

Stepper = Callable[[Any], list[Operation]]
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
        rows = await self._claim(min(free, CLAIM_BATCH))
        if not rows:
            await self.manager.wait_for(TASKS_QUEUE, IDLE_WAIT)
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
        if loaded is None:
            execution = await self.manager.load(arn)
        else:
            execution = loaded.get(arn)
        if (
            execution is None
            or execution.status != "RUNNING"
            or not task_pending(json.loads(execution.runtime), request["id"])
        ):
            await store.apply([Delete(TASKS_QUEUE, [lease])])
            return
        keeper = asyncio.get_running_loop().create_task(self._keep(lease))
        try:
            result = await run_task(self.manager, execution, request)
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError, StormproofError):
                await keeper
        if result.transaction is not None:
            stepper = self._stepper(execution, request["id"])
            bound = result.transaction
            await transaction_tasks.commit(
                store, lease, arn, request["id"], bound, result.ops, step=stepper
            )
            return
        await self._commit(execution, lease, request["id"], result)

    def _stepper(self, execution: ExecutionRow, task_id: str) -> Stepper:
        """The next step's operations given the task's output (transaction tasks)."""
        steps = self.steps

        def step(output: Any) -> list[Operation]:
            return steps.outcome_ops(execution, task_id, {"output": output})

        return step

    async def _commit(
        self, execution: ExecutionRow, lease: Lease, task_id: str, result: TaskResult
    ) -> None:
        """Delete the task message and take the next step, in one unit: the execution read
        before the task ran is stepped with the outcome at once. Only when it moved on
        meanwhile (another branch's step) does the outcome go as a step message."""
        store, arn = self.manager.app.store, execution.id
        done: list[Operation] = [Delete(TASKS_QUEUE, [lease]), *result.ops]
        if result.outcome is not None:
            step = self.steps.outcome_ops(execution, task_id, result.outcome)
            if step:
                try:
                    await store.apply([*step, *done], atomic=True)
                except StaleLease as exc:
                    if exc.index == len(step):  # the Delete: another worker has the task
                        _lost(arn, task_id)
                        return
                else:
                    self.steps.committed(execution, step)
                    return
            done.append(step_op(arn, work={task_id: result.outcome}))
        try:
            await store.apply(done, atomic=True)
        except StaleLease:
            _lost(arn, task_id)

    async def _keep(self, lease: Lease) -> None:
        """Extend the task message's lease while the task runs."""
        clock, store = self.manager.app.clock, self.manager.app.store
        while True:
            await clock.sleep(self.visibility / 3)
            await store.apply([ChangeVisibility(TASKS_QUEUE, [lease], [self.visibility])])


def _lost(arn: str, task_id: str) -> None:
    log.warning("event=tasks.lease_lost execution=%s task=%s", arn, task_id)
