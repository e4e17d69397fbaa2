"""Transaction Tasks run inside the step that enters them: one unit for the whole hop.

When a step enters a Task state whose ``Resource`` is a transaction
(:func:`~stormproof.machines.transaction_tasks.deferred`: ``@app.transaction`` or
``sql:execute``) and dispatches no other task, the step consumer enqueues no task
message. Its one unit of work, one store transaction, holds:

1. the step itself, as the unit's *guard*: the execution saved at its expected version
   (Before), its timer, the deletion of the claimed step messages. A replayed step message
   whose step committed (a crash after the commit, a lost COMMIT) finds the version moved
   or its lease stale and stops there, before the function runs again;
2. the transaction, in a SAVEPOINT of its own: its failure (its exception, its budget:
   ``States.Timeout``) rolls back only its writes;
3. the next step taken with the outcome, output or error, on the execution as step 1
   saved it (After, the close): Retry and Catch see a failure as they see any task's. A
   Retry's delay is a timer message, as ever; a retry without one goes through the task
   queue (:mod:`stormproof.machines.transaction_tasks`).

So the hop costs two units (the step's claim and its commit) against the task path's
five. The hop enqueues no timer for its own Task's ``TimeoutSeconds`` (the task ends in
the unit that starts it, and AWS's default timeout is 99,999,999 s: a message per
execution lying on the step queue for three years): the step after the Task plans the
timer the execution still needs, knowing which timer messages really exist.

A transaction whose budget exceeds a third of the step message's visibility goes through
the task queue instead, whose consumer extends its lease while it runs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from stormproof.errors import StaleLease
from stormproof.functions.transactions import Bound
from stormproof.machines.inline_tasks import saved_row
from stormproof.machines.integrations import WAIT_TOKEN, error_outcome
from stormproof.machines.records import dumps
from stormproof.machines.step_messages import (
    EXECUTION,
    FIRED,
    STEP_VISIBILITY,
    STEPS_QUEUE,
    TASK,
    TASKS_QUEUE,
)
from stormproof.machines.transaction_tasks import deferred
from stormproof.storage.base import Delete, Enqueue, Operation, OpResult, Store
from stormproof.storage.machine_ops import ExecutionRow, SaveExecution
from stormproof.storage.program import Dialect, Program
from stormproof.storage.transaction_ops import RunTransaction

if TYPE_CHECKING:
    from stormproof.machines.services import ExecutionServices

#: The next step of an execution given one task's outcome (``StepConsumer.outcome_ops``).
OutcomeStep = Callable[[ExecutionRow, str, dict[str, Any]], list[Operation]]
MAX_BUDGET = STEP_VISIBILITY / 3


class VersionMoved(StaleLease):
    """The execution was stepped elsewhere while the hop ran: the unit rolls back."""


@dataclass(frozen=True)
class HopSave:
    """The hop's one save of the execution (both steps' history), after the function:
    a version that moved raises :class:`VersionMoved`, told apart from the guard's lease."""

    save: SaveExecution

    def program(self, dialect: Dialect) -> Program[OpResult]:
        """The save; a stale version raises."""
        result = yield from self.save.program(dialect)
        if not result.ok:
            raise VersionMoved(f"execution {self.save.id} moved past {self.save.expected}", 0)
        return result

    def is_stale(self, result: OpResult) -> bool:
        """Never: the program raises instead."""
        return False


@dataclass
class Hop:
    """A step with its transaction Task: what it commits and what it committed."""

    #: The execution as the step read it.
    row: ExecutionRow
    bound: Bound
    #: The step's operations without the task message (its save first).
    before: list[Operation]
    task_id: str
    next_step: OutcomeStep
    #: The unit's operations after the function, as its last run made them (the one save
    #: of the execution first).
    after: list[Operation] = field(default_factory=list)

    async def apply(self, store: Store, done: Delete) -> None:
        """Commit the hop in one unit (``done``: the claimed messages' deletion). A stale
        unit raises ``StaleLease`` with index 0 when the execution's version moved, 1
        when the claimed messages' lease did, as ``[save, ..., done]`` would."""
        unit = RunTransaction(
            self.bound.run,
            self.bound.budget,
            lambda output: self._then({"output": output}),
            guard=[*self.before[1:], done],
            failed=lambda exc: self._then(error_outcome(exc)),
        )
        try:
            async with self.bound.capacity():
                await store.apply([unit], atomic=True)
        except VersionMoved as exc:
            raise StaleLease(str(exc), 0) from None
        except StaleLease as exc:
            raise StaleLease(str(exc), 1) from None

    def committed(self) -> list[Operation]:
        """What the hop committed, as one step's operations (the plain save first)."""
        save = self.after[0]
        assert isinstance(save, HopSave)
        return [save.save, *self.before[1:], *self.after[1:]]

    def _then(self, outcome: dict[str, Any]) -> Sequence[Operation]:
        first = self.before[0]
        assert isinstance(first, SaveExecution)
        ops = self.next_step(saved_row(self.row, self.before), self.task_id, outcome)
        second = ops[0]
        assert isinstance(second, SaveExecution)
        merged = replace(
            second,
            expected=first.expected,
            events=[*first.events, *second.events],
            parent=second.parent if second.parent is not None else first.parent,
        )
        self.after = [HopSave(merged), *ops[1:]]
        return self.after


async def plan(
    manager: ExecutionServices,
    row: ExecutionRow | None,
    ops: list[Operation],
    next_step: OutcomeStep,
    fired: Sequence[str] = (),
) -> Hop | None:
    """The hop of a step's unit ``ops`` if its one new task is a transaction, else None
    (``fired``: the timers the step's claimed messages fired)."""
    if row is None or not ops or not isinstance(save := ops[0], SaveExecution):
        return None
    if save.status != "RUNNING":
        return None
    tasks = [op for op in ops if isinstance(op, Enqueue) and op.queue == TASKS_QUEUE]
    if len(tasks) != 1 or len(tasks[0].messages) != 1:
        return None
    request = json.loads(tasks[0].messages[0].body)[TASK]
    resource = str(request["resource"])
    if resource.endswith(WAIT_TOKEN):
        return None
    machine = await manager.machine(row.machine.split("/", 1)[0])
    try:
        bound = deferred(
            manager.functions.transactions, machine.resources, resource, request["input"]
        )
    except Exception:  # a bad sql:execute: the task consumer reports it as the outcome
        return None
    if bound is None or bound.budget > MAX_BUDGET:
        return None
    before = [op for op in ops if op is not tasks[0]]
    return Hop(row, bound, _without_timer(row, before, fired), str(request["id"]), next_step)


def _without_timer(
    row: ExecutionRow, ops: list[Operation], fired: Sequence[str]
) -> list[Operation]:
    """``ops`` without the timer message the step planned, its save's ``timer_at`` set
    back to the timer that was already waiting (none if it just fired), so the step after
    the Task plans again whatever wake-up the execution still needs."""
    timer = next((op for op in ops if _is_timer(row.id, op)), None)
    save = ops[0]
    if timer is None or not isinstance(save, SaveExecution):
        return ops
    waiting = json.loads(row.runtime).get("timer_at")
    runtime = {**json.loads(save.runtime), "timer_at": None if waiting in fired else waiting}
    return [replace(save, runtime=dumps(runtime)), *(op for op in ops[1:] if op is not timer)]


def _is_timer(arn: str, op: Operation) -> bool:
    if not isinstance(op, Enqueue) or op.queue != STEPS_QUEUE or len(op.messages) != 1:
        return False
    body = json.loads(op.messages[0].body)
    return FIRED in body and body.get(EXECUTION) == arn
