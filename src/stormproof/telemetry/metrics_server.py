"""A worker's ``--metrics-port``: ``/metrics``, ``/healthz`` and ``/readyz`` on a thread.

The worker's event loop stays free of HTTP: a scrape runs on the server's thread and reads
the queue depths on the app's loop through ``refresh`` (``App.run_sync``).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from stormproof.telemetry.metrics import CONTENT_TYPE, Metrics

log = logging.getLogger("stormproof.telemetry.metrics_server")


class MetricsServer:
    """Serves one :class:`Metrics`; ``refresh()`` reads depths and says whether the store
    answered (readiness). :attr:`port` is the bound port (ask for 0 to get a free one)."""

    def __init__(self, metrics: Metrics, refresh: Callable[[], bool], host: str, port: int):
        handler = _handler(metrics, refresh)
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="stormproof-metrics", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def _handler(metrics: Metrics, refresh: Callable[[], bool]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
                self._send(200, "application/json", json.dumps({"status": "alive"}).encode())
            elif path == "/readyz":
                ready = _safely(refresh)
                body = json.dumps({"status": "ready" if ready else "not ready"}).encode()
                self._send(200 if ready else 503, "application/json", body)
            elif path == "/metrics":
                _safely(refresh)  # an unreachable store keeps the last depths
                self._send(200, CONTENT_TYPE, metrics.text())
            else:
                self._send(404, "application/json", b'{"error": "not found"}')

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return  # scrapes every few seconds would drown the worker's log

    return Handler


def _safely(refresh: Callable[[], bool]) -> bool:
    try:
        return refresh()
    except Exception:
        log.warning("event=metrics.refresh_failed", exc_info=True)
        return False
