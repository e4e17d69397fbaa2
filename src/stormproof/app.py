"""The composition root: an ``App`` holds definitions, the store and the clock."""

from __future__ import annotations

import asyncio
import enum
import sys
import uuid
from collections.abc import Callable, Coroutine, Mapping, Sequence
from datetime import timedelta
from types import TracebackType
from typing import Any, Final, TypeVar, overload

from stormproof import config
from stormproof.bus.breaker_events import announcer
from stormproof.bus.bus import Bus
from stormproof.bus.manager import BusManager
from stormproof.bus.targets import HttpTarget
from stormproof.chaos import Chaos, enabled_by_env
from stormproof.clock import Clock, SystemClock
from stormproof.core import names, shedding
from stormproof.core import queue_rules as rules
from stormproof.engine import events
from stormproof.engine.breaker_registry import BreakerRegistry
from stormproof.engine.breakers import CircuitBreaker
from stormproof.engine.limits import Limit, define_limit
from stormproof.engine.periodic import Periodic
from stormproof.engine.sync_bridge import SyncBridge
from stormproof.errors import AppNotOpen, InvalidAttribute, StormproofError
from stormproof.functions.function import Function
from stormproof.functions.mappings import EventSourceMapping
from stormproof.functions.registry import FunctionRegistry
from stormproof.functions.runners import Handler
from stormproof.functions.stream_mappings import StreamMapping, define_stream_mapping
from stormproof.functions.transactions import TransactionFunction
from stormproof.machines.definitions import StateMachine, relative_to
from stormproof.machines.executions import ExecutionManager
from stormproof.machines.records import ExecutionInfo
from stormproof.queues.queue import Queue
from stormproof.queues.registry import QueueRegistry
from stormproof.queues.shards import ShuffleShards
from stormproof.queues.surge import Surge
from stormproof.storage.base import Store
from stormproof.storage.opening import open_store
from stormproof.streams.registry import StreamRegistry
from stormproof.streams.stream import Stream
from stormproof.telemetry.alarm_targets import smtp_target as smtp_target  # noqa: PLC0414
from stormproof.telemetry.alarms import Alarms

T = TypeVar("T")
MAINTENANCE_INTERVAL = 5.0


class Unset(enum.Enum):
    """The type of :data:`UNSET`: "not passed", where ``None`` is a meaningful value."""

    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = Unset.UNSET
Seconds = float | timedelta


class App:
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
        self._metrics: Any = None  # telemetry.metrics.Metrics once enable_metrics() ran
        self._unsubscribe_metrics: Callable[[], None] = lambda: None
        self._disable_tracing: Callable[[], None] = lambda: None
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

    # --- declarations ---------------------------------------------------------------

    def queue(
        self,
        name: str,
        *,
        visibility_timeout: Seconds | Unset = UNSET,
        delay: Seconds | Unset = UNSET,
        max_message_size: int | Unset = UNSET,
        retention: Seconds | Unset = UNSET,
        receive_wait: Seconds | Unset = UNSET,
        dead_letter: Queue | str | Unset | None = UNSET,
        max_receive_count: int | Unset = UNSET,
        redrive_allow: str | Sequence[str] | Mapping[str, Any] | Unset | None = UNSET,
        fifo: bool | None = None,
        content_based_deduplication: bool | Unset = UNSET,
        dedup_window: Seconds | Unset = UNSET,
        surge: dict[str, Any] | None = None,
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
        q = self.queues.declare(name, fifo, {k: v for k, v in passed.items() if v is not UNSET})
        if surge is not None:  # new sends past the threshold go to surge["to"]
            q.surge = Surge(q, surge)
        return q

    def shuffle_shards(self, name: str, *, queues: int = 8, per_key: int = 2,
                       **queue_options: Any) -> ShuffleShards:  # fmt: skip
        """Declare ``queues`` queues ``<name>-0``... and route each key to ``per_key`` of them
        for ever (shuffle sharding; see docs/resilience.md). ``queue_options`` go to each."""
        count, per = shedding.check_shards(queues, per_key)
        qs = [self.queue(f"{name}-{i}", **queue_options) for i in range(count)]
        return ShuffleShards(name, qs, per)

    @overload
    def function(self, name: Handler, /) -> Function: ...

    @overload
    def function(
        self,
        name: str | None = None,
        *,
        timeout: Seconds = 3,
        concurrency: int | None = None,
        max_retry_attempts: int = 2,
        max_event_age: Seconds = 21600,
        on_success: Queue | Function | None = None,
        on_failure: Queue | Function | None = None,
        isolation: str = "thread",
        idempotency: Any = None,
    ) -> Callable[[Handler], Function]: ...

    def function(
        self,
        name: Handler | str | None = None,
        *,
        timeout: Seconds = 3,
        concurrency: int | None = None,
        max_retry_attempts: int = 2,
        max_event_age: Seconds = 21600,
        on_success: Queue | Function | None = None,
        on_failure: Queue | Function | None = None,
        isolation: str = "thread",
        idempotency: Any = None,
    ) -> Function | Callable[[Handler], Function]:
        """Declare a function: ``@app.function(...)`` (or bare ``@app.function``).

        ``timeout`` 1-900 s; ``concurrency`` is reserved concurrency, a cap across every
        process (0 = throttled); async invocation: ``max_retry_attempts`` 0-2,
        ``max_event_age`` 60-21,600 s, destinations a standard Queue or a Function;
        ``isolation`` "thread" or "process" (sync handlers, killed on timeout);
        ``idempotency=dict(key="$.path", expires_after=3600, payload_validation="$.path")``
        runs each key at most once and replays its result. See docs/functions.md.
        """
        made: Function | Callable[[Handler], Function] = self.functions.decorator(
            name,
            timeout=timeout,
            concurrency=concurrency,
            max_retry_attempts=max_retry_attempts,
            max_event_age=max_event_age,
            on_success=on_success,
            on_failure=on_failure,
            isolation=isolation,
            idempotency=idempotency,
        )
        return made

    def transaction(
        self,
        name: Any = None,
        *,
        timeout: Seconds = 1.0,
        concurrency: int | None = None,
        limit: Limit | None = None,
    ) -> Any:
        """Declare a transaction function ``def fn(db, event)``: its writes commit in the
        same transaction as the step that runs it (``timeout``: its budget, 0-60 s, past
        which it rolls back with ``States.Timeout``; ``concurrency``: at most that many run
        at once across processes; ``limit``: an ``app.limit`` each run waits for). See
        docs/transactions.md."""
        budget = timeout.total_seconds() if isinstance(timeout, timedelta) else timeout
        return self.functions.transactions.decorator(
            name, timeout=budget, concurrency=concurrency, limit=limit
        )

    def sql_statement(self, name: str, sql: str) -> None:
        """Register a statement for ``arn:stormproof:states:::sql:execute`` (by name only:
        SQL text never comes from input)."""
        self.functions.transactions.statement(name, sql)

    def sql_migrations(self, folder: Any) -> None:
        """Apply the numbered ``.sql`` files of ``folder`` once each when the app opens."""
        self.functions.transactions.migrations(folder)

    @overload
    def consume(self, queue: Stream, function: Function, **options: Any) -> StreamMapping: ...

    @overload
    def consume(
        self,
        queue: Queue | str | Sequence[Queue | str],
        function: Function | TransactionFunction,
        **options: Any,
    ) -> EventSourceMapping: ...

    def consume(
        self,
        queue: Queue | Stream | str | Sequence[Queue | str],
        function: Function | TransactionFunction,
        *,
        batch_size: int | Unset = UNSET,
        batch_window: Seconds | Unset = UNSET,
        max_concurrency: int | None = None,
        report_batch_item_failures: bool | Unset = UNSET,
        filter: Any = UNSET,
        enabled: bool = True,
        breaker: CircuitBreaker | str | None = None,
        limit: Limit | None = None,
        max_message_age: Seconds | None = None,
        stale_to: Queue | str | None = None,
        drop_stale: bool = False,
        priority: bool | Sequence[Queue | str] | None = None,
        **stream_options: Any,
    ) -> EventSourceMapping | StreamMapping:
        """Map a queue to a function (Lambda's SQS event-source mapping); run by workers.

        A :class:`Stream` gets Lambda's Kinesis mapping instead (batch_size=100,
        starting_position, parallelization_factor, bisect_on_error, max_retry_attempts,
        max_record_age, on_failure, tumbling_window; see docs/streams.md).

        ``batch_size`` 1-10,000 (FIFO <= 10); ``batch_window`` 0-300 s (>= 1 when
        batch_size > 10; 0 on FIFO); ``max_concurrency`` 2-1,000 or None; ``filter`` an event
        pattern or a callable(record); ``breaker``: claiming pauses while it is open;
        ``limit``: claims wait for its tokens and slots; ``max_message_age``: older messages
        move to ``stale_to`` (or are dropped with ``drop_stale=True``); ``[high, low]`` with
        ``priority=True`` (or ``priority=[high, low]``): one mapping over several queues,
        ``high`` drained before ``low``. See docs/functions.md and docs/resilience.md.
        """
        if isinstance(queue, Stream):
            passed = {
                "batch_size": batch_size,
                "batch_window": batch_window,
                "filter": filter,
                "report_batch_item_failures": report_batch_item_failures,
            }
            return self._stream_mapping(queue, function, passed, stream_options)
        if stream_options:
            raise InvalidAttribute("options", sorted(stream_options), "stream options on a stream")
        return self.functions.consume(
            queue,
            function,
            batch_size=10 if batch_size is UNSET else batch_size,
            batch_window=0 if batch_window is UNSET else batch_window,
            max_concurrency=max_concurrency,
            report_batch_item_failures=(
                False if report_batch_item_failures is UNSET else report_batch_item_failures
            ),
            filter=None if filter is UNSET else filter,
            enabled=enabled,
            breaker=self.breakers.get(breaker) if isinstance(breaker, str) else breaker,
            limit=limit,
            max_message_age=(
                max_message_age.total_seconds()
                if isinstance(max_message_age, timedelta)
                else max_message_age
            ),
            stale_to=stale_to,
            drop_stale=drop_stale,
            priority=priority,
        )

    def _stream_mapping(
        self,
        stream: Stream,
        function: Function | TransactionFunction,
        passed: dict[str, Any],
        options: dict[str, Any],
    ) -> StreamMapping:
        """Lambda's Kinesis mapping: only the options passed override the stream defaults."""
        if not isinstance(function, Function):
            raise InvalidAttribute("function", function, "a Function for a stream mapping")
        given = {k: v for k, v in passed.items() if v is not UNSET}
        mapping = define_stream_mapping(stream, function, **given, **options)
        self.stream_mappings.append(mapping)
        return mapping

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
        self._unsubscribe_metrics()  # counting stops with the app (a reopen starts anew)
        self._metrics, self._unsubscribe_metrics = None, lambda: None
        self._disable_tracing()
        self._disable_tracing = lambda: None

    # --- preflight lint -------------------------------------------------------------

    def silence(self, obj: str, code: str, reason: str) -> None:
        """Silence lint finding ``code`` (e.g. ``SP103``) on ``obj`` (``queue:orders``,
        ``function:charge``); the reason is required, and ``stormproof lint`` prints it."""
        if not reason.strip():
            raise InvalidAttribute("reason", reason, "a non-empty reason")
        self.lint_silenced.setdefault(obj, {})[code] = reason

    # --- telemetry ------------------------------------------------------------------

    def enable_metrics(self) -> Any:
        """Count this app's runtime events in a Prometheus registry (once); returns it.

        Needs the ``stormproof[telemetry]`` extra (prometheus-client).
        """
        if self._metrics is None:
            try:
                from stormproof.telemetry.metrics import Metrics
            except ImportError as exc:
                raise StormproofError(
                    "metrics need prometheus-client: pip install 'stormproof[telemetry]'"
                ) from exc
            self._metrics = Metrics(self.name)
            self._unsubscribe_metrics = self._metrics.subscribe()
        return self._metrics

    def enable_tracing(self, tracer_provider: Any = None) -> Callable[[], None]:
        """Open OpenTelemetry spans over every hop (docs/observability.md, Traces) through
        ``tracer_provider`` (the global one by default) until the app closes; returns the
        function turning it off sooner. Needs ``stormproof[telemetry]`` (opentelemetry-api).

        Spans belong to the process: every app of the process is traced from now on.
        """
        try:
            from stormproof.telemetry import traces
        except ImportError as exc:
            raise StormproofError(
                "traces need opentelemetry-api: pip install 'stormproof[telemetry]'"
            ) from exc
        self._disable_tracing()
        self._disable_tracing = traces.enable(tracer_provider)
        return self._disable_tracing

    async def metrics_exposition(self) -> bytes:
        """The Prometheus exposition text, queue depths read from the store now."""
        metrics = self.enable_metrics()
        body: bytes = await metrics.render(self._store)
        return body

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

    async def delete_queue(self, name: str, *, force: bool = False) -> None:
        """Delete a queue and all its messages; ``QueueInUse`` while it is a dead-letter
        target or used by this app's mappings, destinations or bus targets (``force``
        first detaches it from its source queues)."""
        await self.queues.delete(name, force=force)

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
