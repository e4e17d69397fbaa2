"""PutEvents: validating entries and building the event envelopes (spec §3.1).

An entry is ``{"source", "detail_type", "detail", "resources"?, "time"?}``. Problems of the
whole request (no entries, more than 10, 256 KB or more, every entry lacking a required
field) raise ``InvalidAttribute``; a problem of one entry fails that entry only, with
AWS's error code, as ``PutEvents`` reports it.

The delivered envelope uses AWS's field names; ``account`` is always
:data:`~stormproof.core.identity.ACCOUNT` and ``region``
:data:`~stormproof.core.identity.REGION`, as in state machine ARNs.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from stormproof.core import identity
from stormproof.errors import InvalidAttribute

ACCOUNT: Final = identity.ACCOUNT
REGION: Final = identity.REGION
MAX_ENTRIES: Final = 10
MAX_REQUEST_BYTES: Final = 256 * 1024
MAX_DEPTH: Final = 1000
_INT64 = (-(2**63), 2**63 - 1)
_KEYS = {"source", "detail_type", "detail", "resources", "time"}
_REQUIRED = ("source", "detail_type", "detail")
_AWS_NAMES = {"source": "Source", "detail_type": "DetailType", "detail": "Detail"}


@dataclass(frozen=True)
class ResultEntry:
    """One entry's outcome: ``event_id``, or ``error_code`` and ``error_message``."""

    event_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None


@dataclass(frozen=True)
class PutEventsResult:
    """``PutEvents``'s answer: one :class:`ResultEntry` per entry, in order."""

    entries: list[ResultEntry] = field(default_factory=list)

    @property
    def failed_entry_count(self) -> int:
        """How many entries failed."""
        return sum(1 for e in self.entries if e.error_code is not None)


class EntryError(Exception):
    """One entry is invalid (reported in its ``ResultEntry``, not raised to the caller)."""

    def __init__(self, code: str, message: str, missing: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.missing = missing


def check_request(entries: Any) -> list[Any]:
    """Whole-request checks: 1-10 entries, total size under 256 KB."""
    if isinstance(entries, str | bytes | Mapping) or not isinstance(entries, Sequence):
        raise InvalidAttribute("entries", entries, "a list of 1 to 10 entry mappings")
    if not 1 <= len(entries) <= MAX_ENTRIES:
        raise InvalidAttribute("entries", len(entries), f"1 to {MAX_ENTRIES} entries")
    size = sum(entry_size(e) for e in entries)
    if size >= MAX_REQUEST_BYTES:
        raise InvalidAttribute("entries", f"{size} bytes", f"under {MAX_REQUEST_BYTES} bytes")
    return list(entries)


def entry_size(entry: Any) -> int:
    """AWS's entry size: UTF-8 bytes of source, detail type, detail and resources (+14 for
    a time)."""
    if not isinstance(entry, Mapping):
        return 0
    size = 14 if entry.get("time") is not None else 0
    for key in ("source", "detail_type"):
        value = entry.get(key)
        size += len(value.encode("utf-8", "surrogatepass")) if isinstance(value, str) else 0
    detail = entry.get("detail")
    if isinstance(detail, str):
        size += len(detail.encode("utf-8", "surrogatepass"))
    elif detail is not None:
        try:
            size += len(json.dumps(detail, separators=(",", ":")).encode())
        except (TypeError, ValueError, RecursionError):
            pass  # reported as a malformed detail when the entry is built
    resources = entry.get("resources")
    for resource in resources if isinstance(resources, list | tuple) else ():
        size += len(resource.encode("utf-8", "surrogatepass")) if isinstance(resource, str) else 0
    return size


def build_envelope(entry: Any, now: float) -> dict[str, Any]:
    """The event for one entry; raises :class:`EntryError`."""
    if not isinstance(entry, Mapping):
        raise EntryError("InvalidArgument", "An entry must be a mapping.")
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        raise EntryError("InvalidArgument", f"Unknown entry fields {unknown}; allowed {_KEYS}.")
    for key in _REQUIRED:
        value = entry.get(key)
        if value is None or value == "":
            name = _AWS_NAMES[key]
            raise EntryError(
                "InvalidArgument",
                f"Parameter {name} is not valid. Reason: {name} is a required argument.",
                missing=True,
            )
    source, detail_type = entry["source"], entry["detail_type"]
    for key, value in (("Source", source), ("DetailType", detail_type)):
        if not isinstance(value, str) or len(value) > 256:
            raise EntryError("InvalidArgument", f"Parameter {key} is not valid: 1-256 chars.")
    if source.startswith("aws."):
        raise EntryError(
            "NotAuthorizedForSourceException",
            f"Not authorized for the source. (sources beginning with 'aws.' are reserved for "
            f"AWS services; got {source!r})",
        )
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": ACCOUNT,
        "time": format_time(_event_time(entry.get("time"), now)),
        "region": REGION,
        "resources": _resources(entry.get("resources")),
        "detail": _detail(entry["detail"]),
    }


def format_time(t: float) -> str:
    """AWS's event time format: ``2024-01-01T12:00:00Z``."""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: Any) -> float:
    """Epoch seconds of an envelope's ``time`` (0.0 if it cannot be read)."""
    try:
        return _event_time(text, 0.0)
    except EntryError:
        return 0.0


def _event_time(value: Any, now: float) -> float:
    """Epoch seconds of an entry's time; a time ``datetime`` cannot hold is refused."""
    seconds = _epoch(value, now)
    try:
        datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise EntryError(
            "InvalidArgument", "Parameter Time is not valid: a time from year 1 to 9999."
        ) from None
    return seconds


def _epoch(value: Any, now: float) -> float:
    if value is None:
        return now
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
    raise EntryError("InvalidArgument", "Parameter Time is not valid: an ISO-8601 time.")


def _resources(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise EntryError("InvalidArgument", "Parameter Resources is not valid: a list.")
    if not all(isinstance(r, str) and 0 < len(r) <= 2048 for r in value):
        raise EntryError("InvalidArgument", "Parameter Resources is not valid: strings.")
    return list(value)


def _detail(value: Any) -> dict[str, Any]:
    """The detail object; AWS's terse ``Detail is malformed.`` is followed by why."""
    try:
        parsed = json.loads(value) if isinstance(value, str) else value
        if not isinstance(parsed, dict):
            raise ValueError(f"detail must be a JSON object, got a JSON {_json_kind(parsed)}")
        _check_json(parsed)
        # Round-trip so what is stored is exactly what JSON can carry.
        result: dict[str, Any] = json.loads(json.dumps(parsed, allow_nan=False))
    except json.JSONDecodeError as exc:
        raise _malformed(f"detail is not valid JSON: {exc}") from None
    except (TypeError, ValueError, RecursionError) as exc:
        raise _malformed(str(exc) or type(exc).__name__) from None
    return result


def _malformed(why: str) -> EntryError:
    return EntryError("MalformedDetail", f"Detail is malformed. ({why})")


def _json_kind(value: Any) -> str:
    kinds = ((bool, "boolean"), (int | float, "number"), (str, "string"), (list, "array"))
    if value is None:
        return "null"
    return next((name for cls, name in kinds if isinstance(value, cls)), type(value).__name__)


def _check_json(value: Any) -> None:
    """Depth at most 1,000 and integers within 64 bits (spec §3.1), without recursion."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ValueError(f"detail is nested deeper than {MAX_DEPTH} levels")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
        elif isinstance(item, int) and not _INT64[0] <= item <= _INT64[1]:
            raise ValueError("detail holds an integer outside the 64-bit range")
