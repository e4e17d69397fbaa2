"""How the demo's two small HTTP services start: the payment API and the receiver.

Each takes ``--host``, ``--port`` and the one file it writes, and serves until SIGINT
(the demo stops its processes that way).
"""

from __future__ import annotations

import argparse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def service_parser(
    module: str, doc: str | None, port: int, file_option: str, file_default: str
) -> argparse.ArgumentParser:
    """``python -m <module>``'s arguments: ``--host``, ``--port`` and ``file_option``."""
    parser = argparse.ArgumentParser(
        prog=f"python -m {module}", description=(doc or "").splitlines()[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=port)
    parser.add_argument(file_option, type=Path, default=Path(file_default))
    return parser


def serve(host: str, port: int, handler: type[BaseHTTPRequestHandler], banner: str) -> None:
    """Serve ``handler`` on ``host:port`` (a thread per request) until SIGINT, after
    printing ``banner`` (the demo waits for it)."""
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    print(banner, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:  # the demo stops its processes with SIGINT
        pass
