"""The trace context carrier: a W3C ``traceparent`` string that travels with the work.

The runtime carries the context as an opaque string and needs no OpenTelemetry: a message
stores it as a system attribute (a reserved key of its attributes JSON that user attribute
names cannot spell), events, executions and webhook deliveries are messages too, so they
inherit it. ``CURRENT`` holds the context of the work running on this task; an
:class:`~stormproof.storage.base.Enqueue` built while it is set stamps it on its messages.

What sits in ``CURRENT`` is a :class:`Carrier`: without tracing, a :class:`Passthrough`
that hands its traceparent on unchanged; with tracing (``telemetry.traces``), one whose
:meth:`Carrier.outgoing` opens a ``send`` span and hands on that span's context. The
ambient variable lives here, below storage, because storage builds the enqueue rows.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

# '$' is not a letter, digit, '-', '_' or '.', so no user attribute name collides.
KEY = "$traceparent"
_PREFIX = '{"' + KEY + '":["String","'
_TRACEPARENT_RE = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_ZERO_TRACE, _ZERO_SPAN = "0" * 32, "0" * 16
HEADER = "traceparent"
STATE_HEADER = "tracestate"


class Carrier(Protocol):
    """The trace context of the running work."""

    def outgoing(self, destination: str, count: int) -> str | None:
        """The traceparent to stamp on ``count`` messages sent to ``destination`` now."""


@dataclass(frozen=True, slots=True)
class Passthrough:
    """A context carried unchanged (tracing off, or nobody to open spans)."""

    traceparent: str

    def outgoing(self, destination: str, count: int) -> str | None:
        """The same traceparent: the next hop continues the same span."""
        return self.traceparent


CURRENT: ContextVar[Carrier | None] = ContextVar("stormproof_trace", default=None)


class _Ambient:
    """The carrier of sends made outside any stormproof work (a producer script, a web
    handler): None unless tracing is on, then one opening ``send`` spans in the caller's
    own OpenTelemetry context."""

    carrier: Carrier | None = None


AMBIENT = _Ambient()


def carrier() -> Carrier | None:
    """The running work's carrier, else the ambient one (None: nothing to carry)."""
    return CURRENT.get() or AMBIENT.carrier


def valid(traceparent: object) -> str | None:
    """``traceparent`` when it is a well-formed W3C version-00 value, else None.

    An all-zero trace or span id is invalid (W3C Trace Context §3.2.2.3-4); a malformed
    header starts a new trace instead of failing the request.
    """
    if not isinstance(traceparent, str):
        return None
    value = traceparent.strip().lower()
    m = _TRACEPARENT_RE.fullmatch(value)
    if m is None or m.group(1) == _ZERO_TRACE or m.group(2) == _ZERO_SPAN:
        return None
    return value


def trace_id(traceparent: str | None) -> str | None:
    """The 32-hex trace id of a traceparent (None for None)."""
    return traceparent[3:35] if traceparent else None


def span_id(traceparent: str | None) -> str | None:
    """The 16-hex parent span id of a traceparent (None for None)."""
    return traceparent[36:52] if traceparent else None


def format_traceparent(trace: int, span: int, sampled: bool) -> str:
    """The W3C header value of a span context."""
    return f"00-{trace:032x}-{span:016x}-{'01' if sampled else '00'}"


def stamp(attributes: str | None, traceparent: str | None) -> str | None:
    """The attributes JSON with the traceparent as its first key (O(1) to read back)."""
    if traceparent is None:
        return attributes
    head = f'{_PREFIX}{traceparent}"]'
    if not attributes or attributes == "{}":
        return head + "}"
    old = read(attributes)
    if old is not None:  # re-sent (redrive, shedding): replace, never stack
        rest = attributes[len(_PREFIX) + len(old) + 2 :]
        return head + rest
    return head + "," + attributes[1:]


def read(attributes: str | None) -> str | None:
    """The traceparent stamped on a stored message's attributes, or None (one prefix test)."""
    if attributes is None or not attributes.startswith(_PREFIX):
        return None
    end = attributes.find('"', len(_PREFIX))
    return attributes[len(_PREFIX) : end] if end > 0 else None


def current_traceparent() -> str | None:
    """The traceparent of the running work without opening a span (logs, headers)."""
    carrier = CURRENT.get()
    if carrier is None:
        return None
    found = getattr(carrier, "traceparent", None)
    return found if isinstance(found, str) else None
