"""Request records: one state row per accepted request (``request:<id>``).

A record is created in the same unit of work that stores the request's work, and moves
``accepted -> running -> succeeded | failed``. :class:`UpdateRequest` changes it inside
another feature's unit of work (a function's completion, a queue message's deletion), and
when the request reaches a final state with a callback URL it enqueues the webhook
delivery in that same transaction.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from stormproof.core import trace_context
from stormproof.core.queue_rules import QueueAttributes, prepare_message
from stormproof.storage import queue_ops
from stormproof.storage.base import ClaimedRow, CompareAndSet, Enqueue, EntryStatus, OpResult
from stormproof.storage.message_ids import IdPool
from stormproof.storage.program import Dialect, Program, Stmt

PREFIX = "request:"
ID_PREFIX = "req_"
STATES = ("accepted", "running", "succeeded", "failed")
FINAL = ("succeeded", "failed")
WEBHOOK_QUEUE = "stormproof-webhooks"
WEBHOOK_DLQ = "stormproof-webhooks-dlq"
ATTRIBUTE = "stormproof-request-id"


def _request_ids(count: int) -> list[str]:
    raw = os.urandom(16 * count).hex()
    return [ID_PREFIX + raw[i : i + 32] for i in range(0, 32 * count, 32)]


# One os.urandom read per 256 ids: a getrandom system call per request was a few per
# cent of the front door's CPU per request.
_REQUEST_IDS = IdPool(_request_ids)


def new_request_id() -> str:
    """A fresh request id (128 random bits; the prefix lets hooks skip other ids cheaply)."""
    return _REQUEST_IDS.take()


def is_request_id(value: object) -> bool:
    """Whether ``value`` looks like a front-door request id."""
    return isinstance(value, str) and value.startswith(ID_PREFIX) and len(value) == 36


def key_of(request_id: str) -> str:
    """The state key of a request record."""
    return PREFIX + request_id


@dataclass
class RequestRecord:
    """What the store keeps about one request; ``target`` says where its work went."""

    id: str
    route: str
    state: str
    created: float
    updated: float
    target: dict[str, Any] = field(default_factory=dict)
    result: Any = None
    error: Any = None
    callback_url: str | None = None
    trace: str | None = None  # the accepting request's traceparent (the dashboard links it)

    def to_json(self) -> str:
        """The stored value."""
        return json.dumps(self.__dict__, separators=(",", ":"), default=str)

    @staticmethod
    def accepted_json(
        request_id: str,
        route_json: str,
        now: float,
        target_json: str,
        callback_url: str | None,
        trace: str | None,
    ) -> str:
        """``to_json()`` of a new ``accepted`` record (no result, no error), the same
        text, built by formatting: the front door stores one per request, and the
        generic ``json.dumps`` of the dataclass's dict was a few per cent of its CPU.
        ``route_json`` and ``target_json`` are the JSON texts of the route and target
        (``json.dumps(route)``, ``json.dumps(target, separators=(",", ":"))``), which a
        caller computes once per route."""
        # What json.dumps writes for a float (a fake clock may give an int: its way too).
        stamp = float.__repr__(now) if type(now) is float else json.dumps(now)
        return (
            f'{{"id":{_text(request_id)},"route":{route_json},"state":"accepted",'
            f'"created":{stamp},"updated":{stamp},"target":{target_json},'
            f'"result":null,"error":null,"callback_url":{_text(callback_url)},'
            f'"trace":{_text(trace)}}}'
        )

    @classmethod
    def from_json(cls, text: str) -> RequestRecord:
        """Parse a stored value."""
        return cls(**json.loads(text))

    def answer(self) -> dict[str, Any]:
        """The ``GET /requests/{id}`` body."""
        body: dict[str, Any] = {
            "request_id": self.id,
            "state": self.state,
            "created": self.created,
            "updated": self.updated,
        }
        if self.state == "failed":
            body["error"] = self.error
        elif self.state == "succeeded":
            body["result"] = self.result
        return body

    def insert_op(self) -> CompareAndSet:
        """The operation creating this record (fails if the id exists)."""
        return CompareAndSet(key_of(self.id), None, self.to_json())


def _text(value: str | None) -> str:
    """A string (or None) as ``json.dumps`` writes it."""
    return "null" if value is None else _encode_string(value)


_encode_string = json.encoder.encode_basestring_ascii  # json.dumps's own, in C


def webhook_event(record: RequestRecord) -> dict[str, Any]:
    """The webhook payload announcing a request's final state."""
    return {
        "type": f"request.{record.state}",
        "timestamp": record.updated,
        "data": record.answer(),
        "callback_url": record.callback_url,
        "route": record.route,  # popped before sending (it names the webhook: chaos target)
    }


@dataclass(frozen=True)
class UpdateRequest:
    """Move a request record to ``state`` (no-op when it is absent or already final)."""

    request_id: str
    state: str
    now: float
    result: Any = None
    error: Any = None
    # The finished work's trace context, for its webhook (taken on the caller's task).
    trace: str | None = field(default_factory=trace_context.current_traceparent)

    def program(self, dialect: Dialect) -> Program[OpResult]:
        """Read the record, write the new state, enqueue its webhook if it just finished."""
        rows = yield Stmt("state_get", {"key": key_of(self.request_id)})
        if not rows:
            return OpResult([EntryStatus.GONE])
        _, version, value, _ = rows[0]
        record = RequestRecord.from_json(value)
        if record.state in FINAL:
            return OpResult([EntryStatus.OK], [record.state])
        record.state, record.updated = self.state, self.now
        record.result, record.error = self.result, self.error
        written = yield Stmt(
            "cas_update",
            {"key": key_of(self.request_id), "value": record.to_json(), "expected": version},
        )
        if not written:
            return OpResult([EntryStatus.STALE])
        if record.state in FINAL and record.callback_url:
            message = prepare_message(QueueAttributes(), json.dumps(webhook_event(record)))
            yield from queue_ops.enqueue(
                dialect, Enqueue(WEBHOOK_QUEUE, [message], trace=self.trace)
            )
        return OpResult([EntryStatus.OK], [record.state])

    def is_stale(self, result: OpResult) -> bool:
        """A missing record never sinks the unit that reports on it."""
        return False


def outcome_ops(
    request_id: str, state: str, now: float, result: Any = None, error: Any = None
) -> list[UpdateRequest]:
    """The record update for work that carried ``request_id`` ([] for other ids)."""
    if not is_request_id(request_id):
        return []
    return [UpdateRequest(request_id, state, now, result, error)]


def request_of(row: ClaimedRow) -> str | None:
    """The front-door request id a queue message carries, if any."""
    if not row.attributes or ATTRIBUTE not in row.attributes:
        return None  # the common case costs a substring test, not a JSON parse
    kind_text = json.loads(row.attributes).get(ATTRIBUTE)
    value = kind_text[1] if isinstance(kind_text, list) and len(kind_text) == 2 else None
    return value if is_request_id(value) else None


def sweep(prefix: str, retention: float, limit: int) -> Program[int]:
    """Delete up to ``limit`` state rows under ``prefix`` last written more than
    ``retention`` seconds ago (by the store's clock); how many went."""
    rows = yield Stmt(
        "state_sweep",
        {"lo": prefix, "hi": prefix + "\U0010ffff", "retention": retention, "limit": limit},
    )
    return int(rows[0][0])
