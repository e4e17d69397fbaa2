"""The composition root: an ``App`` holds definitions, the store and the clock."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar

from stormproof import config
from stormproof.bus.breaker_events import announcer
from stormproof.bus.bus import Bus
from stormproof.bus.manager import BusManager
from stormproof.bus.targets import HttpTarget
from stormproof.chaos import Chaos, enabled_by_env
from stormproof.clock import Clock, SystemClock
from stormproof.core.unset import UNSET as UNSET  # noqa: PLC0414 (public before core/unset.py)
from stormproof.core.unset import Seconds
from stormproof.core.unset import Unset as Unset  # noqa: PLC0414
from stormproof.engine import events
from stormproof.engine.breaker_registry import BreakerRegistry
from stormproof.engine.breakers import CircuitBreaker
from stormproof.engine.limits import Limit, define_limit
from stormproof.engine.periodic import Periodic
from stormproof.engine.sync_bridge import SyncBridge
from stormproof.errors import AppNotOpen, InvalidAttribute
from stormproof.functions.declarations import FunctionDeclarations
from stormproof.functions.registry import FunctionRegistry
from stormproof.functions.stream_mappings import StreamMapping
from stormproof.machines.definitions import StateMachine, relative_to
from stormproof.machines.executions import ExecutionManager
from stormproof.machines.records import ExecutionInfo
from stormproof.queues.declarations import QueueDeclarations
from stormproof.queues.registry import QueueRegistry
from stormproof.storage.base import Store
from stormproof.storage.opening import open_store
from stormproof.streams.registry import StreamRegistry
from stormproof.streams.stream import Stream
from stormproof.telemetry.alarm_targets import smtp_target as smtp_target  # noqa: PLC0414
from stormproof.telemetry.alarms import Alarms
from stormproof.telemetry.switches import TelemetrySwitches

T = TypeVar("T")
MAINTENANCE_INTERVAL = 5.0


class App(QueueDeclarations, FunctionDeclarations, TelemetrySwitches):
    """An application: its queues (and later functions, buses, machines) on one store.

    ``store`` is a URL; else ``STORMPROOF_STORE``; else ``sqlite:///.stormproof/stormproof.db``.
    Use ``async with app:`` to open the store, migrate it, and create or update the
    declared queues.

    Opening an app does not consume: a producer (a script calling ``send`` or
    ``start_execution``) never runs work. ``stormproof worker`` (a :class:`Worker`) runs every
    consumer; ``consume=True`` runs state-machine steps and tasks and bus deliveries
    in-process while the app is open (mappings and async invocations need a Worker).

    ``chaos=True`` (or ``STORMPROOF_CHAOS=1``) makes this process obey the faults injected
    with ``app.chaos`` (docs/chaos.md); off by default.
    """

    def __init__(
        self,
        name: str,
        store: str | None = None,
        *,
        clock: Clock | None = None,
        consume: bool = False,
        chaos: bool | None = None,
    ):
        self.name = name
        self.store_url = store or config.from_env().store
        self.clock: Clock = clock or SystemClock()
        self.instance_id = str(uuid.uuid4())
        self.queues = QueueRegistry(self)
        self.redrives = self.queues.redrives
        self.streams = StreamRegistry(self)
        self.stream_mappings: list[StreamMapping] = []
        self.functions = FunctionRegistry(self, self.queues)
        self.buses = BusManager(self, self.queues)
        self.executions = ExecutionManager(self, self.queues, self.functions, self.buses)
        self.machines = self.executions
        self.consuming = consume  # (``consume`` is the mapping method)
        self.buses.background = consume
        self.executions.background = consume
        self.breakers = BreakerRegistry(lambda: self.store, lambda: self.clock)
        self.breakers.on_change = announcer(self.buses)  # "Breaker State Change" events
        self.limits: dict[str, Limit] = {}
        self._store: Store | None = None
        self.lint_silenced: dict[str, dict[str, str]] = {}
        self._telemetry_off()
        self._maintenance = Periodic(
            "stormproof-maintenance", self.run_maintenance, MAINTENANCE_INTERVAL, self.clock
        )
        self._sync = SyncBridge(self.open, self.close)
        self._api: Any = None
        self.alarms = Alarms(self)  # app.alarm(...), see docs/observability.md
        self.alarm, self.alarm_defaults = self.alarms.alarm, self.alarms.defaults
        self.disable_alarm = self.alarms.disable
        self._raw_store: Store | None = None
        on = enabled_by_env() if chaos is None else chaos
        self.chaos = Chaos(name, self.instance_id, self.clock, self._unwrapped_store, on)

    # --- declarations (queues and functions: see their base classes) -----------------

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

    def stream(self, name: str, *, shards: int = 1, retention: Seconds = 86400) -> Stream:
        """Declare an ordered stream (Kinesis semantics): ``shards`` 1-1,024, ``retention``
        24 h-365 days; created when the app opens. See docs/streams.md."""
        return self.streams.declare(name, shards, retention)

    def bus(self, name: str = "default") -> Bus:
        """Declare (or get) an event bus; see docs/bus.md."""
        return self.buses.bus(name)

    def http_target(self, url: str, **options: Any) -> HttpTarget:
        """An HTTP endpoint for ``Target(...)``: ``method="POST"``, ``headers``, ``auth``
        (``HeaderAuth``/``HmacAuth``), ``rate`` (requests/s), ``timeout``; see docs/bus.md."""
        return self.buses.http_target(url, **options)

    def state_machine(self, name: str, definition: Any, **options: Any) -> StateMachine:
        """Declare a state machine (validated now): ``resources={Resource: function}``,
        ``type="STANDARD"|"EXPRESS"``, ``role_arn``; see docs/machines.md. A relative
        ``definition`` path is resolved against the calling module's folder."""
        caller = sys._getframe(1).f_globals.get("__file__")
        definition = relative_to(definition, caller if isinstance(caller, str) else None)
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
        self,
        machine: str | None = None,
        status: str | None = None,
        limit: int = 100,
        *,
        map_run: str | None = None,
    ) -> list[ExecutionInfo]:
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
            raise AppNotOpen
        return self._store

    def _unwrapped_store(self) -> Store:
        """The open store without the chaos proxy (faults are read around it)."""
        if self._raw_store is None:
            raise AppNotOpen
        return self._raw_store

    async def open(self) -> None:
        """Open the store, migrate, reconcile declared queues, start maintenance."""
        if self._store is not None:
            return
        store = open_store(self.store_url, self.clock)
        store.on_dead_lettered = events.dead_lettered_hook(self.name)
        await store.open()
        self._sync.loop = asyncio.get_running_loop()
        self._raw_store, self._store = store, self.chaos.wrap(store)
        try:
            await self.queues.open()
            await self.streams.open()
            await self.functions.open()
            await self.functions.transactions.open()
            await self.buses.open()
            await self.executions.open()
            await self.chaos.open()
        except BaseException:
            await self.close()
            raise
        self._maintenance.start()
        if self.consuming:
            self.alarms.start()

    async def close(self) -> None:
        """Stop background work and close the store."""
        await self.alarms.stop()
        await self.chaos.close()
        await self.executions.close()
        await self.breakers.close()
        await self.buses.close()
        await self.functions.close()
        await self._maintenance.stop()
        await self.queues.close()
        if self._store is not None:
            await self._store.close()
            self._store = self._raw_store = None
        self._stop_telemetry()  # counting stops with the app (a reopen starts anew)

    # --- preflight lint -------------------------------------------------------------

    def silence(self, obj: str, code: str, reason: str) -> None:
        """Silence lint finding ``code`` (e.g. ``SP103``) on ``obj`` (``queue:orders``,
        ``function:charge``); the reason is required, and ``stormproof lint`` prints it."""
        if not reason.strip():
            raise InvalidAttribute("reason", reason, "a non-empty reason")
        self.lint_silenced.setdefault(obj, {})[code] = reason

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

    # --- background work ------------------------------------------------------------

    async def run_maintenance(self) -> None:
        """One pass: expire messages past retention, resume orphaned redrive tasks, and
        sweep the front door's expired request records and idempotency keys."""
        await self.queues.run_maintenance()
        await self.streams.run_maintenance()
        await self.functions.transactions.run_maintenance()
        if self._api is not None:
            from stormproof.gateway.retention import sweep_expired

            await sweep_expired(self.store, self._api.settings)

    def run_sync(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine for a caller outside asyncio (see ``SyncBridge``)."""
        return self._sync.run(coro, self._store is not None)

    def close_sync(self) -> None:
        """Close an app opened by a ``*_sync`` call and stop its loop thread."""
        self._sync.close()
