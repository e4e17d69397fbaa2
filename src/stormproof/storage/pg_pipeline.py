"""Which units run in psycopg's pipeline mode: a send is one round trip.

A unit normally costs a round trip per statement: ``BEGIN``, the insert, ``pg_notify``,
``COMMIT``. In pipeline mode psycopg queues them and sends them together; the server
answers once. That only works for a unit that never reads a result before its end, so
only sends qualify: units of ``Enqueue`` operations without de-duplication ids (a
de-duplicating send first reads which ids it has seen). The driver still syncs the
pipeline before handing rows to a program (see ``PostgresStore._execute``), so a
program that reads would be correct, only slower.
"""

from __future__ import annotations

from collections.abc import Sequence

from stormproof.storage.base import Enqueue, Operation


def pipelinable(ops: Sequence[Operation]) -> bool:
    """Whether a unit of ``ops`` reads nothing before its commit (plain sends only)."""
    return bool(ops) and all(
        type(op) is Enqueue and not any(m.dedup_id for m in op.messages) for op in ops
    )
