"""OpenTelemetry spans over every hop, per the messaging semantic conventions.

Needs ``opentelemetry-api`` (``stormproof[telemetry]``); exporting needs the SDK. The
runtime carries the context as a bare ``traceparent`` (``core.trace_context``) and opens
spans only through the ``engine.tracing.Tracer`` seam, which :class:`OtelTracer`
implements:

* ``send {queue}`` (PRODUCER) whenever an enqueue is built while work is traced: the
  context it stamps on the messages is this span's;
* ``process {queue}`` (CONSUMER) around a consumer's work: the parent is the message's
  producer span for one message; a batch's span starts its own trace and **links** to each
  message's producer span instead of choosing one;
* a retry that is a new message (async invocations) carries the first run's context:
  its span is a child of the first run and links to it (``stormproof.link=retry_of``);
* ``{METHOD} {route}`` (SERVER) around a front-door request, continuing its
  ``traceparent`` header.

Runtime events annotate the open span (function, execution, state) and mark failures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Link, Span, SpanContext, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from stormproof.core import trace_context
from stormproof.core.trace_context import CURRENT
from stormproof.engine import events, tracing

SYSTEM = "stormproof"
SCOPE = "stormproof"
_propagator = TraceContextTextMapPropagator()
# Events that say the running work failed (the span's status turns to ERROR).
FAILURES = frozenset(
    {
        "invocation.failed",
        "delivery.failed",
        "delivery.dead_lettered",
        "execution.failed",
        "batch.partially_failed",
    }
)
# Event fields copied onto the open span as ``stormproof.<field>``.
ANNOTATED = (
    "function",
    "machine",
    "execution_arn",
    "state_name",
    "rule",
    "target",
    "request_id",
    "event_id",
)


def span_context_of(traceparent: str | None) -> SpanContext | None:
    """The remote span context a carried traceparent names (None when absent or invalid)."""
    if not traceparent:
        return None
    found = trace.get_current_span(_propagator.extract({trace_context.HEADER: traceparent}))
    ctx = found.get_span_context()
    return ctx if ctx.is_valid else None


def traceparent_of(span: Span) -> str:
    """The W3C traceparent of ``span``."""
    ctx = span.get_span_context()
    return trace_context.format_traceparent(ctx.trace_id, ctx.span_id, ctx.trace_flags.sampled)


def _attributes(operation: str, destination: str, count: int) -> dict[str, Any]:
    found: dict[str, Any] = {
        "messaging.system": SYSTEM,
        "messaging.destination.name": destination,
        "messaging.operation.type": operation,
        "messaging.operation.name": operation,
    }
    if count != 1:  # the conventions keep it off single-message spans
        found["messaging.batch.message_count"] = count
    return found


class SpanCarrier:
    """The context of an open stormproof span; what it sends opens child ``send`` spans.

    ``first`` is the first run's context: a re-enqueue to the span's own queue (a retry,
    a pause, the next step of an execution) carries it instead of a new ``send`` span.
    """

    def __init__(self, tracer: trace.Tracer, span: Span, own: str, first: str | None) -> None:
        self.tracer = tracer
        self.span = span
        self.own = own
        self.traceparent = traceparent_of(span)
        self.first = first or self.traceparent

    def outgoing(self, destination: str, count: int) -> str | None:
        """The context to stamp on ``count`` messages for ``destination``."""
        if destination == self.own:
            return self.first
        parent = trace.set_span_in_context(self.span)
        attributes = _attributes("send", destination, count)
        with self.tracer.start_as_current_span(
            f"send {destination}", context=parent, kind=SpanKind.PRODUCER, attributes=attributes
        ) as sent:
            return traceparent_of(sent)


class AmbientCarrier:
    """Sends outside stormproof's work: a ``send`` span in the caller's OpenTelemetry
    context (a child of the caller's own span, or a new trace)."""

    def __init__(self, tracer: trace.Tracer) -> None:
        self.tracer = tracer

    def outgoing(self, destination: str, count: int) -> str | None:
        """The context of a new ``send`` span."""
        attributes = _attributes("send", destination, count)
        with self.tracer.start_as_current_span(
            f"send {destination}", kind=SpanKind.PRODUCER, attributes=attributes
        ) as sent:
            return traceparent_of(sent)


class OtelTracer:
    """``engine.tracing.Tracer`` on an OpenTelemetry tracer."""

    def __init__(self, tracer: trace.Tracer) -> None:
        self.tracer = tracer

    @contextmanager
    def process(
        self,
        operation: str,
        destination: str,
        parents: Sequence[str | None],
        message_ids: Sequence[str],
        attempt: int,
    ) -> Iterator[SpanCarrier]:
        """A CONSUMER span over a unit of work (see the module docstring)."""
        contexts = [span_context_of(p) for p in parents]
        attributes = _attributes(operation, destination, len(parents))
        attributes["stormproof.attempt"] = attempt
        if len(message_ids) == 1:
            attributes["messaging.message.id"] = message_ids[0]
        single = contexts[0] if len(contexts) == 1 else None
        retry = attempt > 1 and single is not None
        kind = "retry_of" if retry else "producer"
        links = [
            Link(c, {"messaging.message.id": m, "stormproof.link": kind})
            for c, m in zip(contexts, message_ids, strict=False)
            if c is not None
        ]
        parent = trace.set_span_in_context(trace.NonRecordingSpan(single)) if single else None
        with self.tracer.start_as_current_span(
            f"{operation} {destination}",
            context=parent,
            kind=SpanKind.CONSUMER,
            attributes=attributes,
            links=links,
        ) as span:
            yield SpanCarrier(self.tracer, span, destination, parents[0] if retry else None)

    @contextmanager
    def server(self, method: str, route: str, traceparent: str | None) -> Iterator[SpanCarrier]:
        """A SERVER span over one front-door request."""
        remote = span_context_of(traceparent)
        parent = trace.set_span_in_context(trace.NonRecordingSpan(remote)) if remote else None
        attributes = {"http.request.method": method, "http.route": route}
        with self.tracer.start_as_current_span(
            f"{method} {route}", context=parent, kind=SpanKind.SERVER, attributes=attributes
        ) as span:
            yield SpanCarrier(self.tracer, span, "", None)


def on_event(event: events.RuntimeEvent) -> None:
    """Annotate the running work's span with a runtime event (ids, failures)."""
    carrier = CURRENT.get()
    if not isinstance(carrier, SpanCarrier):
        return
    span, fields = carrier.span, event.fields
    for key in ANNOTATED:
        value = fields.get(key)
        if isinstance(value, str) and value:
            span.set_attribute(f"stormproof.{key}", value)
    if event.name == "execution.state_entered":
        span.add_event("state entered", {"stormproof.state_name": str(fields.get("state_name"))})
    if event.name in FAILURES:
        error = str(fields.get("error_type") or fields.get("status") or event.name)
        span.set_status(Status(StatusCode.ERROR, error))
        span.set_attribute("error.type", error)


def enable(tracer_provider: trace.TracerProvider | None = None) -> Callable[[], None]:
    """Open spans through ``tracer_provider`` (the global one by default); returns the
    function turning tracing off again."""
    provider = tracer_provider or trace.get_tracer_provider()
    tracer = provider.get_tracer(SCOPE)
    uninstall = tracing.install(OtelTracer(tracer), AmbientCarrier(tracer))
    unsubscribe = events.subscribe(on_event)

    def disable() -> None:
        unsubscribe()
        uninstall()

    return disable
