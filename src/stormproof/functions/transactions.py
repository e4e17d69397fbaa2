"""Transaction functions (``@app.transaction``), named statements and user migrations.

A transaction function is a synchronous ``def fn(db, event)`` whose database writes
commit in the same transaction as what caused them: a state-machine task's outcome and
the next step's message, or a direct ``invoke``. ``db.execute(sql, {"name": value})``
takes ``:name`` parameters on both stores. The function's result must be JSON; raising
rolls its writes back. See docs/transactions.md.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stormproof.core import names
from stormproof.core.sql_params import names as param_names
from stormproof.engine.limits import Limit
from stormproof.engine.runtime import Runtime
from stormproof.engine.slots import Concurrency, SlotPool
from stormproof.errors import InvalidAttribute, SqlConditionFailed, SqlError
from stormproof.functions.function import NAME_RE
from stormproof.storage import sqlfiles
from stormproof.storage.base import Operation
from stormproof.storage.transaction_ops import (
    DEFAULT_BUDGET,
    OUTCOME_TTL,
    AlreadyCommitted,
    RunTransaction,
    SqlHandle,
    prune_outcomes,
)

TransactionHandler = Callable[[SqlHandle, Any], Any]
MAX_BUDGET = 60.0
MIGRATION_BUDGET = 600.0
MAX_CONCURRENCY = 1000
_SLOT_WAIT_FIRST, _SLOT_WAIT_CAP = 0.005, 0.1  # seconds between asks for a free slot
_MIGRATION_FILE = re.compile(r"^(\d+)[_-].*\.sql$")


@dataclass(frozen=True)
class Bound:
    """A transaction ready to run: ``run(db)`` within ``budget`` seconds."""

    run: Callable[[SqlHandle], Any]
    budget: float
    function: TransactionFunction | None = None  # whose concurrency and limit bound it

    def capacity(self) -> contextlib.AbstractAsyncContextManager[None]:
        """Wait for the function's concurrency and limit (nothing for a named statement)."""
        if self.function is None:
            return contextlib.nullcontext()
        return self.function.capacity()

    def op(
        self,
        then: Callable[[Any], Sequence[Operation]] | None = None,
        guard: Sequence[Operation] = (),
    ) -> RunTransaction:
        """The operation that runs it in a unit of work (``then``: what commits after it;
        ``guard``: lease-holding operations applied before it, see RunTransaction)."""
        if then is None:
            return RunTransaction(self.run, self.budget, guard=guard)
        return RunTransaction(self.run, self.budget, then, guard=guard)


class TransactionFunction:
    """A function declared with ``@app.transaction``."""

    is_stormproof_transaction = True

    def __init__(
        self,
        app: Runtime,
        handler: TransactionHandler,
        name: str,
        timeout: float,
        *,
        concurrency: int | None = None,
        limit: Limit | None = None,
        pools: Concurrency | None = None,
    ) -> None:
        self.app = app
        self.handler = handler
        self.name = name
        self.timeout = timeout
        self.concurrency = concurrency
        self.limit = limit
        self.pools = pools
        self.__doc__ = handler.__doc__

    def bind(self, event: Any) -> Bound:
        """This function applied to ``event``, checked to return JSON inside the transaction."""
        handler = self.handler

        def run(db: SqlHandle) -> Any:
            return _json(handler(db, event), self.name)

        return Bound(run, self.timeout, self)

    async def invoke(self, event: Any = None) -> Any:
        """Run it now in a transaction of its own; its result, or its exception (once,
        even when the store reran the unit after a lost COMMIT)."""
        try:
            async with self.capacity():
                [result] = await self.app.store.apply([self.bind(event).op()])
        except AlreadyCommitted as done:
            return done.value
        return result.values[0]

    def slot_pool(self) -> SlotPool | None:
        """The global pool of ``concurrency`` (None when unreserved)."""
        if self.concurrency is None or self.pools is None:
            return None
        return self.pools.pool(f"fn:{self.name}", self.concurrency)

    @contextlib.asynccontextmanager
    async def capacity(self, own: bool = True) -> AsyncIterator[None]:
        """Wait for the ``limit`` (token and slot) and, with ``own``, a slot of this
        function's ``concurrency``: at most that many transactions hold the store at once.
        (A mapping's consumer takes the function's slots itself: ``own=False``.)"""
        async with contextlib.AsyncExitStack() as stack:
            if self.limit is not None:
                await stack.enter_async_context(self.limit.acquire())
            pool = self.slot_pool() if own else None
            if pool is not None:
                wait = _SLOT_WAIT_FIRST
                while not await pool.acquire(1):
                    await self.app.clock.sleep(wait)
                    wait = min(_SLOT_WAIT_CAP, wait * 2)
                stack.callback(pool.release, 1)
            yield

    def __call__(self, db: SqlHandle, event: Any) -> Any:
        return self.handler(db, event)


def _json(value: Any, name: str) -> Any:
    try:
        json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise SqlError(f"transaction {name!r} returned a value that is not JSON: {exc}") from None
    return value


class Transactions:
    """An app's transaction functions, named SQL statements and SQL migration folders."""

    def __init__(self, app: Runtime, pools: Concurrency | None = None) -> None:
        self.app = app
        self.pools = pools
        self.by_name: dict[str, TransactionFunction] = {}
        self.statements: dict[str, str] = {}
        self.migration_dirs: list[Path] = []

    def define(
        self,
        handler: TransactionHandler,
        name: str | None,
        timeout: float = DEFAULT_BUDGET,
        concurrency: int | None = None,
        limit: Limit | None = None,
    ) -> TransactionFunction:
        """Validate and register a transaction function (see ``App.transaction``)."""
        if inspect.iscoroutinefunction(handler) or not callable(handler):
            raise InvalidAttribute("handler", handler, "a plain def (db, event), not async")
        fn_name = name if name is not None else getattr(handler, "__name__", "")
        if not names.is_name(NAME_RE, fn_name) or fn_name in self.by_name:
            raise InvalidAttribute("name", fn_name, "1 to 64 letters, digits, '-' or '_', unused")
        budget = float(timeout)
        if not 0 < budget <= MAX_BUDGET:
            raise InvalidAttribute("timeout", timeout, f"0 < seconds <= {MAX_BUDGET:g}")
        ok = concurrency is None or (
            isinstance(concurrency, int)
            and not isinstance(concurrency, bool)
            and 1 <= concurrency <= MAX_CONCURRENCY
        )
        if not ok:
            raise InvalidAttribute("concurrency", concurrency, f"None or 1 to {MAX_CONCURRENCY}")
        if limit is not None and not isinstance(limit, Limit):
            raise InvalidAttribute("limit", limit, "None or a limit made by app.limit")
        fn = TransactionFunction(
            self.app,
            handler,
            fn_name,
            budget,
            concurrency=concurrency,
            limit=limit,
            pools=self.pools,
        )
        self.by_name[fn_name] = fn
        return fn

    def decorator(self, name: Any = None, **options: Any) -> Any:
        """``@app.transaction`` with or without arguments."""
        if callable(name) and not isinstance(name, str):
            return self.define(name, None, **options)
        return lambda handler: self.define(handler, name, **options)

    def get(self, name: str) -> TransactionFunction | None:
        """The transaction function of that name, or None."""
        return self.by_name.get(name)

    def statement(self, name: str, sql: str) -> None:
        """Register a named statement for ``arn:stormproof:states:::sql:execute``."""
        if not names.is_name(NAME_RE, name) or name in self.statements:
            raise InvalidAttribute("name", name, "1 to 64 letters, digits, '-' or '_', unused")
        if not isinstance(sql, str) or not sql.strip():
            raise InvalidAttribute("sql", sql, "one SQL statement with :name parameters")
        self.statements[name] = sql

    def execute_statement(self, params: Mapping[str, Any], budget: float) -> Bound:
        """The transaction of one ``sql:execute`` task (``Statement``, ``Arguments``,
        ``ExpectRows``): ``{"RowCount", "Rows"}``; a row count other than ``ExpectRows``
        raises ``Sql.ConditionFailed``."""
        name = str(params.get("Statement", ""))
        sql = self.statements.get(name)
        if sql is None:
            raise SqlError(f"no statement named {name!r} (app.sql_statement registers one)")
        arguments = params.get("Arguments") or {}
        if not isinstance(arguments, dict):
            raise SqlError("Arguments must be an object of named parameters")
        bound = {k: _scalar(arguments.get(k)) for k in param_names(sql)}
        expect = params.get("ExpectRows")

        def run(db: SqlHandle) -> Any:
            result = db.execute(sql, bound)
            if expect is not None and result.rowcount != int(expect):
                raise SqlConditionFailed(name, int(expect), result.rowcount)
            return _json({"RowCount": result.rowcount, "Rows": result.mappings()}, name)

        return Bound(run, budget)

    def migrations(self, folder: str | Path) -> None:
        """Apply the numbered ``.sql`` files of ``folder`` once each, when the app opens."""
        path = Path(folder)
        if not path.is_dir():
            raise InvalidAttribute("folder", str(folder), "an existing folder of NNN_name.sql")
        self.migration_dirs.append(path)

    async def run_maintenance(self) -> int:
        """Delete transaction units' outcome rows older than ``OUTCOME_TTL``."""
        before = self.app.clock.now() - OUTCOME_TTL
        return await self.app.store.run(lambda: prune_outcomes(before))

    async def open(self) -> None:
        """Apply pending user migrations, one folder at a time, each in one transaction."""
        for folder in self.migration_dirs:
            files = _numbered(folder)
            run = _migrate(folder.name, files)
            await self.app.store.apply([RunTransaction(run, MIGRATION_BUDGET)])


def _scalar(value: Any) -> Any:
    # Nested values are bound as JSON text: a parameter is always one SQL value.
    return json.dumps(value) if isinstance(value, dict | list) else value


def _numbered(folder: Path) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for file in sorted(folder.iterdir()):
        match = _MIGRATION_FILE.match(file.name)
        if match:
            found.append((int(match.group(1)), file.read_text(encoding="utf-8")))
    versions = [v for v, _ in found]
    if len(set(versions)) != len(versions):
        raise InvalidAttribute("migrations", str(folder), "one file per number")
    return sorted(found)


def _migrate(key: str, files: list[tuple[int, str]]) -> Callable[[SqlHandle], Any]:
    def run(db: SqlHandle) -> Any:
        if db.dialect == "postgres":  # the lock the store's own migrations take
            db.execute(
                "SELECT pg_advisory_xact_lock(hashtext('stormproof-migrate:' || current_schema()))"
            )
        db.execute(
            "CREATE TABLE IF NOT EXISTS app_migrations"
            " (folder TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (folder, version))"
        )
        rows = db.execute("SELECT version FROM app_migrations WHERE folder = :f", {"f": key})
        done = {r[0] for r in rows}
        for version, script in files:
            if version in done:
                continue
            for statement in sqlfiles.statements(script):
                db.execute(statement)
            db.execute("INSERT INTO app_migrations VALUES (:f, :v)", {"f": key, "v": version})
        return None

    return run
