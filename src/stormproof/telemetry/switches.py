"""The app's telemetry switches: Prometheus metrics and OpenTelemetry traces, off until
asked for (both need the ``stormproof[telemetry]`` extra, imported only then).

Mixed into :class:`stormproof.App`; counting and tracing stop when the app closes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stormproof.errors import StormproofError
from stormproof.storage.base import Store


class TelemetrySwitches:
    """``app.enable_metrics``, ``app.enable_tracing`` and ``app.metrics_exposition``."""

    name: str
    _store: Store | None
    _metrics: Any  # telemetry.metrics.Metrics once enable_metrics() ran
    _unsubscribe_metrics: Callable[[], None]
    _disable_tracing: Callable[[], None]

    def _telemetry_off(self) -> None:
        """Nothing counted or traced (also the state of a new app)."""
        self._metrics, self._unsubscribe_metrics = None, lambda: None
        self._disable_tracing = lambda: None

    def _stop_telemetry(self) -> None:
        """Stop counting and tracing (a reopened app starts anew)."""
        self._unsubscribe_metrics()
        self._disable_tracing()
        self._telemetry_off()

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
