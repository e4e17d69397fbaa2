"""The composition root: an ``App`` holds definitions, the store and the clock."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine
from datetime import timedelta
from types import TracebackType
from typing import Any, TypeVar

from stormproof import config
from stormproof.background import Periodic
from stormproof.bus import Bus
from stormproof.bus_manager import BusManager
from stormproof.bus_targets import HttpTarget
from stormproof.clock import Clock, SystemClock
from stormproof.core import names
from stormproof.core import queue_rules as rules
from stormproof.errors import InvalidAttribute, QueueDoesNotExist
from stormproof.execution_records import ExecutionInfo
from stormproof.executions import ExecutionManager
from stormproof.functions import Function, FunctionRegistry
from stormproof.machines import StateMachine
from stormproof.mappings import EventSourceMapping
from stormproof.queues import Queue
from stormproof.redrive import RedriveManager
from stormproof.storage.base import Store
from stormproof.sync_bridge import SyncBridge

T = TypeVar("T")
MAINTENANCE_INTERVAL = 5.0


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()
Seconds = float | timedelta


def open_store(url: str, clock: Clock | None = None) -> Store:
    """The store for a URL: ``sqlite:///path.db`` or ``postgresql://...``."""
    now = clock.now if clock is not None and not isinstance(clock, SystemClock) else None
    if url.startswith("sqlite:"):
        from stormproof.storage.sqlite import SqliteStore

        return SqliteStore(url, now)
    if url.startswith(("postgresql:", "postgres:")):
        try:
            from stormproof.storage.postgres import PostgresStore
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise InvalidAttribute(
                "store", url, "a PostgreSQL URL needs: pip install 'stormproof[postgres]'"
            ) from exc
        return PostgresStore(url, now)
    raise InvalidAttribute(
        "store", url, "sqlite:///path.db, sqlite:////abs/path.db or postgresql://"
    )


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
        self.redrives = RedriveManager(self)
        self.functions = FunctionRegistry(self)
        self.buses = BusManager(self)
        self.executions = ExecutionManager(self)
        self._declared: dict[str, Queue] = {}
        self._attrs: dict[str, rules.QueueAttributes] = {}
        self._store: Store | None = None
        self._maintenance = Periodic(
            "stormproof-maintenance", self.run_maintenance, MAINTENANCE_INTERVAL, self.clock
        )
        self._sync = SyncBridge(self.open, self.close)

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
        return self.internal_queue(
            name, fifo, **{k: v for k, v in passed.items() if v is not UNSET}
        )

    def internal_queue(self, name: str, fifo: bool | None = None, **changes: Any) -> Queue:
        """Declare a queue, reserved names allowed: the runtime's own queues (``_fn-``...)."""
        is_fifo = rules.validate_queue_name(name, fifo)
        if isinstance(changes.get("dead_letter"), Queue):
            dlq: Queue = changes["dead_letter"]
            if dlq.fifo != is_fifo:
                kind = "FIFO" if is_fifo else "standard"
                raise InvalidAttribute("dead_letter", dlq.name, f"a {kind} queue, like {name!r}")
            changes["dead_letter"] = dlq.name
        changes = rules.validate_attribute_changes(changes)
        rules.check_own_dead_letter(name, changes.get("dead_letter"))
        if changes.get("content_based_deduplication") and not is_fifo:
            raise InvalidAttribute("content_based_deduplication", True, "False on a standard queue")
        previous = self._declared.get(name)
        handle = Queue(self, name, is_fifo, {**(previous.changes if previous else {}), **changes})
        self._declared[name] = handle
        return handle

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

    def consume(
        self,
        queue: Queue | str,
        function: Function,
        *,
        batch_size: int = 10,
        batch_window: Seconds = 0,
        max_concurrency: int | None = None,
        report_batch_item_failures: bool = False,
        filter: Any = None,
        enabled: bool = True,
    ) -> EventSourceMapping:
        """Map a queue to a function (Lambda's SQS event-source mapping); run by workers.

        ``batch_size`` 1-10,000 (FIFO <= 10); ``batch_window`` 0-300 s (>= 1 when
        batch_size > 10; 0 on FIFO); ``max_concurrency`` 2-1,000 or None; ``filter`` an event
        pattern or a callable(record). See docs/functions.md.
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
        )

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
            for handle in self._in_dependency_order():
                await self._reconcile(handle)
            await self.functions.open()
            await self.buses.open()
            await self.executions.open()
        except BaseException:
            await self.close()
            raise
        self._maintenance.start()

    async def close(self) -> None:
        """Stop background work and close the store."""
        await self.executions.close()
        await self.buses.close()
        await self.functions.close()
        await self._maintenance.stop()
        await self.redrives.close()
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

    def _in_dependency_order(self) -> list[Queue]:
        ordered: list[Queue] = []

        def visit(q: Queue, depth: int) -> None:
            dlq = q.changes.get("dead_letter")
            if dlq in self._declared and depth < len(self._declared):
                visit(self._declared[dlq], depth + 1)
            if q not in ordered:
                ordered.append(q)

        for q in self._declared.values():
            visit(q, 0)
        return ordered

    async def _reconcile(self, handle: Queue) -> None:
        await self._put(handle.name, handle.fifo, handle.changes)

    async def _put(self, name: str, fifo: bool, changes: dict[str, Any]) -> rules.QueueAttributes:
        store = self.store
        existing = await store.get_queue(name)
        base = existing.attributes if existing else rules.QueueAttributes(fifo=fifo)
        if existing and existing.attributes.fifo != fifo:
            raise InvalidAttribute(
                "fifo", fifo, f"{existing.attributes.fifo}: FIFO-ness is set at creation"
            )
        attrs = base.merged(changes)
        if attrs.dead_letter:
            dlq = await store.get_queue(attrs.dead_letter)
            if dlq is None:
                raise QueueDoesNotExist(attrs.dead_letter)
            rules.check_dead_letter(name, attrs, attrs.dead_letter, dlq.attributes)
        stored = await store.put_queue(name, attrs)
        self._attrs[name] = stored.attributes
        return stored.attributes

    # --- queue administration -------------------------------------------------------

    def attributes_of(self, name: str) -> rules.QueueAttributes:
        """Cached attributes of an open queue."""
        try:
            return self._attrs[name]
        except KeyError:
            raise QueueDoesNotExist(name) from None

    async def get_queue(self, name: str) -> Queue:
        """A handle on an existing queue (declared elsewhere); raises QueueDoesNotExist."""
        stored = await self.store.get_queue(name)
        if stored is None:
            raise QueueDoesNotExist(name)
        self._attrs[name] = stored.attributes
        return self._declared.get(name) or Queue(self, name, stored.attributes.fifo, {})

    async def create_queue(self, name: str, *, internal: bool = False, **attributes: Any) -> Queue:
        """Create (or update) a queue at run time with the same rules as ``queue()``
        (``internal``: one of the runtime's own queues, see ``internal_queue``)."""
        handle = (self.internal_queue if internal else self.queue)(name, **attributes)
        await self._reconcile(handle)
        return handle

    async def update_queue(self, name: str, **attributes: Any) -> Queue:
        """Change attributes of an existing queue (FIFO-ness cannot change)."""
        names.refuse_reserved("name", name)
        current = await self.get_queue(name)
        changes = rules.validate_attribute_changes(attributes)
        if isinstance(attributes.get("dead_letter"), Queue):
            changes["dead_letter"] = attributes["dead_letter"].name
        rules.check_own_dead_letter(name, changes.get("dead_letter"))
        await self._put(name, current.fifo, changes)
        return current

    async def list_queues(self) -> list[str]:
        """Names of every queue in the store."""
        return [q.name for q in await self.store.list_queues()]

    async def delete_queue(self, name: str) -> None:
        """Delete a queue and all its messages."""
        if not await self.store.delete_queue(name):
            raise QueueDoesNotExist(name)
        self._attrs.pop(name, None)

    # --- background work ------------------------------------------------------------

    async def run_maintenance(self) -> None:
        """One pass: expire messages past retention, resume orphaned redrive tasks."""
        for stored in await self.store.list_queues():
            await self.store.expire(stored.name, stored.attributes.retention)
        await self.redrives.resume_orphans()

    def run_sync(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine for a caller outside asyncio (see ``SyncBridge``)."""
        return self._sync.run(coro, self._store is not None)

    def close_sync(self) -> None:
        """Close an app opened by a ``*_sync`` call and stop its loop thread."""
        self._sync.close()
