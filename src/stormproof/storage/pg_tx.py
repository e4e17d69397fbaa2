"""Running a transaction function on the PostgreSQL unit's connection.

The function is synchronous, the connection async: the function runs in a thread and
each ``db.execute`` is scheduled on the event loop, on the unit's connection, inside the
unit's transaction. The budget bounds the whole call (``asyncio.wait_for``) and each
statement (``statement_timeout``, local to the unit's transaction); past it the unit
rolls back and the handle refuses further statements.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import psycopg

from stormproof.core.sql_params import controls_transaction, pyformat
from stormproof.errors import SqlError, TransactionTimeout
from stormproof.storage.program import Call, CallFailed
from stormproof.storage.transaction_ops import SqlResult, refuse_control


class PgHandle:
    """``db`` on the unit's connection (valid only while its call runs)."""

    dialect = "postgres"

    def __init__(
        self, conn: psycopg.AsyncConnection[Any], loop: asyncio.AbstractEventLoop, budget: float
    ) -> None:
        self._conn = conn
        self._loop = loop
        self._budget = budget
        self.open = True

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> SqlResult:
        """Run one statement with ``:name`` parameters (called from the function's thread)."""
        refuse_control(sql, controls_transaction)
        work = self._execute(sql, dict(params or {}))
        future = asyncio.run_coroutine_threadsafe(work, self._loop)
        return future.result()

    async def _execute(self, sql: str, params: dict[str, Any]) -> SqlResult:
        if not self.open:
            raise SqlError("the transaction of this handle has ended")
        try:
            async with self._conn.cursor() as cur:
                await cur.execute(pyformat(sql).encode(), params)
                rows = list(await cur.fetchall()) if cur.description is not None else []
                columns = [d.name for d in cur.description or ()]
                return SqlResult(rows, cur.rowcount, columns)
        except psycopg.errors.QueryCanceled:
            raise TransactionTimeout(self._budget) from None
        except psycopg.Error as exc:
            if self._conn.broken:
                raise  # the store retries the whole unit on a lost connection
            raise SqlError(f"{type(exc).__name__}: {exc}") from None


SAVEPOINT = "stormproof_call"


async def run_call(conn: psycopg.AsyncConnection[Any], call: Call) -> Any:
    """Run ``call`` in a thread against ``conn``; its exception rolls the unit back (with
    ``call.savepoint``: only the call's writes, and the value is a ``CallFailed``)."""
    # Local to the unit's transaction: its own statements after the call are short.
    ms = max(1, int(call.budget * 1000))
    await conn.execute("SELECT set_config('statement_timeout', %s, true)", (str(ms),))
    if call.savepoint:
        await conn.execute(f"SAVEPOINT {SAVEPOINT}")
    try:
        value = await _call(conn, call)
    except Exception as exc:
        if not call.savepoint or conn.broken:
            raise  # a lost connection is the store's: the whole unit is tried again
        await conn.execute(f"ROLLBACK TO SAVEPOINT {SAVEPOINT}")
        return CallFailed(exc)
    if call.savepoint:
        await conn.execute(f"RELEASE SAVEPOINT {SAVEPOINT}")
    return value


async def _call(conn: psycopg.AsyncConnection[Any], call: Call) -> Any:
    handle = PgHandle(conn, asyncio.get_running_loop(), call.budget)
    try:
        return await asyncio.wait_for(asyncio.to_thread(call.run, handle), call.budget)
    except TimeoutError:
        raise TransactionTimeout(call.budget) from None
    finally:
        handle.open = False
