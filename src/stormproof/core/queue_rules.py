"""SQS queue attributes and message limits: defaults, ranges and validation.

Every check raises an error naming the field (the Python keyword name), the value and
the allowed range, and runs before anything is stored.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from stormproof.core import json_limits, names, trace_context
from stormproof.core.numbers import whole_number
from stormproof.errors import (
    BatchRequestInvalid,
    InvalidAttribute,
    InvalidMessageContents,
    MessageTooLarge,
    MissingParameter,
    safe_repr,
)

MAX_NAME = 80
MAX_BATCH = 10
MAX_ATTRIBUTES = 10
MAX_MESSAGE_SIZE = 1_048_576
MAX_VISIBILITY = 43_200
MAX_DELAY = 900
MAX_WAIT = 20

_NAME_RE = re.compile(r"[A-Za-z0-9_-]+")
_ENTRY_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,80}")
# SQS allows #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF; this finds the rest.
_BAD_CHAR_RE = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ID_CHARS_RE = re.compile(r"[\x21-\x7e]{1,128}")
_REDRIVE_PERMISSIONS = ("allowAll", "denyAll", "byQueue")


@dataclass(frozen=True)
class QueueAttributes:
    """A queue's attributes with SQS's defaults (durations in seconds)."""

    fifo: bool = False
    visibility_timeout: float = 30
    delay: float = 0
    max_message_size: int = MAX_MESSAGE_SIZE
    retention: float = 345_600
    receive_wait: float = 0
    dead_letter: str | None = None
    max_receive_count: int = 10
    redrive_allow: Mapping[str, Any] | None = None
    content_based_deduplication: bool = False
    dedup_window: float = 300
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        """Serialise for the store."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["redrive_allow"] = dict(self.redrive_allow) if self.redrive_allow else None
        data["extra"] = dict(self.extra)
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> QueueAttributes:
        """Load from the store, ignoring fields this version does not know."""
        raw = json.loads(text)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in known})

    def merged(self, changes: Mapping[str, Any]) -> QueueAttributes:
        """A copy with ``changes`` applied (only explicitly passed attributes)."""
        return replace(self, **dict(changes))


def _range(name: str, value: Any, low: float, high: float, unit: str = "seconds") -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidAttribute(name, value, f"a number from {low:g} to {high:g} {unit}")
    if not low <= value <= high:
        raise InvalidAttribute(name, value, f"{low:g} to {high:g} {unit}")
    return value


def seconds(name: str, value: Any) -> Any:
    """Accept ``float | timedelta`` for durations, returning seconds."""
    total = getattr(value, "total_seconds", None)
    return total() if callable(total) else value


def validate_queue_name(name: Any, fifo: bool | None) -> bool:
    """Check a queue name and return whether the queue is FIFO."""
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME:
        raise InvalidAttribute("name", name, f"1 to {MAX_NAME} characters")
    is_fifo_name = name.endswith(".fifo")
    stem = name[: -len(".fifo")] if is_fifo_name else name
    if not names.is_name(_NAME_RE, stem):
        raise InvalidAttribute(
            "name", name, "letters, digits, '-' and '_' (plus a '.fifo' suffix on FIFO queues)"
        )
    if fifo is None:
        return is_fifo_name
    if bool(fifo) != is_fifo_name:
        raise InvalidAttribute(
            "fifo",
            fifo,
            "True exactly when the queue name ends in '.fifo' (the name is " + name + ")",
        )
    return bool(fifo)


def _is_queue_name(name: Any) -> bool:
    try:
        validate_queue_name(name, None)
    except InvalidAttribute:
        return False
    return True


def check_own_dead_letter(name: str, dead_letter: Any) -> None:
    """A queue cannot be its own dead-letter queue (said before looking the DLQ up)."""
    if dead_letter == name:
        raise InvalidAttribute(
            "dead_letter",
            dead_letter,
            f"a queue other than {name!r}: a queue cannot be its own DLQ",
        )


def validate_redrive_allow(value: Any) -> dict[str, Any] | None:
    """Normalise a redrive-allow policy: None, 'allowAll', 'denyAll', a list of names or a dict."""
    if value is None:
        return None
    if isinstance(value, str):
        value = {"redrivePermission": value}
    elif isinstance(value, list | tuple):
        value = {"redrivePermission": "byQueue", "sourceQueues": list(value)}
    if not isinstance(value, Mapping) or value.get("redrivePermission") not in _REDRIVE_PERMISSIONS:
        raise InvalidAttribute(
            "redrive_allow",
            value,
            "'allowAll', 'denyAll', or a list of up to 10 source queue names",
        )
    sources = value.get("sourceQueues") or []
    if isinstance(sources, str) or not isinstance(sources, list | tuple):
        raise InvalidAttribute("redrive_allow", value, "sourceQueues: a list of queue names")
    if value["redrivePermission"] == "byQueue" and not 1 <= len(sources) <= 10:
        raise InvalidAttribute("redrive_allow", value, "byQueue with 1 to 10 source queue names")
    for source in sources:
        if not _is_queue_name(source):
            raise InvalidAttribute(
                "redrive_allow", source, "source queue names valid as queue names"
            )
    sources = list(sources)
    return {"redrivePermission": value["redrivePermission"], "sourceQueues": sources}


_RANGES: dict[str, tuple[float, float, str]] = {
    "visibility_timeout": (0, MAX_VISIBILITY, "seconds"),
    "delay": (0, MAX_DELAY, "seconds"),
    "max_message_size": (1024, MAX_MESSAGE_SIZE, "bytes"),
    "retention": (60, 1_209_600, "seconds"),
    "receive_wait": (0, MAX_WAIT, "seconds"),
    "max_receive_count": (1, 1000, "receives"),
    # A window longer than SQS's fixed 5 minutes is a stormproof extension (up to 14 days).
    "dedup_window": (1, 1_209_600, "seconds"),
}


def validate_attribute_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Validate explicitly passed queue attributes; returns them normalised."""
    out: dict[str, Any] = {}
    for key, raw in changes.items():
        value = seconds(key, raw)
        if key in _RANGES:
            low, high, unit = _RANGES[key]
            value = _range(key, value, low, high, unit)
            if key in ("max_message_size", "max_receive_count") and value != int(value):
                raise InvalidAttribute(key, raw, f"a whole number from {low:g} to {high:g}")
            if key in ("max_message_size", "max_receive_count"):
                value = int(value)
        elif key == "redrive_allow":
            value = validate_redrive_allow(value)
        elif key == "content_based_deduplication":
            if not isinstance(value, bool):
                raise InvalidAttribute(key, value, "True or False")
        elif key == "dead_letter":
            if value is not None and not isinstance(value, str):
                raise InvalidAttribute(key, value, "a queue, a queue name or None")
        else:
            raise InvalidAttribute(key, value, "a known queue attribute")
        out[key] = value
    return out


def check_dead_letter(
    source: str, src: QueueAttributes, dlq_name: str, dlq: QueueAttributes
) -> None:
    """The DLQ must be of the source's type and allow it as a source."""
    check_own_dead_letter(source, dlq_name)
    if dlq.fifo != src.fifo:
        kind = "FIFO" if src.fifo else "standard"
        raise InvalidAttribute(
            "dead_letter", dlq_name, f"a {kind} queue, like its source {source!r}"
        )
    policy = dlq.redrive_allow
    if not policy:
        return
    permission = policy.get("redrivePermission")
    if permission == "denyAll" or (
        permission == "byQueue" and source not in (policy.get("sourceQueues") or [])
    ):
        raise InvalidAttribute(
            "dead_letter", dlq_name, f"a queue whose redrive_allow policy permits {source!r}"
        )


@dataclass(frozen=True)
class OutgoingMessage:
    """A validated message ready to enqueue."""

    body: str
    attributes: str | None
    delay: float
    group_id: str | None
    dedup_id: str | None
    size: int


def encode_body(body: Any) -> str:
    """A string body is kept as is; anything else is stored as its JSON text (strict JSON:
    no NaN or Infinity, at most ``json_limits.MAX_DEPTH`` levels deep)."""
    if isinstance(body, str):
        return body
    return json_limits.dumps("body", body, separators=(",", ":"))


def check_body_chars(body: str) -> None:
    """Reject characters SQS does not allow in a body."""
    bad = _BAD_CHAR_RE.search(body)
    if bad:
        raise InvalidMessageContents(bad.start(), bad.group())


def encode_attributes(attributes: Mapping[str, Any] | None) -> tuple[str | None, int]:
    """Type message attributes as SQS does (String, Number, Binary); returns JSON and size."""
    if not attributes:
        return None, 0
    if not isinstance(attributes, Mapping) or len(attributes) > MAX_ATTRIBUTES:
        raise InvalidAttribute(
            "attributes", attributes, f"a mapping of up to {MAX_ATTRIBUTES} names"
        )
    typed: dict[str, list[str]] = {}
    size = 0
    for name, value in attributes.items():
        if (
            not isinstance(name, str)
            or not names.is_name(_NAME_RE, name.replace(".", "_"))
            or len(name) > 256
        ):
            raise InvalidAttribute(
                "attributes", name, "names of 1-256 letters, digits, '-', '_', '.'"
            )
        kind, text = _typed_value(name, value)
        typed[name] = [kind, text]
        size += len(name.encode()) + len(kind) + len(text.encode())
    return json.dumps(typed, separators=(",", ":")), size


def _typed_value(name: str, value: Any) -> tuple[str, str]:
    import base64

    if isinstance(value, bool) or value is None:
        raise InvalidAttribute(f"attributes[{name!r}]", value, "a string, a number or bytes")
    if isinstance(value, str):
        check_body_chars(value)
        return "String", value
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise InvalidAttribute(f"attributes[{name!r}]", value, "a finite number")
        return "Number", repr(value)
    if isinstance(value, bytes | bytearray):
        return "Binary", base64.b64encode(bytes(value)).decode()
    raise InvalidAttribute(f"attributes[{name!r}]", value, "a string, a number or bytes")


def decode_attributes(text: str | None) -> dict[str, Any]:
    """Inverse of :func:`encode_attributes`: Python values typed as sent."""
    import base64

    if not text:
        return {}
    out: dict[str, Any] = {}
    for name, (kind, raw) in json.loads(text).items():
        if name == trace_context.KEY:  # a system attribute, not the sender's
            continue
        if kind == "Number":
            out[name] = float(raw) if any(c in raw for c in ".eEn") else int(raw)
        elif kind == "Binary":
            out[name] = base64.b64decode(raw)
        else:
            out[name] = raw
    return out


def _check_id(name: str, value: Any) -> str:
    if not names.is_name(_ID_CHARS_RE, value):
        raise InvalidAttribute(name, value, "1 to 128 characters, alphanumeric and punctuation")
    return str(value)


def prepare_message(
    attrs: QueueAttributes,
    body: Any,
    delay: Any = None,
    attributes: Mapping[str, Any] | None = None,
    group_id: str | None = None,
    dedup_id: str | None = None,
) -> OutgoingMessage:
    """Validate one message against its queue; raises before anything is stored."""
    text = encode_body(body)
    if not text:
        raise InvalidAttribute("body", body, "at least 1 character")
    check_body_chars(text)
    attr_json, attr_size = encode_attributes(attributes)
    size = len(text.encode("utf-8")) + attr_size
    if size > attrs.max_message_size:
        raise MessageTooLarge(size, attrs.max_message_size)
    real_delay = (
        attrs.delay if delay is None else _range("delay", seconds("delay", delay), 0, MAX_DELAY)
    )
    if group_id is not None:
        _check_id("group_id", group_id)
    if dedup_id is not None:
        _check_id("dedup_id", dedup_id)
    if attrs.fifo:
        if group_id is None:
            raise MissingParameter("group_id", "a FIFO queue needs group_id on every message")
        if dedup_id is None:
            if not attrs.content_based_deduplication:
                raise MissingParameter(
                    "dedup_id",
                    "a FIFO queue without content_based_deduplication needs dedup_id",
                )
            dedup_id = hashlib.sha256(text.encode("utf-8")).hexdigest()
    elif dedup_id is not None:
        raise InvalidAttribute("dedup_id", dedup_id, "None on a standard queue (FIFO only)")
    return OutgoingMessage(text, attr_json, float(real_delay), group_id, dedup_id, size)


def check_batch(entries: list[Mapping[str, Any]], total_limit: int | None = None) -> None:
    """Whole-batch rules: 1 to 10 entries, distinct valid ids."""
    if not entries:
        raise BatchRequestInvalid("EmptyBatchRequest", "the batch has no entries")
    if len(entries) > MAX_BATCH:
        raise BatchRequestInvalid(
            "TooManyEntriesInBatchRequest", f"{len(entries)} entries; the maximum is {MAX_BATCH}"
        )
    ids = [e.get("id") if isinstance(e, Mapping) else None for e in entries]
    for entry_id in ids:
        if not names.is_name(_ENTRY_ID_RE, entry_id):
            raise BatchRequestInvalid(
                "InvalidBatchEntryId", f"entry id {safe_repr(entry_id)}: 1-80 of [A-Za-z0-9_-]"
            )
    if len(set(ids)) != len(ids):
        raise BatchRequestInvalid("BatchEntryIdsNotDistinct", "two entries share an id")


def check_batch_size(total: int, limit: int = MAX_MESSAGE_SIZE) -> None:
    """The sum of a send batch's message sizes is capped like one message."""
    if total > limit:
        raise BatchRequestInvalid(
            "BatchRequestTooLong", f"the batch totals {total} bytes; the maximum is {limit}"
        )


def visibility(name: str, value: Any) -> float:
    """A visibility timeout in range (0 to 12 hours)."""
    return float(_range(name, seconds(name, value), 0, MAX_VISIBILITY))


def wait_time(value: Any) -> float:
    """A long-poll wait in range (0 to 20 s)."""
    return float(_range("wait", seconds("wait", value), 0, MAX_WAIT))


def max_messages(value: Any) -> int:
    """A receive size in range (1 to 10)."""
    return whole_number(
        "max_messages", value, 1, MAX_BATCH, allowed=f"a whole number from 1 to {MAX_BATCH}"
    )
