"""The composition root: an ``App`` holds definitions, the store and the clock."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine
from datetime import timedelta
from types import TracebackType
from typing import Any, TypeVar

from stormproof import config
from stormproof.bus.bus import Bus
from stormproof.bus.manager import BusManager
from stormproof.bus.targets import HttpTarget
from stormproof.clock import Clock, SystemClock
from stormproof.core import names
from stormproof.core import queue_rules as rules
from stormproof.engine.breakers import BreakerRegistry, CircuitBreaker
from stormproof.engine.limits import Limit, define_limit
from stormproof.engine.periodic import Periodic
from stormproof.engine.sync_bridge import SyncBridge
from stormproof.functions.function import Function
from stormproof.functions.mappings import EventSourceMapping
from stormproof.functions.registry import FunctionRegistry
from stormproof.functions.transactions import TransactionFunction
from stormproof.machines.definitions import StateMachine
from stormproof.machines.executions import ExecutionManager
from stormproof.machines.records import ExecutionInfo
from stormproof.queues.queue import Queue
from stormproof.queues.registry import QueueRegistry
from stormproof.storage.base import Store
from stormproof.storage.opening import open_store

T = TypeVar("T")
MAINTENANCE_INTERVAL = 5.0


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()
Seconds = float | timedelta


class App:
    """An application: its queues (and later functions, buses, machines) on one store.

    ``store`` is a URL; else ``STORMPROOF_STORE``; else ``sqlite:///.stormproof/stormproof.db``.
    Use ``async with app:`` to open the store, migrate it, and create or update the
    declared queues.
    """

    def __init__(self, name: str, store: str | None = None, *, clock: Clock | None = None):
        self.name = name
        self.store_url = store or config.from_env().store
        self.clock: Clock = clock or SystemClock()
        self.instance_id = str(uuid.uuid4())
        self.queues = QueueRegistry(self)
        self.redrives = self.queues.redrives
        self.functions = FunctionRegistry(self, self.queues)
        self.buses = BusManager(self, self.queues)
        self.executions = ExecutionManager(self, self.queues, self.functions, self.buses)
        self.machines = self.executions
        self.breakers = BreakerRegistry(lambda: self.store, lambda: self.clock)
        self.limits: dict[str, Limit] = {}
        self._store: Store | None = None
        self._maintenance = Periodic(
            "stormproof-maintenance", self.run_maintenance, MAINTENANCE_INTERVAL, self.clock
        )
        self._sync = SyncBridge(self.open, self.close)
        self._api: Any = None

    # --- declarations ---------------------------------------------------------------

    def queue(
        self,
        name: str,
        *,
        visibility_timeout: Seconds = UNSET,
        delay: Seconds = UNSET,
        max_message_size: int = UNSET,
        retention: Seconds = UNSET,
        receive_wait: Seconds = UNSET,
        dead_letter: Queue | str | None = UNSET,
        max_receive_count: int = UNSET,
        redrive_allow: Any = UNSET,
        fifo: bool | None = None,
        content_based_deduplication: bool = UNSET,
        dedup_window: Seconds = UNSET,
    ) -> Queue:
        """Declare a queue (validated now; created or updated when the app opens).

        Defaults are SQS's: visibility_timeout=30, delay=0, max_message_size=1 MiB,
        retention=4 days, receive_wait=0, max_receive_count=10, dedup_window=300. Declaring
        an existing queue changes only the attributes passed here.
        """
        passed = {
            "visibility_timeout": visibility_timeout,
            "delay": delay,
            "max_message_size": max_message_size,
            "retention": retention,
            "receive_wait": receive_wait,
            "dead_letter": dead_letter,
            "max_receive_count": max_receive_count,
            "redrive_allow": redrive_allow,
            "content_based_deduplication": content_based_deduplication,
            "dedup_window": dedup_window,
        }
        names.refuse_reserved("name", name)
        return self.queues.declare(name, fifo, {k: v for k, v in passed.items() if v is not UNSET})

    def function(
        self,
        name: Any = None,
        *,
        timeout: Seconds = 3,
        concurrency: int | None = None,
        max_retry_attempts: int = 2,
        max_event_age: Seconds = 21600,
        on_success: Queue | Function | None = None,
        on_failure: Queue | Function | None = None,
        isolation: str = "thread",
    ) -> Any:
        """Declare a function: ``@app.function(...)`` (or bare ``@app.function``).

        ``timeout`` 1-900 s; ``concurrency`` is reserved concurrency, a cap across every
        process (0 = throttled); async invocation: ``max_retry_attempts`` 0-2,
        ``max_event_age`` 60-21,600 s, destinations a standard Queue or a Function;
        ``isolation`` "thread" or "process" (sync handlers, killed on timeout). See
        docs/functions.md.
        """
        return self.functions.decorator(
            name,
            timeout=timeout,
            concurrency=concurrency,
            max_retry_attempts=max_retry_attempts,
            max_event_age=max_event_age,
            on_success=on_success,
            on_failure=on_failure,
            isolation=isolation,
        )

    def transaction(self, name: Any = None, *, timeout: Seconds = 1.0) -> Any:
        """Declare a transaction function ``def fn(db, event)``: its writes commit in the
        same transaction as the step that runs it (``timeout``: its budget, 0-60 s, past
        which it rolls back with ``States.Timeout``). See docs/transactions.md."""
        budget = timeout.total_seconds() if isinstance(timeout, timedelta) else timeout
        return self.functions.transactions.decorator(name, timeout=budget)

    def sql_statement(self, name: str, sql: str) -> None:
        """Register a statement for ``arn:stormproof:states:::sql:execute`` (by name only:
        SQL text never comes from input)."""
        self.functions.transactions.statement(name, sql)

    def sql_migrations(self, folder: Any) -> None:
        """Apply the numbered ``.sql`` files of ``folder`` once each when the app opens."""
        self.functions.transactions.migrations(folder)

    def consume(
        self,
        queue: Queue | str,
        function: Function | TransactionFunction,
        *,
        batch_size: int = 10,
        batch_window: Seconds = 0,
        max_concurrency: int | None = None,
        report_batch_item_failures: bool = False,
        filter: Any = None,
        enabled: bool = True,
        breaker: CircuitBreaker | str | None = None,
        limit: Limit | None = None,
    ) -> EventSourceMapping:
        """Map a queue to a function (Lambda's SQS event-source mapping); run by workers.

        ``batch_size`` 1-10,000 (FIFO <= 10); ``batch_window`` 0-300 s (>= 1 when
        batch_size > 10; 0 on FIFO); ``max_concurrency`` 2-1,000 or None; ``filter`` an event
        pattern or a callable(record); ``breaker``: claiming pauses while it is open;
        ``limit``: claims wait for its tokens and slots. See docs/functions.md.
        """
        return self.functions.consume(
            queue,
            function,
            batch_size=batch_size,
            batch_window=batch_window,
            max_concurrency=max_concurrency,
            report_batch_item_failures=report_batch_item_failures,
            filter=filter,
            enabled=enabled,
            breaker=self.breakers.get(breaker) if isinstance(breaker, str) else breaker,
            limit=limit,
        )

    def breaker(self, name: str, **options: Any) -> CircuitBreaker:
        """A circuit breaker (``stormproof.engine.breakers``): failure_rate=0.5,
        minimum_calls=20, window=30, consecutive_failures=None, slow_call=None, open_for=30,
        open_for_max=300, half_open_calls=1, probe_timeout=60, scope="global"."""
        return self.breakers.declare(name, **options)

    def limit(self, name: str, **options: Any) -> Limit:
        """A global limit (``stormproof.engine.limits``): rate, burst, concurrency, key."""
        pool = self.functions.concurrency.pool
        self.limits[name] = define_limit(
            lambda: self.store, lambda: self.clock, pool, name, **options
        )
        return self.limits[name]

    def bus(self, name: str = "default") -> Bus:
        """Declare (or get) an event bus; see docs/bus.md."""
        return self.buses.bus(name)

    def http_target(self, url: str, **options: Any) -> HttpTarget:
        """An HTTP endpoint for ``Target(...)``: ``method="POST"``, ``headers``, ``auth``
        (``HeaderAuth``/``HmacAuth``), ``rate`` (requests/s), ``timeout``; see docs/bus.md."""
        return self.buses.http_target(url, **options)

    def state_machine(self, name: str, definition: Any, **options: Any) -> StateMachine:
        """Declare a state machine (validated now): ``resources={Resource: function}``,
        ``type="STANDARD"|"EXPRESS"``, ``role_arn``; see docs/machines.md."""
        return self.executions.machines.define(name, definition, **options)

    @property
    def api(self) -> Any:
        """The front door's routes: ``app.api.post(path, to=...)``; see docs/frontdoor.md."""
        if self._api is None:
            from stormproof.gateway.routes import Api

            self._api = Api()
        return self._api

    # --- executions (see stormproof.executions.ExecutionManager and docs/machines.md) --

    async def start_execution(
        self, machine: str, input: Any = None, name: str | None = None
    ) -> str:
        """Start an execution of a machine (name or ARN); returns the execution ARN."""
        return await self.executions.start_execution(machine, input, name)

    async def describe_execution(self, execution_arn: str) -> ExecutionInfo:
        """Status, input, output, error and cause of an execution."""
        return await self.executions.describe_execution(execution_arn)

    async def get_execution_history(self, execution_arn: str, reverse: bool = False) -> list[Any]:
        """The execution's history events in AWS's shape."""
        return await self.executions.get_execution_history(execution_arn, reverse=reverse)

    async def stop_execution(
        self, execution_arn: str, error: str | None = None, cause: str | None = None
    ) -> ExecutionInfo:
        """Abort a running execution."""
        return await self.executions.stop_execution(execution_arn, error, cause)

    async def list_executions(
        self, machine: str | None = None, status: str | None = None, limit: int = 100, *,
        map_run: str | None = None) -> list[ExecutionInfo]:  # fmt: skip
        """Executions, newest first (``map_run``: a distributed Map run's children)."""
        return await self.executions.list_executions(machine, status, limit, map_run=map_run)

    async def redrive_execution(self, execution_arn: str) -> ExecutionInfo:
        """Resume a failed execution from the state it failed in."""
        return await self.executions.redrive_execution(execution_arn)

    async def send_task_success(self, token: str, output: Any) -> None:
        """Complete a ``.waitForTaskToken`` task."""
        await self.executions.send_task_success(token, output)

    async def send_task_failure(self, token: str, error: Any = None, cause: Any = None) -> None:
        """Fail a ``.waitForTaskToken`` task."""
        await self.executions.send_task_failure(token, error, cause)

    async def send_task_heartbeat(self, token: str) -> None:
        """Restart a ``.waitForTaskToken`` task's heartbeat clock."""
        await self.executions.send_task_heartbeat(token)

    # --- lifecycle ------------------------------------------------------------------

    @property
    def store(self) -> Store:
        """The open store."""
        if self._store is None:
            raise RuntimeError("the app is not open: use 'async with app:'")
        return self._store

    async def open(self) -> None:
        """Open the store, migrate, reconcile declared queues, start maintenance."""
        if self._store is not None:
            return
        store = open_store(self.store_url, self.clock)
        await store.open()
        self._sync.loop = asyncio.get_running_loop()
        self._store = store
        try:
            await self.queues.open()
            await self.functions.open()
            await self.functions.transactions.open()
            await self.buses.open()
            await self.executions.open()
        except BaseException:
            await self.close()
            raise
        self._maintenance.start()

    async def close(self) -> None:
        """Stop background work and close the store."""
        await self.executions.close()
        await self.breakers.close()
        await self.buses.close()
        await self.functions.close()
        await self._maintenance.stop()
        await self.queues.close()
        if self._store is not None:
            await self._store.close()
            self._store = None

    async def __aenter__(self) -> App:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # --- queue administration (see stormproof.queues.registry.QueueRegistry) --------

    def attributes_of(self, name: str) -> rules.QueueAttributes:
        """Cached attributes of an open queue."""
        return self.queues.attributes_of(name)

    async def get_queue(self, name: str) -> Queue:
        """A handle on an existing queue (declared elsewhere); raises QueueDoesNotExist."""
        return await self.queues.get(name)

    async def create_queue(self, name: str, **attributes: Any) -> Queue:
        """Create (or update) a queue at run time with the same rules as ``queue()``."""
        names.refuse_reserved("name", name)
        return await self.queues.create(name, **attributes)

    async def update_queue(self, name: str, **attributes: Any) -> Queue:
        """Change attributes of an existing queue (FIFO-ness cannot change)."""
        names.refuse_reserved("name", name)
        return await self.queues.update(name, **attributes)

    async def list_queues(self) -> list[str]:
        """Names of every queue in the store."""
        return await self.queues.names()

    async def delete_queue(self, name: str) -> None:
        """Delete a queue and all its messages."""
        await self.queues.delete(name)

    # --- background work ------------------------------------------------------------

    async def run_maintenance(self) -> None:
        """One pass: expire messages past retention, resume orphaned redrive tasks."""
        await self.queues.run_maintenance()

    def run_sync(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine for a caller outside asyncio (see ``SyncBridge``)."""
        return self._sync.run(coro, self._store is not None)

    def close_sync(self) -> None:
        """Close an app opened by a ``*_sync`` call and stop its loop thread."""
        self._sync.close()
