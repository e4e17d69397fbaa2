"""What an alarm notification says: pure functions from runtime-event fields to its body.

A notification about a dead-lettered message, a failed execution, an async invocation or
a bus delivery given up carries its *incidents*: the failing event itself (or, above
:data:`MAX_INLINE_EVENT` bytes of JSON, a link to fetch it from the dashboard), the error
type and message, attempts, timestamps and the exact CLI command that redrives it.
"""

from __future__ import annotations

import json
import shlex
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

MAX_INLINE_EVENT = 16_384  # bytes of JSON; a larger event is linked, not copied
MAX_INCIDENTS = 50  # per notification: the newest ones (all an object keeps)
INCIDENT_EVENTS = (
    "message.dead_lettered",
    "invocation.dead_lettered",
    "delivery.dead_lettered",
    "execution.failed",
    "stream.batch_dropped",
)


def iso(at: float | None) -> str | None:
    """An epoch time as ISO 8601 UTC (milliseconds), or None."""
    if at is None:
        return None
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds")


def subject_of(name: str, fields: dict[str, Any]) -> tuple[str, str] | None:
    """The (kind, name) an incident is about, to match it with alarms on that object."""
    if name == "message.dead_lettered":
        return ("queue", fields["dlq"])
    if name == "execution.failed":
        return ("machine", fields["machine"])
    if name == "invocation.dead_lettered":
        return ("queue", fields["destination"]) if fields.get("destination") else None
    if name == "delivery.dead_lettered":
        return ("queue", fields["dlq"]) if fields.get("dlq") else None
    if name == "stream.batch_dropped":
        return ("queue", fields["destination"]) if fields.get("destination") else None
    return None


def _event(value: Any, link: str, limit: int) -> dict[str, Any]:
    text = json.dumps(value, default=str)
    if len(text.encode()) <= limit:
        return {"event": value}
    return {"event": None, "event_size": len(text.encode()), "event_link": link}


def incident(
    name: str,
    fields: dict[str, Any],
    at: float,
    *,
    link_base: str = "",
    limit: int = MAX_INLINE_EVENT,
) -> dict[str, Any] | None:
    """The diagnostic details of one runtime event, or None for events that are not
    incidents. ``link_base`` prefixes dashboard links (``http://host:port``)."""
    if name == "message.dead_lettered":
        return _dead_lettered(fields, at, link_base, limit)
    if name == "execution.failed":
        return _failed_execution(fields, link_base, limit)
    if name in ("invocation.dead_lettered", "delivery.dead_lettered"):
        return _given_up(name, fields, at, link_base, limit)
    if name == "stream.batch_dropped":
        return _dropped(fields, at, limit)
    return None


def _dead_lettered(f: dict[str, Any], at: float, base: str, limit: int) -> dict[str, Any]:
    """A message moved to its queue's DLQ, linked to its page there."""
    dlq, mid = f["dlq"], f["message_id"]
    link = f"{base}/ui/queues/{quote(dlq)}/messages/{quote(mid)}"
    return {
        "kind": "dead_lettered_message",
        "queue": f["queue"],
        "dlq": dlq,
        "message_id": mid,
        **_event(f.get("body"), link, limit),
        "attributes": f.get("attributes") or {},
        "attempts": f.get("attempt"),
        "error_type": f.get("error_type"),
        "error_message": f.get("error_message"),
        "sent_at": iso(f.get("sent_at")),
        "dead_lettered_at": iso(at),
        "redrive": f"stormproof dlq redrive {shlex.quote(dlq)}",
    }


def _failed_execution(f: dict[str, Any], base: str, limit: int) -> dict[str, Any]:
    """An execution that failed, timed out or was aborted, linked to its page."""
    arn = f["execution_arn"]
    link = f"{base}/ui/executions/{quote(arn, safe=':')}"
    return {
        "kind": "failed_execution",
        "machine": f["machine"],
        "execution_arn": arn,
        "status": f.get("status"),
        **_event(f.get("input"), link, limit),
        "error_type": f.get("error_type"),
        "error_message": f.get("error_message"),
        "started_at": iso(f.get("start_time")),
        "failed_at": iso(f.get("stop_time")),
        "redrive": f"stormproof executions redrive {shlex.quote(arn)}",
    }


def _dropped(f: dict[str, Any], at: float, limit: int) -> dict[str, Any]:
    """A stream batch given up: the on-failure record, and the command that reads the
    records again (they stay in the stream until its retention ends)."""
    info = f["record"].get("KinesisBatchInfo", {})
    fetch = (
        f"stormproof streams read {shlex.quote(f['stream'])} {shlex.quote(f['shard_id'])} "
        f"--at {info.get('startSequenceNumber')} --limit {info.get('batchSize')}"
    )
    return {
        "kind": "dropped_stream_batch",
        "function": f["function"],
        "stream": f["stream"],
        "shard_id": f["shard_id"],
        "destination": f.get("destination"),
        **_event(f["record"], "", limit),
        "error_type": f.get("condition"),
        "error_message": f"{info.get('batchSize')} record(s) "
        f"{info.get('startSequenceNumber')}-{info.get('endSequenceNumber')} given up",
        "attempts": f.get("attempt"),
        "first_arrival": info.get("approximateArrivalOfFirstRecord"),
        "dropped_at": iso(at),
        "redrive": None,
        "fetch": fetch,
    }


def _given_up(name: str, f: dict[str, Any], at: float, base: str, limit: int) -> dict[str, Any]:
    """An async invocation or a bus delivery given up (sent to its on-failure queue)."""
    dest = f.get("destination") if name == "invocation.dead_lettered" else f.get("dlq")
    error: dict[str, Any] = f["error"] if isinstance(f.get("error"), dict) else {}
    kind = "failed_invocation" if name == "invocation.dead_lettered" else "failed_delivery"
    owner = (
        {"function": f.get("function")}
        if kind == "failed_invocation"
        else {"rule": f.get("rule"), "target": f.get("target")}
    )
    link = f"{base}/ui/queues/{quote(str(dest))}" if dest else ""
    return {
        "kind": kind,
        **owner,
        "destination": dest,
        **_event(f.get("event"), link, limit),
        "error_type": f.get("error_type") or error.get("errorType"),
        "error_message": f.get("error_message") or error.get("errorMessage"),
        "attempts": f.get("attempt"),
        "condition": f.get("condition"),
        "enqueued_at": iso(f.get("enqueued_at")),
        "given_up_at": iso(at),
        "redrive": f"stormproof dlq redrive {shlex.quote(str(dest))}" if dest else None,
    }


def notification(
    app: str,
    alarm: str,
    metric: str,
    old: dict[str, Any],
    new: dict[str, Any],
    incidents: list[dict[str, Any]],
) -> dict[str, Any]:
    """The body every target receives (and the default bus's ``Alarm State Change``
    detail): the alarm, its old and new state, the reason and the newest incidents."""
    return {
        "app": app,
        "alarm": alarm,
        "metric": metric,
        "from": old["state"],
        "to": new["state"],
        "reason": new["reason"],
        "value": new["value"],
        "at": iso(new["changed_at"]),
        "incidents": incidents[-MAX_INCIDENTS:],
    }


def email_text(body: dict[str, Any]) -> tuple[str, str]:
    """The subject and plain-text body of the e-mail for ``body``."""
    subject = f"[stormproof] {body['alarm']} is {body['to']} ({body['app']})"
    lines = [
        f"{body['alarm']}: {body['from']} -> {body['to']} at {body['at']}",
        f"reason: {body['reason']}",
        "",
    ]
    for item in body["incidents"]:
        lines.append(f"- {item['kind']}: {item.get('error_type')}: {item.get('error_message')}")
        if item.get("redrive"):
            lines.append(f"  redrive: {item['redrive']}")
    lines += ["", json.dumps(body, indent=2, default=str)]
    return subject, "\n".join(lines)
