"""Functions: handlers with Lambda's semantics, and the registry of an app's functions.

``@app.function(...)`` returns a :class:`Function`. Calling it runs the raw handler (for
unit tests); ``await fn.invoke(event)`` runs it in this process under its timeout and its
global reserved concurrency; ``await fn.invoke_async(event)`` stores the event durably on
the function's internal queue (``_fn-<name>``) for a worker to run with retries and
destinations (:mod:`stormproof.functions.invocations`).
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from stormproof.clock import Clock
from stormproof.core import json_limits, names
from stormproof.core import queue_rules as rules
from stormproof.core.idempotency import Idempotency
from stormproof.core.retry import AsyncInvokePolicy
from stormproof.engine import events, injection, log_lines
from stormproof.engine.destinations import Destination, is_destination
from stormproof.engine.runtime import Runtime
from stormproof.engine.slots import Concurrency, SlotPool, Ticket, reserve
from stormproof.errors import FunctionError, InvalidAttribute, Throttled
from stormproof.functions.idempotency import exception_for, run_once
from stormproof.functions.jobs import Job, enqueue_job_op
from stormproof.functions.runners import (
    Context,
    Failed,
    Handler,
    Outcome,
    Runner,
    is_async,
    run_call,
    runner_for,
)
from stormproof.queues.queue import Queue
from stormproof.storage.base import Operation

log = logging.getLogger("stormproof.functions.function")

NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
INTERNAL_QUEUE_PREFIX = names.FUNCTION_QUEUE_PREFIX
MAX_TIMEOUT = 900.0
DEFAULT_THREADS = 64
MAX_RESERVED = 100_000
ISOLATIONS = ("thread", "process")
RETENTION = 1_209_600  # the internal queue keeps events long enough to report them as too old


class Function:
    """A handler with a timeout, reserved concurrency and async-invocation settings."""

    is_stormproof_function = True
    kind = "function"

    def __init__(
        self,
        app: Runtime,
        handler: Handler,
        *,
        name: str,
        timeout: float,
        concurrency: int | None,
        policy: AsyncInvokePolicy,
        on_success: Destination | None,
        on_failure: Destination | None,
        isolation: str,
        pools: Concurrency,
    ) -> None:
        self.app = app
        self.pools = pools
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
        self.idempotency: Idempotency | None = None  # set by ``idempotency=``

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
        return self.pools.pool(f"fn:{self.name}", self.concurrency)

    async def execute(
        self,
        event: Any,
        *,
        request_id: str,
        attempt: int,
        ticket: Ticket | None,
        requests: dict[str, Any] | None = None,
    ) -> Outcome:
        """Run the handler once under its timeout; the ticket's slots follow the handler.
        ``requests`` (front-door request ids) collects ``context.complete_request`` results.
        With ``idempotency=``, a key already completed replays its result instead."""
        run = self._execute(event, request_id, attempt, ticket, requests)
        if self.idempotency is None:
            return await run
        cfg = self.idempotency
        try:
            return await run_once(self.app, self.name, self.timeout, cfg, event, lambda: run)
        finally:
            run.close()  # not awaited when replayed or refused: no "never awaited" warning

    async def _execute(
        self,
        event: Any,
        request_id: str,
        attempt: int,
        ticket: Ticket | None,
        requests: dict[str, Any] | None,
    ) -> Outcome:
        clock = self.app.clock
        context = Context(request_id, attempt, self.name, clock.now() + self.timeout, clock)
        if requests is not None:
            context.requests = requests
        hold = ticket.hold_slots_until if ticket is not None else None
        started = clock.now()
        injected = await _injected(self.name) if injection.injector is not None else None
        if injected is not None:  # a chaos fault fails the call as if the handler raised
            outcome: Outcome = injected
        else:
            call = await run_call(self.runner, event, context, self.timeout, clock, hold)
            outcome = call.outcome
        _emit_outcome(self.app.name, self.name, request_id, attempt, outcome, started, clock)
        return outcome

    async def invoke(self, event: Any) -> Any:
        """Run synchronously in this process under the global cap; return the result.

        Raises ``Throttled`` when no concurrency is free, ``FunctionError`` when the handler
        raised or timed out.
        """
        pool = self.slot_pool()
        tickets = await reserve(None, [pool], 1) if pool is not None else [Ticket(None, ())]
        if not tickets:
            log.info("event=invoke.throttled function=%s", self.name)
            events.emit("invocation.throttled", self.app.name, function=self.name)
            raise Throttled(self.name, f"Rate Exceeded: {self.name!r} is at its concurrency")
        request_id = str(uuid.uuid4())
        log_event("invoke.start", function=self.name, request_id=request_id, attempt=1)
        try:
            outcome = await self.execute(event, request_id=request_id, attempt=1, ticket=tickets[0])
        finally:
            tickets[0].finish()
        if isinstance(outcome, Failed):
            log_event(
                "invoke.failure",
                function=self.name,
                request_id=request_id,
                attempt=1,
                error_type=outcome.error_type,
            )
            raise exception_for(self.name, outcome) or FunctionError(
                outcome.error_type, outcome.error_message
            )
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

    async def delivery_ops(
        self, record: Any, now: float, *, source: str = "", detail_type: str = ""
    ) -> list[Operation]:
        """Deliver ``record`` as the event of an async invocation (Destination protocol)."""
        return [enqueue_job_op(self.app, self.queue_name, Job.new(record, now))]

    def invoke_async_sync(self, event: Any) -> str:
        """``invoke_async`` for producers outside asyncio (runs on the app's loop thread)."""
        return self.app.run_sync(self.invoke_async(event))

    def close(self) -> None:
        """Release the runner's threads or processes."""
        if self._runner is not None:
            self._runner.close()
            self._runner = None


async def _injected(function: str) -> Failed | None:
    """The failure a chaos fault on ``function:<name>`` gives this call, if any."""
    assert injection.injector is not None
    hit = await injection.injector.caught(f"function:{function}")
    if hit is None:
        return None
    return Failed(type(hit).__name__, str(hit), timed_out=isinstance(hit, TimeoutError))


def _emit_outcome(
    app: str,
    function: str,
    request_id: str,
    attempt: int,
    outcome: Outcome,
    started: float,
    clock: Clock,
) -> None:
    """``invocation.succeeded`` or ``invocation.failed``, with the real attempt number."""
    if not events.listening():
        return
    took = clock.now() - started
    if isinstance(outcome, Failed):
        events.emit(
            "invocation.failed",
            app,
            function=function,
            request_id=request_id,
            attempt=attempt,
            duration_seconds=took,
            error_type=outcome.error_type,
            error_message=outcome.error_message,
            timed_out=outcome.timed_out,
        )
    else:
        events.emit(
            "invocation.succeeded",
            app,
            function=function,
            request_id=request_id,
            attempt=attempt,
            duration_seconds=took,
        )


def log_event(event: str, **fields: Any) -> None:
    """One structured log line: ``event=<name> key=value ...`` (fields also as ``extra``)."""
    log_lines.log_event(log, event, fields)


def validated_options(handler: Handler, options: dict[str, Any]) -> dict[str, Any]:
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
    if dest is None:
        return
    if isinstance(dest, Queue) and dest.fifo:
        raise InvalidAttribute(field, dest.name, "a standard queue (AWS: no FIFO destinations)")
    if not is_destination(dest) or dest.kind not in ("queue", "function", "bus"):
        raise InvalidAttribute(field, dest, "None, a Queue, a Function or a Bus")
