"""Task states whose work is a database transaction, committed with the task's outcome.

A Task whose ``Resource`` is a transaction function (``@app.transaction``), or
``arn:stormproof:states:::sql:execute`` with a statement the app registered, does not run
beside the store: its function runs *inside* the unit of work that deletes the task
message and enqueues the outcome as the next step message. A crash before that commit
undoes all of it (the task message reappears and the function runs again on a clean
slate); after it, all of it holds, and the task message is gone, so a retry never runs
the writes twice. A failing function rolls back, and its error is committed as the
task's outcome in a second unit, where Retry and Catch see it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from stormproof.errors import StaleLease, StoreError, TransactionError
from stormproof.functions.transactions import Bound, TransactionFunction
from stormproof.machines.step_messages import TASKS_QUEUE, step_op
from stormproof.storage.base import Delete, Lease, Operation

if TYPE_CHECKING:
    from stormproof.functions.transactions import Transactions
    from stormproof.storage.base import Store

log = logging.getLogger("stormproof.machines.executions")

SQL_EXECUTE = "arn:stormproof:states:::sql:execute"
SQL_BUDGET = 1.0


def deferred(
    transactions: Transactions, resources: dict[str, Any], base: str, value: Any
) -> Bound | None:
    """The transaction a Task resource stands for, or None if it is not one."""
    if base == SQL_EXECUTE:
        params = value if isinstance(value, dict) else {}
        return transactions.execute_statement(params, SQL_BUDGET)
    target = resources.get(base)
    if target is None:
        target = transactions.get(base)
    if isinstance(target, TransactionFunction):
        return target.bind(value)
    return None


async def commit(
    store: Store,
    lease: Lease,
    arn: str,
    task_id: str,
    bound: Bound,
    ops: list[Operation],
    *,
    step: Callable[[Any], list[Operation]] | None = None,
) -> None:
    """Run the transaction with the task message's deletion and the outcome's step message
    (``step``: instead, the operations of the next step itself, given the output).

    The deletion comes first in the unit (its ``guard``): a rerun after a lost COMMIT
    finds the message gone, its lease stale, and stops before the function runs again;
    so a task needs no outcome row. A stale unit with ``step`` is tried once more with
    the step message: if the execution moved on, that commits; if the lease is lost,
    the guard stops it again before the function runs."""
    done = Delete(TASKS_QUEUE, [lease])

    def then(output: Any) -> list[Operation]:
        if step is not None and (stepped := step(output)):
            return [*stepped, *ops]
        return [*ops, step_op(arn, work={task_id: {"output": output}})]

    try:
        async with bound.capacity():
            await store.apply([bound.op(then, guard=[done])], atomic=True)
        return
    except StaleLease:
        if step is not None:
            await commit(store, lease, arn, task_id, bound, ops)
            return
        log.warning("event=tasks.lease_lost execution=%s task=%s", arn, task_id)
        return
    except StoreError:
        raise  # the store failed, not the function: the message reappears and it reruns
    except Exception as exc:  # the function's failure is the task's outcome
        outcome = _error(exc)
    try:
        await store.apply([done, step_op(arn, work={task_id: outcome})], atomic=True)
    except StaleLease:
        log.warning("event=tasks.lease_lost execution=%s task=%s", arn, task_id)


def _error(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, TransactionError):
        return {"error": exc.error, "cause": exc.cause}
    return {"error": type(exc).__name__, "cause": str(exc)}
