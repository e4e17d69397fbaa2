"""A simulated third-party payment API on loopback: a quota, declines and outages.

``POST /charges`` ``{"booking_id", "amount", "card"}`` with an ``Idempotency-Key``: 201
``{"charge_id"}``, the same answer again for a key already seen (nothing new charged), 402
for a card containing ``declined``, 429 over the quota, 503 during an outage.
``POST /refunds`` ``{"booking_id"}`` refunds that booking's charge (a no-op without one).
``POST /admin/outage`` ``{"seconds": S}`` answers 503 to everything else for S seconds.
``GET /stats`` counts. The ledger FILE gets one JSON line per charge and per refund: the
provider's own record, which the reconciliation compares with the flight table.

    python -m examples.booking.payment_api --host 127.0.0.1 --port 8790 --record FILE
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from examples.booking.loopback import serve, service_parser


class Ledger:
    """The provider's state: answers by idempotency key, charges by booking, the file."""

    def __init__(self, record: Path, quota: int) -> None:
        self.record = record
        self.quota = quota
        self.lock = threading.Lock()
        self.answers: dict[str, tuple[int, dict[str, Any]]] = {}
        self.charges: dict[str, str] = {}  # booking_id -> charge_id (not refunded)
        self.recent: deque[float] = deque()
        self.down_until = 0.0
        self.counts = {"charges": 0, "refunds": 0, "declined": 0, "throttled": 0, "down": 0}

    def admit(self) -> int | None:
        """503 during an outage, 429 over the quota (per second), else None."""
        now = time.monotonic()
        if now < self.down_until:
            self.counts["down"] += 1
            return 503
        while self.recent and self.recent[0] < now - 1.0:
            self.recent.popleft()
        if len(self.recent) >= self.quota:
            self.counts["throttled"] += 1
            return 429
        self.recent.append(now)
        return None

    def write(self, line: dict[str, Any]) -> None:
        """Append one ledger line (flushed: the file is the record)."""
        with self.record.open("a") as f:
            f.write(json.dumps(line) + "\n")

    def charge(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Charge once per key; a declined card is answered 402 (and remembered)."""
        if "declined" in str(body.get("card", "")):
            self.counts["declined"] += 1
            return 402, {"error": "card_declined"}
        charge_id = "ch_" + uuid.uuid4().hex[:16]
        booking = str(body.get("booking_id"))
        self.charges[booking] = charge_id
        self.counts["charges"] += 1
        self.write(
            {
                "kind": "charge",
                "booking_id": booking,
                "charge_id": charge_id,
                "amount": body.get("amount"),
            }
        )
        return 201, {"charge_id": charge_id, "booking_id": booking}

    def refund(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Refund the booking's live charge, if there is one."""
        booking = str(body.get("booking_id"))
        charge_id = self.charges.pop(booking, None)
        if charge_id is None:
            return 200, {"refunded": None}
        self.counts["refunds"] += 1
        self.write({"kind": "refund", "booking_id": booking, "charge_id": charge_id})
        return 200, {"refunded": charge_id}

    def handle(self, path: str, key: str | None, body: dict[str, Any]) -> tuple[int, Any]:
        """One POST, under the lock (answers by key are the provider's idempotency)."""
        with self.lock:
            if path == "/admin/outage":
                self.down_until = time.monotonic() + float(body.get("seconds", 10))
                return 200, {"down_for": body.get("seconds", 10)}
            refused = self.admit()
            if refused is not None:
                return refused, {"error": "unavailable" if refused == 503 else "quota"}
            if key is not None and key in self.answers:
                return self.answers[key]
            if path not in ("/charges", "/refunds"):
                return 404, {"error": "not found"}
            answer = self.charge(body) if path == "/charges" else self.refund(body)
            if key is not None:
                self.answers[key] = answer
            return answer


def handler_for(ledger: Ledger) -> type[BaseHTTPRequestHandler]:
    """The request handler class bound to one ledger."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b"{}"
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = {}
            status, answer = ledger.handle(
                self.path,
                self.headers.get("Idempotency-Key"),
                body if isinstance(body, dict) else {},
            )
            self.reply(status, answer)

        def do_GET(self) -> None:
            with ledger.lock:
                stats = dict(ledger.counts, down=time.monotonic() < ledger.down_until)
            self.reply(200, stats)

        def reply(self, status: int, answer: Any) -> None:
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # quiet: the demo has a view
            pass

    return Handler


def main(argv: list[str] | None = None) -> None:
    """Serve until killed."""
    parser = service_parser(
        "examples.booking.payment_api", __doc__, 8790, "--record", "payments.jsonl"
    )
    parser.add_argument("--quota", type=int, default=50, help="requests per second")
    args = parser.parse_args(argv)
    args.record.touch()
    handler = handler_for(Ledger(args.record, args.quota))
    banner = f"payment API on http://{args.host}:{args.port} (ledger {args.record})"
    serve(args.host, args.port, handler, banner)


if __name__ == "__main__":
    main()
