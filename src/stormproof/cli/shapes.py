"""The JSON every command prints, in one style (documented in docs/cli.md):

- keys are camelCase, as in AWS's JSON APIs (``executionArn``, ``messageId``,
  ``visibilityTimeout``); only stormproof's own keys are renamed, never keys inside user
  data (bodies, attributes, event details, inputs and outputs);
- times are ISO-8601 UTC text (``2026-01-02T03:04:05.678+00:00``); durations are seconds
  as numbers; absent values are ``null``;
- internal bookkeeping (lease owners, lease expiry, cursors) is not shown.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from dataclasses import asdict
from typing import Any

from stormproof.machines.records import iso_time
from stormproof.queues import Queue
from stormproof.queues.messages import Message
from stormproof.queues.redrive import RedriveStatus

INTERNAL_KEYS = frozenset({"owner", "lease_until", "cursor", "last", "extra"})


def camel(key: str) -> str:
    """``lease_until`` -> ``leaseUntil``; keys without underscores are unchanged."""
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def camel_keys(
    data: Mapping[str, Any], times: Iterable[str] = (), drop: Iterable[str] = INTERNAL_KEYS
) -> dict[str, Any]:
    """The top-level keys camelCased (values untouched), ``times`` as ISO-8601 text."""
    times, drop = set(times), set(drop)
    return {
        camel(key): iso_time(value) if key in times else value
        for key, value in data.items()
        if key not in drop
    }


def queue_json(name: str, queue: Queue) -> dict[str, Any]:
    """A queue's attributes."""
    return camel_keys({"name": name, **asdict(queue.attributes)})


def message_json(msg: Message) -> dict[str, Any]:
    """A received message (Binary attribute values in base64)."""
    attrs = {
        k: base64.b64encode(v).decode() if isinstance(v, bytes) else v
        for k, v in msg.attributes.items()
    }
    return {
        "messageId": msg.message_id,
        "receiptHandle": msg.receipt_handle,
        "receiveCount": msg.receive_count,
        "body": msg.body,
        "attributes": attrs,
        "sentAt": msg.sent_at.isoformat(),
        "firstReceivedAt": msg.first_received_at.isoformat(),
        "groupId": msg.group_id,
        "dedupId": msg.dedup_id,
    }


def redrive_json(status: RedriveStatus) -> dict[str, Any]:
    """A DLQ redrive task's state and progress (no lease internals)."""
    return camel_keys(asdict(status), times={"started_at"})


REPLAY_TIMES = ("start", "end", "started_at", "ended_at", "event_last_replayed_time")


def replay_json(status: Any) -> dict[str, Any]:
    """An event replay's state and progress (no lease internals)."""
    return camel_keys(asdict(status), times=REPLAY_TIMES)
