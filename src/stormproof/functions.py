"""Functions: handlers with Lambda's semantics, and the registry of an app's functions.

``@app.function(...)`` returns a :class:`Function`. Calling it runs the raw handler (for
unit tests); ``await fn.invoke(event)`` runs it in this process under its timeout and its
global reserved concurrency; ``await fn.invoke_async(event)`` stores the event durably on
the function's internal queue (``_fn-<name>``) for a worker to run with retries and
destinations (:mod:`stormproof.invocations`).
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import TYPE_CHECKING, Any

from stormproof.concurrency import Concurrency, SlotPool, Ticket, reserve
from stormproof.core import json_limits, names
from stormproof.core import queue_rules as rules
from stormproof.core.retry import AsyncInvokePolicy
from stormproof.errors import FunctionError, InvalidAttribute, QueueDoesNotExist, Throttled
from stormproof.invocations import Job, enqueue_job_op
from stormproof.mappings import EventSourceMapping, check_timeouts, define_mapping
from stormproof.queues import Queue
from stormproof.runners import (
    Context,
    Failed,
    Handler,
    Outcome,
    Runner,
    is_async,
    run_call,
    runner_for,
)

if TYPE_CHECKING:
    from stormproof.app import App

log = logging.getLogger("stormproof.functions")

NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
INTERNAL_QUEUE_PREFIX = names.FUNCTION_QUEUE_PREFIX
MAX_TIMEOUT = 900.0
DEFAULT_THREADS = 64
MAX_RESERVED = 100_000
ISOLATIONS = ("thread", "process")
RETENTION = 1_209_600  # the internal queue keeps events long enough to report them as too old
Destination = Any  # Queue | Function | Bus


class Function:
    """A handler with a timeout, reserved concurrency and async-invocation settings."""

    is_stormproof_function = True

    def __init__(
        self,
        app: App,
        handler: Handler,
        *,
        name: str,
        timeout: float,
        concurrency: int | None,
        policy: AsyncInvokePolicy,
        on_success: Destination,
        on_failure: Destination,
        isolation: str,
    ) -> None:
        self.app = app
        self.handler = handler
        self.name = name
        self.timeout = timeout
        self.concurrency = concurrency
        self.policy = policy
        self.on_success = on_success
        self.on_failure = on_failure
        self.isolation = isolation
        self.__name__ = getattr(handler, "__name__", name)
        self.__qualname__ = getattr(handler, "__qualname__", name)
        self.__module__ = getattr(handler, "__module__", __name__)
        self.__doc__ = getattr(handler, "__doc__", None)
        self.__wrapped__ = handler
        self._runner: Runner | None = None

    def __repr__(self) -> str:
        return f"Function({self.name!r})"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the raw handler (for unit tests): no timeout, no concurrency limit."""
        return self.handler(*args, **kwargs)

    @property
    def queue_name(self) -> str:
        """The internal queue holding this function's async invocations."""
        return INTERNAL_QUEUE_PREFIX + self.name

    @property
    def arn(self) -> str:
        """The stormproof resource name used where AWS puts the function's ARN."""
        return f"stormproof:function:{self.name}"

    @property
    def runner(self) -> Runner:
        """The runner for this function's isolation (created on first use)."""
        if self._runner is None:
            size = self.concurrency or DEFAULT_THREADS
            self._runner = runner_for(self.handler, self.isolation, size, self.name)
        return self._runner

    def slot_pool(self) -> SlotPool | None:
        """The global pool of reserved concurrency, or None when unreserved."""
        if self.concurrency is None:
            return None
        return self.app.functions.concurrency.pool(f"fn:{self.name}", self.concurrency)

    async def execute(
        self, event: Any, *, request_id: str, attempt: int, ticket: Ticket | None
    ) -> Outcome:
        """Run the handler once under its timeout; the ticket's slots follow the handler."""
        clock = self.app.clock
        context = Context(request_id, attempt, self.name, clock.now() + self.timeout, clock)
        hold = ticket.hold_slots_until if ticket is not None else None
        call = await run_call(self.runner, event, context, self.timeout, clock, hold)
        return call.outcome

    async def invoke(self, event: Any) -> Any:
        """Run synchronously in this process under the global cap; return the result.

        Raises ``Throttled`` when no concurrency is free, ``FunctionError`` when the handler
        raised or timed out.
        """
        pool = self.slot_pool()
        tickets = await reserve(None, [pool], 1) if pool is not None else [Ticket(None, ())]
        if not tickets:
            log.info("event=invoke.throttled function=%s", self.name)
            raise Throttled(self.name, f"Rate Exceeded: {self.name!r} is at its concurrency")
        request_id = str(uuid.uuid4())
        log_event("invoke.start", function=self.name, request_id=request_id, attempt=1)
        try:
            outcome = await self.execute(event, request_id=request_id, attempt=1, ticket=tickets[0])
        finally:
            tickets[0].finish()
        if isinstance(outcome, Failed):
            log_event(
                "invoke.failure", function=self.name, request_id=request_id, attempt=1,
                error_type=outcome.error_type,
            )  # fmt: skip
            raise FunctionError(outcome.error_type, outcome.error_message)
        log_event("invoke.success", function=self.name, request_id=request_id, attempt=1)
        return outcome.result

    async def invoke_async(self, event: Any) -> str:
        """Store the event durably for a worker to run (with retries); returns the request id."""
        json_limits.check_depth("event", event)
        job = Job.new(event, self.app.clock.now())
        op = enqueue_job_op(self.app, self.queue_name, job)
        await self.app.store.apply([op])
        log_event("invoke.queued", function=self.name, request_id=job.request_id)
        return job.request_id

    def invoke_async_sync(self, event: Any) -> str:
        """``invoke_async`` for producers outside asyncio (runs on the app's loop thread)."""
        return self.app.run_sync(self.invoke_async(event))

    def close(self) -> None:
        """Release the runner's threads or processes."""
        if self._runner is not None:
            self._runner.close()
            self._runner = None


def log_event(event: str, **fields: Any) -> None:
    """One structured log line: ``event=<name> key=value ...`` (fields also as ``extra``)."""
    if log.isEnabledFor(logging.INFO):
        text = " ".join(f"{k}={_text(v)}" for k, v in fields.items())
        log.info("event=%s %s", event, text, extra={"stormproof": {"event": event, **fields}})


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(map(str, value))
    return str(value)


class FunctionRegistry:
    """An app's functions (by name) and event-source mappings, and their slot pools."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.by_name: dict[str, Function] = {}
        self.mappings: list[EventSourceMapping] = []
        self.concurrency = Concurrency(lambda: app.store, lambda: app.clock, app.instance_id)

    def __iter__(self) -> Any:
        return iter(list(self.by_name.values()))

    def get(self, name: str) -> Function:
        """The function of that name; raises ``LookupError``."""
        try:
            return self.by_name[name]
        except KeyError:
            raise LookupError(f"no function named {name!r}") from None

    def define(self, handler: Handler, name: str | None, **options: Any) -> Function:
        """Validate and register a function (see ``App.function``)."""
        if not callable(handler):
            raise InvalidAttribute("handler", handler, "a def or async def (event, context)")
        fn_name = name if name is not None else getattr(handler, "__name__", "")
        if not names.is_name(NAME_RE, fn_name):
            raise InvalidAttribute("name", fn_name, "1 to 64 letters, digits, '-' or '_'")
        if fn_name in self.by_name:
            raise InvalidAttribute("name", fn_name, "a name no other function of the app uses")
        fn = Function(self.app, handler, name=fn_name, **_validated(handler, options))
        self.app.internal_queue(
            fn.queue_name,
            visibility_timeout=min(float(rules.MAX_VISIBILITY), fn.timeout + 30),
            retention=RETENTION,
        )
        self.by_name[fn_name] = fn
        return fn

    def decorator(self, name: Any, **options: Any) -> Any:
        """``@app.function`` with or without arguments."""
        if callable(name) and not isinstance(name, str):
            return self.define(name, None, **options)

        def wrap(handler: Handler) -> Function:
            return self.define(handler, name, **options)

        return wrap

    def consume(self, queue: Queue | str, function: Function, **options: Any) -> EventSourceMapping:
        """Validate and register an event-source mapping (see ``App.consume``)."""
        if not isinstance(function, Function):
            raise InvalidAttribute("function", function, "a Function made by @app.function")
        name = queue.name if isinstance(queue, Queue) else queue
        names.refuse_reserved("queue", name)
        fifo = queue.fifo if isinstance(queue, Queue) else rules.validate_queue_name(queue, None)
        mapping = define_mapping(name, fifo, function, **options)
        if any(m.id == mapping.id for m in self.mappings):
            raise InvalidAttribute("queue", name, f"one mapping to {function.name!r} per queue")
        self.mappings.append(mapping)
        return mapping

    async def open(self) -> None:
        """Check each mapping's queue against its function's timeout (AWS's sizing rules)."""
        for mapping in self.mappings:
            try:
                attrs = self.app.attributes_of(mapping.queue)
            except QueueDoesNotExist:
                attrs = (await self.app.get_queue(mapping.queue)).attributes
            warning = check_timeouts(mapping, attrs.visibility_timeout)
            if warning:
                log.warning("event=config.warning %s", warning)

    async def close(self) -> None:
        """Give slots back and release every runner."""
        await self.concurrency.close()
        for fn in self:
            fn.close()


def _validated(handler: Handler, options: dict[str, Any]) -> dict[str, Any]:
    timeout = _seconds("timeout", options.get("timeout", 3), 1, MAX_TIMEOUT)
    concurrency = options.get("concurrency")
    if concurrency is not None and (
        isinstance(concurrency, bool)
        or not isinstance(concurrency, int)
        or not 0 <= concurrency <= MAX_RESERVED
    ):
        raise InvalidAttribute("concurrency", concurrency, f"None or 0 to {MAX_RESERVED}")
    age = _seconds("max_event_age", options.get("max_event_age", 21600), 60, 21600)
    policy = AsyncInvokePolicy(options.get("max_retry_attempts", 2), int(age))
    isolation = options.get("isolation", "thread")
    if isolation not in ISOLATIONS:
        raise InvalidAttribute("isolation", isolation, "'thread' or 'process'")
    if isolation == "process" and is_async(handler):
        raise InvalidAttribute("isolation", isolation, "'thread' for an async def handler")
    for field in ("on_success", "on_failure"):
        _check_destination(field, options.get(field))
    return {
        "timeout": timeout,
        "concurrency": concurrency,
        "policy": policy,
        "on_success": options.get("on_success"),
        "on_failure": options.get("on_failure"),
        "isolation": isolation,
    }


def _seconds(field: str, value: Any, low: float, high: float) -> float:
    raw = rules.seconds(field, value)
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not low <= raw <= high:
        raise InvalidAttribute(field, value, f"{low:g} to {high:g} seconds")
    return float(raw)


def _check_destination(field: str, dest: Any) -> None:
    if dest is None or isinstance(dest, Function):
        return
    if isinstance(dest, Queue):
        if dest.fifo:
            raise InvalidAttribute(field, dest.name, "a standard queue (AWS: no FIFO destinations)")
        return
    if callable(getattr(dest, "publish_ops", None)):  # an event bus
        return
    raise InvalidAttribute(field, dest, "None, a Queue, a Function or a Bus")
