"""The app's function declarations: ``app.function``, ``app.transaction``, ``app.consume``.

Mixed into :class:`stormproof.App`, which builds the registries they use; the options'
handling lives beside them (``consume_options``, ``FunctionRegistry``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, overload

from stormproof.core.unset import UNSET, Seconds, Unset, seconds
from stormproof.engine.breaker_registry import BreakerRegistry
from stormproof.engine.breakers import CircuitBreaker
from stormproof.engine.limits import Limit
from stormproof.functions import consume_options
from stormproof.functions.function import Function
from stormproof.functions.mappings import EventSourceMapping
from stormproof.functions.registry import FunctionRegistry
from stormproof.functions.runners import Handler
from stormproof.functions.stream_mappings import StreamMapping
from stormproof.functions.transactions import TransactionFunction
from stormproof.queues.queue import Queue
from stormproof.streams.stream import Stream


class FunctionDeclarations:
    """``app.function``, ``app.transaction``, ``app.sql_*`` and ``app.consume``."""

    functions: FunctionRegistry
    breakers: BreakerRegistry
    stream_mappings: list[StreamMapping]

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
        return self.functions.transactions.decorator(
            name, timeout=seconds(timeout), concurrency=concurrency, limit=limit
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
        # Every parameter by its name: consume_options reads those its kind of mapping takes.
        options = dict(locals())
        del options["self"]
        return consume_options.consume(self.functions, self.breakers, self.stream_mappings, options)
