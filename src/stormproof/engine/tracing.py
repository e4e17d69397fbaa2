"""Where the runtime reads the trace context back: around the work a message starts.

Every consumer (mappings, async invocations, bus deliveries, state-machine steps and
tasks, webhooks) wraps the work of what it claimed in :func:`processing`; the front door
wraps a request in :func:`serving`. With no tracer installed they only pass the carried
traceparent on (one check, then a context variable set when a message carries one); with
one (``telemetry.traces``, installed by ``App.enable_tracing``) they open the spans.
The runtime never imports OpenTelemetry: this protocol is the whole seam.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import Token
from typing import Protocol

from stormproof.core import trace_context
from stormproof.core.trace_context import CURRENT, Carrier, Passthrough


class Tracer(Protocol):
    """What opens spans (``telemetry.traces.OtelTracer``)."""

    def process(
        self,
        operation: str,
        destination: str,
        parents: Sequence[str | None],
        message_ids: Sequence[str],
        attempt: int,
    ) -> AbstractContextManager[Carrier]:
        """A consumer span over the work of messages carrying ``parents``."""

    def server(
        self, method: str, route: str, traceparent: str | None
    ) -> AbstractContextManager[Carrier]:
        """A server span over one front-door request continuing ``traceparent``."""


_tracer: Tracer | None = None


def install(tracer: Tracer, ambient: Carrier | None = None) -> Callable[[], None]:
    """Open spans through ``tracer`` from now on (``ambient``: the carrier of sends made
    outside any traced work); returns the function undoing it."""
    global _tracer
    _tracer = tracer
    trace_context.AMBIENT.carrier = ambient

    def uninstall() -> None:
        global _tracer
        if _tracer is tracer:
            _tracer = None
            trace_context.AMBIENT.carrier = None

    return uninstall


def enabled() -> bool:
    """Whether a tracer opens spans."""
    return _tracer is not None


_UNTRACED = nullcontext()  # reusable: entering and leaving it does nothing


class _Carried:
    """Runs work in a carried context, no span (a class, not a generator: this is the
    hot path with tracing off)."""

    __slots__ = ("token", "traceparent")

    def __init__(self, traceparent: str) -> None:
        self.traceparent = traceparent
        self.token: Token[Carrier | None] | None = None

    def __enter__(self) -> None:
        self.token = CURRENT.set(Passthrough(self.traceparent))

    def __exit__(self, *exc: object) -> None:
        if self.token is not None:
            CURRENT.reset(self.token)


def _carried(traceparent: str | None) -> AbstractContextManager[None]:
    return _UNTRACED if traceparent is None else _Carried(traceparent)


@contextmanager
def _within(span: AbstractContextManager[Carrier]) -> Iterator[None]:
    with span as carrier:
        token = CURRENT.set(carrier)
        try:
            yield
        finally:
            CURRENT.reset(token)


def processing(
    destination: str,
    traceparents: Sequence[str | None],
    message_ids: Sequence[str] = (),
    attempt: int = 1,
    operation: str = "process",
) -> AbstractContextManager[None]:
    """The context the work of claimed messages runs in (see the module docstring).

    ``traceparents`` are the messages' carried contexts (``trace_context.read``), one per
    message of the batch; ``attempt`` counts the runs of this work, retries included.
    """
    tracer = _tracer
    if tracer is None:
        # Without spans a batch has no span of its own to link from: one message continues
        # its trace, a batch continues its first message's.
        return _carried(next((t for t in traceparents if t), None))
    return _within(tracer.process(operation, destination, traceparents, message_ids, attempt))


def processing_rows(
    destination: str, rows: Sequence[_Row], attempt: int | None = None
) -> AbstractContextManager[None]:
    """:func:`processing` over claimed store rows (attempt: the first row's receive count)."""
    if _tracer is None:  # tracing off: one check, then the first carried context, if any
        for row in rows:
            found = trace_context.read(row.attributes)
            if found is not None:
                return _Carried(found)
        return _UNTRACED
    return processing(
        destination,
        [trace_context.read(r.attributes) for r in rows],
        [r.message_id for r in rows],
        attempt if attempt is not None else (rows[0].receive_count if rows else 1),
    )


def serving(method: str, route: str, header: str | None) -> AbstractContextManager[None]:
    """The context of one front-door request (``header``: its ``traceparent``, if any)."""
    traceparent = trace_context.valid(header) if header else None
    tracer = _tracer
    if tracer is None:
        return _carried(traceparent)
    return _within(tracer.server(method, route, traceparent))


class _Row(Protocol):
    @property
    def attributes(self) -> str | None: ...
    @property
    def message_id(self) -> str: ...
    @property
    def receive_count(self) -> int: ...


def add_header(headers: dict[str, str], destination: str) -> None:
    """Put the running work's context in an outgoing HTTP request (``traceparent``)."""
    carrier = trace_context.carrier()
    if carrier is None:
        return
    traceparent = carrier.outgoing(destination, 1)
    if traceparent is not None:
        headers[trace_context.HEADER] = traceparent
