"""Async-invocation jobs: what ``invoke_async`` stores on a function's internal queue."""

from __future__ import annotations

import json
import sys
import uuid
from dataclasses import dataclass
from typing import Any

from stormproof.core import json_limits
from stormproof.core import queue_rules as rules
from stormproof.engine.runtime import Runtime
from stormproof.storage.base import Enqueue


@dataclass(frozen=True)
class Job:
    """One async invocation as stored on the internal queue.

    ``attempts`` counts runs that failed so far; ``enqueued_at`` is when ``invoke_async``
    stored it (retries keep it); ``error`` is the last failure's response payload.
    """

    request_id: str
    event: Any
    attempts: int
    enqueued_at: float
    error: dict[str, Any] | None = None

    @classmethod
    def new(cls, event: Any, now: float, request_id: str | None = None) -> Job:
        """A fresh job."""
        return cls(request_id or str(uuid.uuid4()), event, 0, now)

    def body(self) -> str:
        """The message body."""
        data = {
            "requestId": self.request_id,
            "event": self.event,
            "attempts": self.attempts,
            "enqueuedAt": self.enqueued_at,
            "error": self.error,
        }
        # No depth limit of its own: a bus event (1,000 levels) may be a job's event.
        return json_limits.dumps("event", data, limit=sys.maxsize, separators=(",", ":"))

    @classmethod
    def from_body(cls, text: str) -> Job:
        """Parse a message body."""
        data = json.loads(text)
        return cls(
            data["requestId"],
            data["event"],
            int(data["attempts"]),
            float(data["enqueuedAt"]),
            data.get("error"),
        )


def enqueue_job_op(app: Runtime, queue: str, job: Job, delay: float | None = None) -> Enqueue:
    """The unit-of-work operation storing ``job`` on an internal queue."""
    attrs = app.attributes_of(queue)
    msg = rules.prepare_message(attrs, job.body(), delay)
    return Enqueue(queue, [msg], attrs.dedup_window, attrs.fifo)
