"""The PostgreSQL store (scale-out): many processes on many hosts share one database.

psycopg 3 with a connection pool; claims use ``FOR UPDATE SKIP LOCKED`` in batches and
FIFO claimers lock the group row first. Receivers wait on LISTEN/NOTIFY (one dedicated
connection per process, reconnecting with backoff) with polling as the fallback; a
transaction notifies each queue at most once, because NOTIFY takes a global lock at
commit. Lease expiry is judged by the database's clock. A lost connection is retried with
backoff; a unit whose COMMIT may or may not have landed is retried too, so a producer's
send is at-least-once across a server restart (documented in docs/guarantees.md).

``?schema=NAME`` in the URL keeps every table (and the LISTEN channel) in one schema.
While the database is unreachable a call keeps retrying until ``?deadline=SECONDS``
(default 20), then raises ``StoreUnavailable``; the pool reconnects every few seconds at
most, so work resumes within seconds of the database coming back, and the outage is
logged once when it starts and once when it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

import psycopg
from psycopg import AsyncPipeline
from psycopg import sql as pgsql
from psycopg_pool import AsyncConnectionPool

from stormproof.core.queue_rules import QueueAttributes
from stormproof.errors import NotOpen, StaleLease, StoreError, StoreUnavailable
from stormproof.storage import pg_bulk, pg_pipeline, pg_tx, sqlfiles, unit_ops
from stormproof.storage.base import Operation, OpResult
from stormproof.storage.pg_group import GroupCommit
from stormproof.storage.pg_listener import Listener
from stormproof.storage.pg_outage import Outage
from stormproof.storage.pg_pipeline import Mode
from stormproof.storage.pg_pool import CappedBackoffPool, QuietReconnects
from stormproof.storage.pg_url import one_line, parse_url, split_url
from stormproof.storage.program import Call, Dialect, Program, Row, Steps, Stmt
from stormproof.storage.program_store import ProgramStore

T = TypeVar("T")
AsyncConn = psycopg.AsyncConnection[Any]
__all__ = ["PostgresStore", "split_url"]
_RETRY_FIRST, _RETRY_CAP = 0.05, 1.0  # seconds between a call's attempts, jittered
_CONNECT_TIMEOUT = 5.0  # seconds one attempt waits for a pooled connection


class PostgresStore(ProgramStore):
    """A :class:`~stormproof.storage.base.Store` on PostgreSQL."""

    def __init__(self, url: str, clock: Callable[[], float] | None = None, pool_size: int = 8):
        super().__init__()
        self.url = url
        self.dialect = Dialect("postgres")
        parsed = parse_url(url)
        self.dsn, self.schema, self.deadline = parsed.dsn, parsed.schema, parsed.deadline
        self._outage = Outage(f"postgresql schema {self.schema}")
        self.channel = f"stormproof_{self.schema}"
        self._clock = clock
        self._queries = sqlfiles.queries("postgres")
        self._pool_size = pool_size
        self._pool: AsyncConnectionPool[Any] | None = None
        self._listener: Listener | None = None
        self._quiet: QuietReconnects | None = None
        self._group = GroupCommit(self._send)

    async def _configure(self, conn: psycopg.AsyncConnection[Any]) -> None:
        await conn.execute(pgsql.SQL("SET search_path TO {}").format(pgsql.Identifier(self.schema)))
        await conn.commit()

    async def open(self) -> None:
        """Create the schema if missing, migrate, start the pool and the listener."""
        if self._pool is not None:
            return
        try:
            await self._migrate()
        except psycopg.OperationalError as exc:
            raise StoreUnavailable(f"cannot connect to PostgreSQL: {one_line(exc)}") from exc
        name = f"stormproof-{self.schema}-{id(self):x}"
        self._quiet = QuietReconnects(name)
        logging.getLogger("psycopg.pool").addFilter(self._quiet)
        pool: AsyncConnectionPool[Any] = CappedBackoffPool(
            self.dsn,
            min_size=1,
            max_size=self._pool_size,
            configure=self._configure,
            open=False,
            reconnect_timeout=3600,
            name=name,
        )
        await pool.open(wait=True, timeout=30)
        self._pool = pool
        self._listener = Listener(self.dsn, self.channel, self._wake)
        await self._listener.start()

    async def close(self) -> None:
        """Stop the listener and close the pool."""
        if self._listener is not None:
            await self._listener.stop()
            self._listener = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
        if self._quiet is not None:
            logging.getLogger("psycopg.pool").removeFilter(self._quiet)
            self._quiet = None

    async def _migrate(self) -> None:
        async with await psycopg.AsyncConnection.connect(self.dsn, autocommit=False) as conn:
            # One migration at a time per schema; other schemas migrate in parallel.
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext('stormproof-migrate:' || %s))",
                (self.schema,),
            )
            ident = pgsql.Identifier(self.schema)
            await conn.execute(pgsql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(ident))
            await conn.execute(pgsql.SQL("SET LOCAL search_path TO {}").format(ident))
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)"
            )
            cur = await conn.execute("SELECT version FROM schema_migrations")
            done = {r[0] for r in await cur.fetchall()}
            for version, script in sqlfiles.migrations("postgres"):
                if version in done:
                    continue
                for statement in sqlfiles.statements(script):
                    await conn.execute(statement.encode())
                await conn.execute(
                    "INSERT INTO schema_migrations (version) VALUES (%s)", (version,)
                )
            await conn.commit()

    async def apply(self, ops: Sequence[Operation], *, atomic: bool = False) -> list[OpResult]:
        """Apply a unit of work in one transaction; plain sends share theirs with concurrent
        sends (group commit) and cost one round trip, as does a lone non-atomic delete."""
        mode = pg_pipeline.unit_mode(ops, atomic)
        if mode == "pipelined":
            return await self._group.send(ops)
        return await self._run(lambda: unit_ops.apply(self.dialect, ops, atomic), mode, ops)

    async def _run_claim(self, factory: Callable[[], Program[T]], attrs: QueueAttributes) -> T:
        return await self._run(factory, pg_pipeline.claim_mode(attrs))

    async def _send(self, ops: Sequence[Operation]) -> list[OpResult]:
        # Plain sends are never stale, so ``atomic`` changes nothing for them.
        return await self._run(lambda: unit_ops.apply(self.dialect, ops, False), "pipelined")

    async def _run(
        self,
        factory: Callable[[], Program[T]],
        mode: Mode = "transaction",
        ops: Sequence[Operation] = (),
    ) -> T:
        """Run a program (or, batched, the unit ``ops`` it applies) with retries."""
        pool = self._pool
        if pool is None:
            raise NotOpen("store")
        task = asyncio.current_task()
        asked = task.cancelling() if task is not None else 0
        loop = asyncio.get_running_loop()
        end, pause = loop.time() + self.deadline, _RETRY_FIRST
        while True:
            left = end - loop.time()
            try:
                timeout = min(_CONNECT_TIMEOUT, left)
                result = await self._attempt(pool, factory, timeout, mode, ops)
            except psycopg.OperationalError as exc:
                _reraise_lost_cancel(task, asked, exc)
                self._outage.failed(one_line(exc))
                if loop.time() + pause >= end:
                    raise StoreUnavailable(
                        f"PostgreSQL is unreachable (gave up after {self.deadline:g} s):"
                        f" {one_line(exc)}",
                        cause="unreachable",
                    ) from exc
                await asyncio.sleep(pause * (0.5 + 0.5 * random.random()))
                pause = min(pause * 2, _RETRY_CAP)
            except psycopg.Error as exc:
                _reraise_lost_cancel(task, asked, exc)
                raise StoreError(f"{type(exc).__name__}: {one_line(exc)}") from exc
            else:
                _reraise_lost_cancel(task, asked, None)
                self._outage.succeeded()
                return result

    async def _attempt(
        self,
        pool: AsyncConnectionPool[Any],
        factory: Callable[[], Program[T]],
        timeout: float,
        mode: Mode,
        ops: Sequence[Operation],
    ) -> T:
        async with pool.connection(timeout=max(timeout, 0.05)) as conn:
            if mode == "autocommit":  # its first statement is its only write
                return await self._autocommit(conn, factory())
            if mode == "transaction":
                async with conn.transaction():
                    return await self._unit(conn, factory(), None)
            if mode == "batched":  # the unit's own results, which ``factory`` would make
                return cast(T, await self._batched(conn, ops))
            # BEGIN, the statements, pg_notify and COMMIT leave in one round trip.
            async with conn.pipeline() as pipe, conn.transaction():
                return await self._unit(conn, factory(), pipe)

    async def _batched(self, conn: AsyncConn, ops: Sequence[Operation]) -> list[OpResult]:
        """An atomic unit in two round trips (see ``pg_pipeline``): every statement with
        ``BEGIN``, then ``COMMIT`` once the rows judged every operation fresh."""
        results: list[OpResult | None] = [None] * len(ops)
        judged: list[tuple[int, psycopg.AsyncCursor[Any], Any]] = []
        notified: dict[str, int] = {}
        async with conn.pipeline() as pipe, conn.transaction():
            for index, op in enumerate(ops):
                form = pg_pipeline.one_statement(op)
                if form is None:  # a plain send: its statements are only queued
                    prog = unit_ops.apply(self.dialect, [op], True)
                    results[index] = (await self._drive(conn, prog, notified, pipe))[0]
                    continue
                stmt, judge = form
                cur = conn.cursor()
                now = self._clock() if self._clock else None
                sql = self._queries[stmt.name].encode()
                await cur.execute(sql, {**stmt.single(), "now": now}, prepare=True)
                judged.append((index, cur, judge))
            await pipe.sync()
            for index, cur, judge in judged:
                async with cur:
                    results[index] = result = judge(list(await cur.fetchall()))
                if not result.ok:
                    name = type(ops[index]).__name__
                    raise StaleLease(f"operation {index} ({name}) holds a stale lease", index)
            for queue, count in notified.items():
                await conn.execute("SELECT pg_notify(%s, %s)", (self.channel, f"{count} {queue}"))
        return [r for r in results if r is not None]

    async def _autocommit(self, conn: AsyncConn, prog: Program[T]) -> T:
        """Run ``prog`` with each statement its own transaction (see ``pg_pipeline``)."""
        await conn.set_autocommit(True)
        try:
            return await self._unit(conn, prog, None)
        finally:
            # Refused only while a statement is still active (a cancelled call): the pool
            # then discards the connection, so none is handed out in autocommit mode.
            with contextlib.suppress(psycopg.Error):
                await conn.set_autocommit(False)

    async def _unit(self, conn: AsyncConn, prog: Program[T], pipe: AsyncPipeline | None) -> T:
        notified: dict[str, int] = {}
        value = await self._drive(conn, prog, notified, pipe)
        for queue, count in notified.items():
            await conn.execute("SELECT pg_notify(%s, %s)", (self.channel, f"{count} {queue}"))
        return value

    async def _drive(
        self,
        conn: AsyncConn,
        prog: Program[T],
        notified: dict[str, int],
        pipe: AsyncPipeline | None,
    ) -> T:
        steps = Steps(prog, notified)
        item = steps.next()
        while item is not None:
            if isinstance(item, Call):
                rows: list[Row] = [(await pg_tx.run_call(conn, item),)]
            else:
                rows = await self._execute(conn, item, pipe)
            item = steps.next(rows)
        result: T = steps.value
        return result

    async def _execute(self, conn: AsyncConn, stmt: Stmt, pipe: AsyncPipeline | None) -> list[Row]:
        """Run one statement. In a pipeline a ``many`` statement is only queued (its row
        count reads as -1: the programs run pipelined do not read it); any other
        statement syncs the pipeline so its rows are there to read."""
        sql = self._queries[stmt.name]
        now = self._clock() if self._clock else None
        async with conn.cursor() as cur:
            if stmt.many:
                await self._execute_many(cur, stmt, now, pipe is not None)
                return [(-1 if pipe is not None else cur.rowcount,)]
            await cur.execute(sql.encode(), {**stmt.single(), "now": now}, prepare=True)
            if pipe is not None:
                await pipe.sync()
            if cur.description is None:
                return [(cur.rowcount,)]
            return list(await cur.fetchall())

    async def _execute_many(
        self, cur: psycopg.AsyncCursor[Any], stmt: Stmt, now: Any, pipelined: bool
    ) -> None:
        rows = stmt.batch()
        if not pipelined and len(rows) >= pg_bulk.COPY_MIN and stmt.name in pg_bulk.COPY_FORMS:
            await cur.execute(self._queries["now"].encode(), {"now": now}, prepare=True)
            clock = await cur.fetchone()
            statement, data = pg_bulk.copy_payload(stmt.name, rows, clock[0] if clock else now)
            async with cur.copy(statement.encode()) as copy:
                await copy.write(data)
        elif len(rows) == 1:  # one row: the plain statement, prepared once per connection
            await cur.execute(
                self._queries[stmt.name].encode(), {**rows[0], "now": now}, prepare=True
            )
        elif stmt.name in pg_bulk.ARRAY_FORMS:
            form, arrays = pg_bulk.as_arrays(stmt.name, rows, now)
            await cur.execute(self._queries[form].encode(), arrays, prepare=True)
        else:
            params = [{**p, "now": now} for p in rows]
            await cur.executemany(self._queries[stmt.name].encode(), params)

    async def wait(
        self, queues: Sequence[str], timeout: float, *, since: int | None = None
    ) -> None:
        """Long-poll wait on NOTIFY; short polling while the listener is reconnecting."""
        healthy = self._listener is not None and self._listener.healthy
        # The cap is the safety net for a notification lost between LISTEN reconnects.
        cap = 5.0 if healthy else 0.25
        await super().wait(queues, min(timeout, cap), since=since)

    async def drop_schema(self) -> None:
        """Drop this store's schema (tests use one schema per test)."""
        async with await psycopg.AsyncConnection.connect(self.dsn, autocommit=True) as conn:
            ident = pgsql.Identifier(self.schema)
            await conn.execute(pgsql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(ident))


def _reraise_lost_cancel(
    task: asyncio.Task[Any] | None, asked: int, cause: BaseException | None
) -> None:
    """Raise the cancellation a driver call swallowed.

    psycopg awaits through constructs that, on Python 3.11, can lose a cancellation that
    races with completion (or turn it into a connection error); a cancel requested during
    the call must still cancel the caller.
    """
    if task is not None and task.cancelling() > asked:
        raise asyncio.CancelledError from cause
