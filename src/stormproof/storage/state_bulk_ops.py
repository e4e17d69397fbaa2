"""Insert many new state records with one statement (the front door's group commit).

Each record is a :class:`~stormproof.storage.base.CompareAndSet` that must not exist yet;
applied one by one they cost a statement (on PostgreSQL a round trip) each. Here they are
one statement (an ``executemany`` on SQLite, an insert from arrays on PostgreSQL) whose
row count says whether every key was new: if one existed (an idempotency key stored
concurrently), the operation is stale and its atomic unit rolls back, so the caller can
retry the records one by one to find whose it was.

On PostgreSQL the front door's group (these records and the messages of one queue) is
a *batched* unit (``storage.pg_pipeline``): the insert leaves in one round trip with
``BEGIN`` and the messages, and is judged by the count it returns
(:meth:`InsertStates.counted`, :meth:`InsertStates.judge`) before ``COMMIT``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from stormproof.storage.base import EntryStatus, OpResult
from stormproof.storage.program import Dialect, Program, Row, Stmt


@dataclass(frozen=True)
class InsertStates:
    """Create every ``(key, value)`` record at version 1; stale unless all were new."""

    records: Sequence[tuple[str, str]]

    def program(self, dialect: Dialect) -> Program[OpResult]:
        """One insert of every row; the result is OK only when it inserted them all."""
        if dialect.name == "postgres":  # arrays: one statement, however many rows
            counted = yield Stmt("state_insert_arrays", self._arrays())
        else:  # SQLite: executemany is one prepared statement stepped per row, in C
            rows = [{"key": key, "value": value} for key, value in self.records]
            counted = yield Stmt("state_insert_new", rows, many=True)
        inserted = int(counted[0][0]) if counted else 0
        ok = inserted == len(self.records)
        return OpResult([EntryStatus.OK if ok else EntryStatus.STALE], [inserted])

    def _arrays(self) -> dict[str, list[str]]:
        return {"keys": [k for k, _ in self.records], "values": [v for _, v in self.records]}

    def counted(self) -> Stmt:
        """The PostgreSQL insert whose one row is how many records it inserted."""
        return Stmt("state_insert_counted", self._arrays())

    def judge(self, rows: list[Row]) -> OpResult:
        """The result of :meth:`counted` that returned ``rows``: OK when all were new."""
        inserted = int(rows[0][0]) if rows else 0
        ok = inserted == len(self.records)
        return OpResult([EntryStatus.OK if ok else EntryStatus.STALE], [inserted])

    def is_stale(self, result: OpResult) -> bool:
        """Stale when some key already existed."""
        return not result.ok
