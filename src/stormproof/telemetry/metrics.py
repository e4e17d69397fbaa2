"""Prometheus metrics: counters and histograms fed by runtime events, depth gauges from
one grouped store query per scrape (needs ``stormproof[telemetry]``: prometheus-client).

Each process (front door, every worker) serves its own registry; Prometheus scrapes each
and sums across instances, so processes never share counter files (multi-process safe
without ``PROMETHEUS_MULTIPROC_DIR``). Depth gauges come from the store, so every process
reports the same, shared truth. Metric names: docs/observability.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from stormproof.engine import events
from stormproof.storage import metrics_ops
from stormproof.storage.base import QueueCounts, Store

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_P = "stormproof_"


_DEPTHS = (
    ("visible", "visible_messages", "Messages available to receive."),
    ("in_flight", "in_flight_messages", "Messages received and not yet deleted (leased)."),
    ("delayed", "delayed_messages", "Messages not yet visible (delay or retry wait)."),
    ("age", "oldest_message_age_seconds", "Age of the oldest message in the queue."),
)


class QueueDepths:
    """Per-queue visible / in-flight / delayed gauges and the oldest message's age.

    Written as exposition text directly: 4,000 samples through the client's generic
    collector path cost more than the store query that reads them.
    """

    def __init__(self) -> None:
        self.queues: list[str] = []
        self.counts: dict[str, QueueCounts] = {}
        self.now = 0.0

    async def refresh(self, store: Store) -> None:
        """Read every queue's depth (two cheap statements, whatever the number of queues)."""
        self.queues, self.counts, self.now = await store.run(metrics_ops.depths)

    def text(self) -> str:
        """The gauges of the latest refresh, in the Prometheus text format."""
        empty = QueueCounts(0, 0, 0, None, self.now)
        rows = []
        for queue in self.queues:
            c = self.counts.get(queue, empty)
            age = 0.0 if c.oldest_enqueued_at is None else max(0.0, self.now - c.oldest_enqueued_at)
            label = '{queue="' + queue.replace("\\", "\\\\").replace('"', '\\"') + '"} '
            rows.append((label, (c.visible, c.in_flight, c.delayed, age)))
        out: list[str] = []
        for i, (_, name, help_text) in enumerate(_DEPTHS):
            full = f"{_P}queue_{name}"
            out.append(f"# HELP {full} {help_text}\n# TYPE {full} gauge\n")
            out.extend(f"{full}{label}{float(values[i])!r}\n" for label, values in rows)
        return "".join(out)


class Metrics:
    """A registry fed by the runtime events of ``app`` (and app-less ones such as breakers,
    whose state every app of a store shares); call :meth:`subscribe` once."""

    def __init__(self, app: str | None = None) -> None:
        self.app = app
        self.registry = CollectorRegistry()
        r = self.registry
        c = self._counter
        self.dead_lettered = c("queue_messages_dead_lettered", "Messages moved to the queue's DLQ.")
        self.invocations = c("function_invocations", "Handler runs.", "function")
        self.errors = c("function_errors", "Handler runs that raised or timed out.", "function")
        self.throttles = c("function_throttles", "Invocations refused for concurrency.", "function")
        self.duration = Histogram(
            f"{_P}function_duration_seconds", "Handler run time.", ["function"], registry=r
        )
        self.async_dead = c(
            "function_async_dead_lettered", "Async invocations given up.", "function"
        )
        self.partial = c(
            "mapping_partial_batch_failures",
            "Batches with some items returned.",
            "function",
            "queue",
        )
        self.delivery_failed = c(
            "bus_deliveries_failed", "Target deliveries failed, retried.", "rule"
        )
        self.delivery_dead = c(
            "bus_deliveries_dead_lettered", "Target deliveries given up.", "rule"
        )
        self.executions = c(
            "executions_finished", "Executions finished, by status.", "machine", "status"
        )
        self.transitions = c("execution_state_transitions", "States entered.", "machine")
        self.breakers = c(
            "breaker_transitions", "Breaker state changes, by new state.", "breaker", "state"
        )
        self.faults = c("faults_injected", "Chaos faults applied to calls.", "target", "action")
        self.iterator_age = Gauge(
            f"{_P}stream_iterator_age_seconds",
            "How far behind a stream mapping's shard is, at its last checkpoint.",
            ["mapping", "shard"],
            registry=r,
        )
        self.depths = QueueDepths()
        self._per_function: dict[str, tuple[Any, Any, Any]] = {}

    def _counter(self, name: str, help_text: str, *labels: str) -> Counter:
        """A counter ``stormproof_<name>`` labelled ``labels`` (``queue`` when none given)."""
        return Counter(f"{_P}{name}", help_text, list(labels or ("queue",)), registry=self.registry)

    def of_function(self, function: str) -> tuple[Any, Any, Any]:
        """The invocations counter, duration histogram and errors counter of ``function``.

        Looked up once per function: ``labels()`` (a lock and a tuple of label values) cost
        as much as the counting itself, for every batch.
        """
        found = self._per_function.get(function)
        if found is None:
            found = (
                self.invocations.labels(function),
                self.duration.labels(function),
                self.errors.labels(function),
            )
            self._per_function[function] = found
        return found

    def subscribe(self) -> Callable[[], None]:
        """Start counting runtime events; returns the unsubscribe function."""
        return events.subscribe(self.on_event)

    def on_event(self, event: events.RuntimeEvent) -> None:
        """Count one runtime event."""
        handler = _HANDLERS.get(event.name)
        if handler is not None and (self.app is None or event.app in (self.app, "")):
            handler(self, event.fields)

    async def render(self, store: Store | None) -> bytes:
        """The exposition text, depth gauges read now (``store`` None: keep the last ones)."""
        if store is not None:
            await self.depths.refresh(store)
        return self.text()

    def text(self) -> bytes:
        """The exposition text with the depths of the latest refresh."""
        return generate_latest(self.registry) + self.depths.text().encode()


def _invoked(m: Metrics, f: dict[str, Any], failed: bool) -> None:
    invocations, duration, errors = m.of_function(f["function"])
    invocations.inc()
    duration.observe(f["duration_seconds"])
    if failed:
        errors.inc()


_HANDLERS: dict[str, Callable[[Metrics, Any], None]] = {
    "message.dead_lettered": lambda m, f: m.dead_lettered.labels(f["queue"]).inc(),
    "invocation.succeeded": lambda m, f: _invoked(m, f, False),
    "invocation.failed": lambda m, f: _invoked(m, f, True),
    "invocation.throttled": lambda m, f: m.throttles.labels(f["function"]).inc(),
    "invocation.dead_lettered": lambda m, f: m.async_dead.labels(f["function"]).inc(),
    "batch.partially_failed": lambda m, f: m.partial.labels(f["function"], f["queue"]).inc(),
    "delivery.failed": lambda m, f: m.delivery_failed.labels(f["rule"]).inc(),
    "delivery.dead_lettered": lambda m, f: m.delivery_dead.labels(f["rule"]).inc(),
    "execution.succeeded": lambda m, f: m.executions.labels(f["machine"], f["status"]).inc(),
    "execution.failed": lambda m, f: m.executions.labels(f["machine"], f["status"]).inc(),
    "execution.state_entered": lambda m, f: m.transitions.labels(f["machine"]).inc(),
    "breaker.changed": lambda m, f: m.breakers.labels(f["breaker"], f["state"]).inc(),
    "fault.injected": lambda m, f: m.faults.labels(f["target"], f["action"]).inc(),
    "record.checkpointed": lambda m, f: m.iterator_age.labels(f["mapping"], f["shard"]).set(
        f["iterator_age_seconds"]
    ),
}
