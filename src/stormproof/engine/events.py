"""Runtime events: past-tense facts the runtime emits, for telemetry to subscribe to.

Each feature emits its events in one place (``emit("message.dead_lettered", app, ...)``).
Logging, metrics, traces and alarms are subscribers (``stormproof.telemetry``); the runtime
never imports them. With no subscriber, :func:`emit` returns after one tuple truth test, so
the protocol costs nothing measurable when nobody listens (``stormproof bench events``).

Subscribers run inline on the emitting task and must be quick and never raise (an exception
is logged and swallowed: telemetry never breaks the work it watches).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("stormproof.engine.events")

DEBUG, INFO, WARNING = logging.DEBUG, logging.INFO, logging.WARNING

# Every event name and the log level it means (docs/observability.md lists their fields).
LEVELS: dict[str, int] = {
    "message.sent": DEBUG,
    "message.received": DEBUG,
    "message.deleted": DEBUG,
    "message.dead_lettered": WARNING,
    "message.redriven": INFO,
    "invocation.started": DEBUG,
    "invocation.succeeded": DEBUG,
    "invocation.failed": INFO,  # a retry follows, or invocation.dead_lettered
    "invocation.throttled": INFO,
    "invocation.dead_lettered": WARNING,
    "batch.partially_failed": WARNING,
    "delivery.attempted": DEBUG,
    "delivery.failed": INFO,
    "delivery.dead_lettered": WARNING,
    "execution.started": DEBUG,
    "execution.state_entered": DEBUG,
    "execution.failed": WARNING,
    "execution.succeeded": DEBUG,
    "breaker.changed": WARNING,
    "limit.throttled": INFO,
    "request.accepted": DEBUG,
    "request.completed": DEBUG,
    "record.checkpointed": DEBUG,
    "stream.batch_dropped": WARNING,  # records given up to the mapping's on_failure
    "alarm.changed": WARNING,
    "fault.injected": WARNING,  # chaos: a fault applied to a call (docs/chaos.md)
}


@dataclass(frozen=True, slots=True)
class RuntimeEvent:
    """One fact: its name, the app, when (epoch seconds), its log level and its fields."""

    name: str
    app: str
    at: float
    level: int
    fields: Mapping[str, Any]


Subscriber = Callable[[RuntimeEvent], None]
_subscribers: tuple[Subscriber, ...] = ()


def subscribe(subscriber: Subscriber) -> Callable[[], None]:
    """Call ``subscriber`` with every event from now on; returns the unsubscribe function."""
    global _subscribers
    _subscribers = (*_subscribers, subscriber)

    def unsubscribe() -> None:
        global _subscribers
        _subscribers = tuple(s for s in _subscribers if s is not subscriber)

    return unsubscribe


def listening() -> bool:
    """Whether anyone subscribes (guard an emission whose fields are costly to build)."""
    return bool(_subscribers)


def emit(name: str, app: str, level: int | None = None, **fields: Any) -> None:
    """Tell every subscriber that ``name`` happened in ``app`` (nothing when nobody listens)."""
    if not _subscribers:
        return
    event = RuntimeEvent(name, app, time.time(), LEVELS[name] if level is None else level, fields)
    for subscriber in _subscribers:
        try:
            subscriber(event)
        except Exception:
            log.exception("event=telemetry.subscriber_failed name=%s", name)


def dead_lettered_hook(app: str) -> Callable[[str, str, Sequence[Any]], None]:
    """The store's callback for messages moved to a DLQ on receive (``message.dead_lettered``).

    The move happens inside the claim's transaction, in storage (below the engine), so the
    store calls back with the moved rows after commit instead of emitting itself. The claim
    that moves a message counted one more receive than the attempts made.
    """

    def hook(queue: str, dlq: str, rows: Sequence[Any]) -> None:
        for row in rows:
            emit(
                "message.dead_lettered",
                app,
                queue=queue,
                dlq=dlq,
                message_id=row.message_id,
                attempt=row.receive_count - 1,
                receive_count=row.receive_count - 1,
                body=row.body,
                attributes=row.attributes,
                sent_at=row.sent_at,
            )

    return hook
