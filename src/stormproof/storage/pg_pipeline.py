"""How a PostgreSQL unit is sent: the fewest round trips its statements allow.

A unit normally costs a round trip per statement plus ``BEGIN`` and ``COMMIT``: a claim or
a delete is three. Two cheaper modes:

* **pipelined** (psycopg's pipeline mode): ``BEGIN`` leaves with the first statement and
  ``COMMIT`` (with the ``pg_notify`` calls) with the last, so a unit that reads nothing
  before its end is one round trip. Only plain sends qualify: units of ``Enqueue``
  operations without de-duplication ids (a de-duplicating send first reads which ids it
  has seen). The driver still syncs the pipeline before handing rows to a program (see
  ``PostgresStore._execute``), so a program that reads would be correct, only slower.
* **autocommit**: a unit whose only write is its first statement runs without
  ``BEGIN``/``COMMIT``, the statement being its own transaction: one round trip. What
  follows that statement only reads (its own snapshot: a read cannot be torn from a
  write it does not share a transaction with). This is a claim on a standard queue
  without a dead-letter queue (one ``UPDATE ... FOR UPDATE SKIP LOCKED``; a receive
  that finds nothing then reads when the next message is due), and a non-atomic unit of
  one ``Delete`` (one ``DELETE``; leases it did not delete are then read to tell stale
  from gone).
* **batched**: an atomic unit whose every operation is one statement judged by its rows
  (a step's save with its history, a new execution, a kept or deleted lease, the front
  door's new request records: :func:`one_statement`) or a plain send that reads
  nothing. Its statements leave together with ``BEGIN``, their rows are judged when
  they are all back, and ``COMMIT`` (or, for a stale one, ``ROLLBACK``) follows: two
  round trips for the whole unit, however many operations (a task's outcome with its
  next step, or many such units sharing a transaction). A stale statement still ran,
  but its transaction is rolled back and the unit reports the first stale operation, as
  the unit run statement by statement does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

from stormproof.core.queue_rules import MAX_VISIBILITY, QueueAttributes
from stormproof.storage.base import (
    ChangeVisibility,
    Delete,
    Enqueue,
    EntryStatus,
    Operation,
    OpResult,
)
from stormproof.storage.machine_ops import InsertExecution, SaveExecution
from stormproof.storage.pg_bulk import COPY_MIN
from stormproof.storage.program import Row, Stmt
from stormproof.storage.state_bulk_ops import InsertStates

Mode = Literal["transaction", "pipelined", "autocommit", "batched"]
#: One statement of a batched unit and how its rows make the operation's result.
Form = tuple[Stmt, Callable[[list[Row]], OpResult]]


def pipelinable(ops: Sequence[Operation]) -> bool:
    """Whether a unit of ``ops`` reads nothing before its commit (plain sends only) and
    sends too few messages at once to go by COPY (``pg_bulk.COPY_MIN``)."""
    return bool(ops) and all(
        type(op) is Enqueue
        and len(op.messages) < COPY_MIN
        and not any(m.dedup_id for m in op.messages)
        for op in ops
    )


def unit_mode(ops: Sequence[Operation], atomic: bool) -> Mode:
    """The mode of a unit of ``ops`` (``atomic``: a stale lease rolls it all back)."""
    if pipelinable(ops):
        return "pipelined"
    if atomic and batchable(ops):
        return "batched"
    if not atomic and len(ops) == 1 and type(ops[0]) is Delete:
        return "autocommit"
    return "transaction"


def claim_mode(attrs: QueueAttributes) -> Mode:
    """The mode of a claim: one statement on a standard queue without a DLQ."""
    return "autocommit" if not attrs.fifo and attrs.dead_letter is None else "transaction"


def batchable(ops: Sequence[Operation]) -> bool:
    """Whether every operation of ``ops`` is one judged statement or a plain send."""
    judged = [_judged(op) for op in ops]
    return any(judged) and all(j or pipelinable([op]) for j, op in zip(judged, ops, strict=True))


def _judged(op: Operation) -> bool:
    """Whether :func:`one_statement` has a form for ``op`` (without making it)."""
    kind = type(op)
    if kind is SaveExecution or kind is InsertExecution or kind is InsertStates:
        return True
    if kind is ChangeVisibility:
        assert isinstance(op, ChangeVisibility)
        return len(op.leases) == 1 and op.timeouts[0] > 0  # a release notifies
    if kind is Delete:
        assert isinstance(op, Delete)
        return bool(op.leases) and len({ls.rowid for ls in op.leases}) == len(op.leases)
    return False


def one_statement(op: Operation) -> Form | None:
    """``op`` as one statement and the judge of its rows, when it has that form (in an
    atomic unit: any entry not OK rolls the unit back, so OK against STALE is all a
    judge tells)."""
    if not _judged(op):
        return None
    if type(op) is SaveExecution:
        return Stmt("sfn_execution_save", op.save_params()), op.judge
    if type(op) is InsertExecution:
        return Stmt("sfn_execution_insert", op.params()), op.judge
    if type(op) is InsertStates:  # the front door's new records (gateway.batcher)
        return op.counted(), op.judge
    if type(op) is ChangeVisibility:
        lease, timeout = op.leases[0], op.timeouts[0]
        params = {"queue": op.queue, "id": lease.rowid, "token": lease.token}
        return Stmt(
            "sfn_task_lease_keep", {**params, "timeout": timeout, "max": MAX_VISIBILITY}
        ), _kept
    if type(op) is Delete:
        keys = [f"{ls.rowid}:{ls.token}" for ls in op.leases]
        params = {"queue": op.queue, "ids": [ls.rowid for ls in op.leases], "keys": keys}
        return Stmt("delete_leased", params), _deleted(len(op.leases))
    return None


def _kept(rows: list[Row]) -> OpResult:
    return OpResult([EntryStatus.OK if rows else EntryStatus.STALE])


def _deleted(count: int) -> Callable[[list[Row]], OpResult]:
    def judge(rows: list[Row]) -> OpResult:
        # Leases are distinct rows: fewer deleted than asked means one was stale or gone.
        status = EntryStatus.OK if len(rows) == count else EntryStatus.STALE
        return OpResult([status] * count)

    return judge
