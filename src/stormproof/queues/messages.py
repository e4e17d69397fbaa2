"""What a receive returns, receipt handles, and the results of batch calls."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from stormproof.core import trace_context
from stormproof.core.queue_rules import decode_attributes
from stormproof.errors import ReceiptHandleIsInvalid
from stormproof.storage.base import ClaimedRow, Lease

_SEP = "\x1f"


def encode_handle(queue: str, rowid: int, token: str) -> str:
    """A receipt handle names the queue, the message row and the receive's token."""
    raw = f"{queue}{_SEP}{rowid}{_SEP}{token}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_handle(queue: str, handle: str) -> Lease:
    """The lease a handle stands for; malformed or foreign handles are invalid."""
    if not isinstance(handle, str) or not handle:
        raise ReceiptHandleIsInvalid(str(handle), "not a receipt handle")
    try:
        raw = base64.urlsafe_b64decode(handle + "=" * (-len(handle) % 4)).decode()
        name, rowid, token = raw.split(_SEP)
        lease = Lease(int(rowid), token)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ReceiptHandleIsInvalid(handle, "not a receipt handle") from None
    if name != queue:
        raise ReceiptHandleIsInvalid(handle, f"it belongs to queue {name!r}, not {queue!r}")
    return lease


@dataclass(frozen=True)
class Message:
    """A received message.

    ``attributes`` are the message attributes (String, Number or Binary values as sent);
    ``sent_at`` and ``first_received_at`` are aware UTC datetimes; ``receive_count`` is
    exact (SQS's ApproximateReceiveCount).
    """

    queue: str
    message_id: str
    receipt_handle: str
    body: str
    attributes: dict[str, Any]
    receive_count: int
    sent_at: datetime
    first_received_at: datetime
    group_id: str | None = None
    dedup_id: str | None = None
    # The W3C traceparent the message carries (SQS's AWSTraceHeader system attribute).
    trace_header: str | None = None

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)

    @classmethod
    def from_row(cls, queue: str, row: ClaimedRow) -> Message:
        """Build from a claimed store row."""
        return cls(
            queue=queue,
            message_id=row.message_id,
            receipt_handle=encode_handle(queue, row.rowid, row.token),
            body=row.body,
            attributes=decode_attributes(row.attributes),
            receive_count=row.receive_count,
            sent_at=datetime.fromtimestamp(row.sent_at, UTC),
            first_received_at=datetime.fromtimestamp(row.first_received_at, UTC),
            group_id=row.group_id,
            dedup_id=row.dedup_id,
            trace_header=trace_context.read(row.attributes),
        )


@dataclass
class BatchResult:
    """Per-entry outcome of a batch call.

    ``successful``: ``(id, message_id)`` for sends, ``(id, receipt_handle)`` for deletes and
    visibility changes; ``failed``: ``(id, code, message, sender_fault)``.
    """

    successful: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str, str, bool]] = field(default_factory=list)


@dataclass(frozen=True)
class QueueStats:
    """Message counts; ``oldest_age`` is the age in seconds of the oldest message, or None."""

    visible: int
    in_flight: int
    delayed: int
    oldest_age: float | None

    @property
    def total(self) -> int:
        """Every message in the queue."""
        return self.visible + self.in_flight + self.delayed
