"""Running a transaction function on the SQLite writer's connection.

The function runs in the writer thread, inside its unit's SAVEPOINT, so it holds up every
other unit of the group while it runs: the budget is checked before and after every
statement and when the function returns. A *read-only* statement (``SELECT``, or
``WITH`` without a write) that runs past the budget is interrupted by a progress handler
and fails with ``States.Timeout``: interrupting a read leaves the transaction intact. A
write is never interrupted midway: SQLite answers an interrupted write by rolling back
the *whole* transaction, every other unit of the group with it. So one long write, or
Python that neither returns nor touches the database, overruns the budget before it fails
(docs/transactions.md: keep them short, no network calls).
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Mapping
from typing import Any

from stormproof.core.sql_params import controls_transaction
from stormproof.errors import SqlError, TransactionTimeout
from stormproof.storage.program import Call, CallFailed
from stormproof.storage.transaction_ops import SqlResult, refuse_control

PROGRESS_STEPS = 1000  # virtual-machine steps between two looks at the clock
_READ = re.compile(r"^\s*(SELECT|WITH)\b", re.IGNORECASE)
_WRITE = re.compile(r"\b(INSERT|UPDATE|DELETE|REPLACE|RETURNING)\b", re.IGNORECASE)


def read_only(sql: str) -> bool:
    """Whether ``sql`` only reads (safe to interrupt without losing the transaction)."""
    return _READ.match(sql) is not None and _WRITE.search(sql) is None


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
        interruptible = read_only(sql)
        if interruptible:
            deadline = self.deadline
            self._conn.set_progress_handler(lambda: time.monotonic() > deadline, PROGRESS_STEPS)
        try:
            cur = self._conn.execute(sql, dict(params or {}))
            rows = cur.fetchall() if cur.description is not None else []
        except sqlite3.OperationalError as exc:
            if interruptible and "interrupt" in str(exc):
                raise TransactionTimeout(self._budget) from None
            raise SqlError(f"{type(exc).__name__}: {exc}") from None
        except sqlite3.Error as exc:
            raise SqlError(f"{type(exc).__name__}: {exc}") from None
        finally:
            if interruptible:
                self._conn.set_progress_handler(None, 0)
        columns = [d[0] for d in cur.description or ()]
        self.check()
        return SqlResult(rows, cur.rowcount, columns)

    def check(self) -> None:
        """Raise ``TransactionTimeout`` once the budget is spent."""
        if time.monotonic() > self.deadline:
            raise TransactionTimeout(self._budget)


SAVEPOINT = "stormproof_call"


def run_call(conn: sqlite3.Connection, call: Call) -> Any:
    """Run ``call`` on the writer's connection; its exception rolls its unit back (with
    ``call.savepoint``: only the call's writes, and the value is a ``CallFailed``)."""
    if call.savepoint:
        conn.execute(f"SAVEPOINT {SAVEPOINT}")
    try:
        value = _call(conn, call)
    except Exception as exc:
        if not call.savepoint or not conn.in_transaction:
            raise  # SQLite ended the whole transaction: nothing of the unit is left
        conn.execute(f"ROLLBACK TO {SAVEPOINT}")
        conn.execute(f"RELEASE {SAVEPOINT}")
        return CallFailed(exc)
    if call.savepoint:
        conn.execute(f"RELEASE {SAVEPOINT}")
    return value


def _call(conn: sqlite3.Connection, call: Call) -> Any:
    handle = SqliteHandle(conn, call.budget)
    try:
        value = call.run(handle)
        handle.check()
        return value
    finally:
        handle.open = False
