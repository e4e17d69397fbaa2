"""The notification receiver: verifies each signed webhook and writes it to a file.

Three kinds arrive: the bus's booking notifications (``X-Stormproof-Signature: t=..,v1=..``,
HMAC-SHA256 of ``"<t>.<body>"``) on ``/notifications``; the alarms' notifications (plain
JSON: stormproof's alarm webhooks are not signed, so this path trusts loopback only) on
``/alarms``; and the front door's outcome webhooks (Standard Webhooks, checked with
``stormproof.webhooks.verify``) on any other path. A bad signature is answered 401 and not
recorded.

    python -m examples.booking.receiver --host 127.0.0.1 --port 8791 --out FILE
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from examples.booking.loopback import serve, service_parser
from examples.booking.settings import webhook_secret
from stormproof import webhooks

KINDS = {"/notifications": "notification", "/alarms": "alarm"}  # path -> the record's kind


def bus_signature_ok(header: str, body: bytes, secret: str | None = None) -> bool:
    """Check the bus target's ``t=<unix>,v1=<hex>`` HMAC signature."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    stamp, given = parts.get("t", ""), parts.get("v1", "")
    mac = hmac.new(
        (secret or webhook_secret()).encode(), stamp.encode() + b"." + body, hashlib.sha256
    )
    return bool(stamp) and hmac.compare_digest(mac.hexdigest(), given)


def verified(path: str, headers: Any, body: bytes) -> bool:
    """Whether the request carries a valid signature of its kind."""
    if path == "/alarms":
        return True  # unsigned (see the module's docstring)
    if path == "/notifications":
        return bus_signature_ok(headers.get("X-Stormproof-Signature", ""), body)
    try:
        webhooks.verify(webhook_secret(), dict(headers.items()), body)
    except Exception:
        return False
    return True


def handler_for(out: Path) -> type[BaseHTTPRequestHandler]:
    """The request handler class writing to ``out``."""
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            ok = verified(self.path, self.headers, body)
            if ok:
                kind = KINDS.get(self.path, "outcome")
                with lock, out.open("a") as f:
                    f.write(json.dumps({"kind": kind, "body": json.loads(body or b"null")}) + "\n")
            self.send_response(204 if ok else 401)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def main(argv: list[str] | None = None) -> None:
    """Serve until killed."""
    parser = service_parser("examples.booking.receiver", __doc__, 8791, "--out", "received.jsonl")
    args = parser.parse_args(argv)
    args.out.touch()
    banner = f"receiver on http://{args.host}:{args.port} (writes {args.out})"
    serve(args.host, args.port, handler_for(args.out), banner)


if __name__ == "__main__":
    main()
