"""Task states run at once by the task consumer that took the previous task's outcome.

A task's outcome steps its execution in the unit that deletes the task message
(:mod:`stormproof.machines.tasks`). When that step dispatches exactly one new task and
its resource is a function of this app (a key of the machine's ``resources``, a
registered function, or a Lambda ARN naming one; not a service integration, a
transaction or a ``.waitForTaskToken`` call), the consumer enqueues no message for it:
the unit *keeps* the message it holds (extends its visibility instead of deleting it),
records the new task as ``inline`` in the execution's bookkeeping, and the consumer runs
the task right away. Each task still commits its outcome with the next step in one unit
(one checkpoint per task, as before); what a chained task saves is a message insert, a
claim, a delete and a read of the execution.

A worker killed during an inline task stops extending the lease: the message reappears,
its own task is no longer pending, and the consumer that claims it runs the ``inline``
task instead (:func:`orphan`), so the task runs at least once, never skipped.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from stormproof.core.step_plan import INLINE, StepPlan, plan_step, task_pending
from stormproof.machines.integrations import is_local
from stormproof.machines.records import to_datetime
from stormproof.storage.base import Operation
from stormproof.storage.machine_ops import ExecutionRow, SaveExecution

if TYPE_CHECKING:
    from stormproof.machines.services import ExecutionServices

#: Tasks run one after another under one message before the next one is queued again
#: (so one long chain of Tasks cannot keep a consumer slot for ever).
CHAIN_MAX = 100


async def pick(manager: ExecutionServices, row: ExecutionRow, plan: StepPlan) -> StepPlan | None:
    """``plan`` with its one new task marked ``inline`` (and not dispatched), if it is a
    local function; None when nothing of ``plan`` runs inline."""
    if plan.finished or len(plan.dispatch) != 1:
        return None
    machine = await manager.machine(row.machine.split("/", 1)[0])
    request = plan.dispatch[0]
    if not is_local(manager, machine.resources, str(request["resource"]), request["input"]):
        return None
    return replace(plan, dispatch=[], runtime={**plan.runtime, INLINE: request["id"]})


def inline_request(plan: StepPlan) -> dict[str, Any]:
    """The request of the task ``plan`` marked ``inline``."""
    task_id = plan.runtime[INLINE]
    return next(r for r in plan.pending if r["id"] == task_id)


def orphan(
    manager: ExecutionServices, row: ExecutionRow, rng: random.Random
) -> dict[str, Any] | None:
    """The ``inline`` task of ``row`` still waiting for its outcome (whoever ran it died):
    its request, found by advancing a copy of the execution without outcomes (the
    interpreter repeats its requests); None when there is none."""
    runtime = json.loads(row.runtime)
    task_id = runtime.get(INLINE)
    if row.status != "RUNNING" or task_id is None or not task_pending(runtime, task_id):
        return None
    now = to_datetime(manager.app.clock.now())
    plan = plan_step(manager.state_of(row), runtime, now, rng, {}, owned=True)
    return next((r for r in plan.pending if r["id"] == task_id), None)


def saved_row(row: ExecutionRow, step: Sequence[Operation]) -> ExecutionRow:
    """``row`` as the committed unit ``step`` (a step's, its save first) left it, so the
    next task of a chain needs no read."""
    save = step[0]
    assert isinstance(save, SaveExecution)
    return replace(
        row, version=row.version + 1, status=save.status, state=save.state, runtime=save.runtime
    )
