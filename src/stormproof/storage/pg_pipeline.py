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
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from stormproof.core.queue_rules import QueueAttributes
from stormproof.storage.base import Delete, Enqueue, Operation
from stormproof.storage.pg_bulk import COPY_MIN

Mode = Literal["transaction", "pipelined", "autocommit"]


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
    if not atomic and len(ops) == 1 and type(ops[0]) is Delete:
        return "autocommit"
    return "transaction"


def claim_mode(attrs: QueueAttributes) -> Mode:
    """The mode of a claim: one statement on a standard queue without a DLQ."""
    return "autocommit" if not attrs.fifo and attrs.dead_letter is None else "transaction"
