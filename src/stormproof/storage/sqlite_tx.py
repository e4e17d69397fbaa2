"""Running a transaction function on the SQLite writer's connection.

The function runs in the writer thread, inside its unit's SAVEPOINT, so it holds up every
other unit of the group while it runs: the budget is enforced at every statement (a
progress handler interrupts a long one) and when the function returns. Pure Python that
neither returns nor touches the database cannot be interrupted (documented in
docs/transactions.md: keep them short, no network calls).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping
from typing import Any

from stormproof.core.sql_params import controls_transaction
from stormproof.errors import SqlError, TransactionTimeout
from stormproof.storage.program import Call
from stormproof.storage.transaction_ops import SqlResult, refuse_control

_PROGRESS_EVERY = 1000  # SQLite VM instructions between deadline checks


class SqliteHandle:
    """``db`` on the writer's connection (valid only while its call runs)."""

    dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection, budget: float) -> None:
        self._conn = conn
        self._budget = budget
        self.deadline = time.monotonic() + budget
        self.open = True

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> SqlResult:
        """Run one statement with ``:name`` parameters."""
        if not self.open:
            raise SqlError("the transaction of this handle has ended")
        self.check()
        refuse_control(sql, controls_transaction)
        try:
            cur = self._conn.execute(sql, dict(params or {}))
            rows = cur.fetchall() if cur.description is not None else []
        except sqlite3.Error as exc:
            self.check()
            raise SqlError(f"{type(exc).__name__}: {exc}") from None
        columns = [d[0] for d in cur.description or ()]
        return SqlResult(rows, cur.rowcount, columns)

    def check(self) -> None:
        """Raise ``TransactionTimeout`` once the budget is spent."""
        if time.monotonic() > self.deadline:
            raise TransactionTimeout(self._budget)


def run_call(conn: sqlite3.Connection, call: Call) -> Any:
    """Run ``call`` on the writer's connection; its exception rolls its unit back."""
    handle = SqliteHandle(conn, call.budget)
    conn.set_progress_handler(lambda: int(time.monotonic() > handle.deadline), _PROGRESS_EVERY)
    try:
        value = call.run(handle)
        handle.check()
        return value
    finally:
        handle.open = False
        conn.set_progress_handler(None, 0)
