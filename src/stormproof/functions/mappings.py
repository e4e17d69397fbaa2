"""Event-source mappings: their definition and AWS's ranges, the event shape, and filters.

An :class:`EventSourceMapping` connects a queue to a function (``app.consume(...)``); the
worker (:mod:`stormproof.engine.consumer`) runs it. The event a handler gets has Lambda's SQS
shape, with stormproof resource names in place of ARNs (``stormproof:sqs:<queue>``)::

    {"Records": [{"messageId": "...", "receiptHandle": "...", "body": "...",
                  "attributes": {"ApproximateReceiveCount": "1",
                                 "SentTimestamp": "1767225600000",
                                 "SenderId": "stormproof",
                                 "ApproximateFirstReceiveTimestamp": "1767225600012",
                                 # FIFO only:
                                 "MessageGroupId": "g", "MessageDeduplicationId": "d",
                                 "SequenceNumber": "42"},
                  "messageAttributes": {"name": {"stringValue": "x", "dataType": "String",
                                                 "stringListValues": [],
                                                 "binaryListValues": []}},
                  "md5OfBody": "...", "eventSource": "aws:sqs",
                  "eventSourceARN": "stormproof:sqs:orders"}]}
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stormproof.core import queue_rules as rules
from stormproof.core import trace_context
from stormproof.core.patterns import Pattern, compile_pattern
from stormproof.core.patterns.flatten import flatten, path_prefixes
from stormproof.core.patterns.match import branch_matches
from stormproof.errors import InvalidAttribute
from stormproof.queues.messages import encode_handle
from stormproof.storage.base import ClaimedRow

if TYPE_CHECKING:
    from stormproof.functions.function import Function
    from stormproof.functions.transactions import TransactionFunction

log = logging.getLogger("stormproof.functions.mappings")

MAX_BATCH_SIZE = 10_000
MAX_FIFO_BATCH_SIZE = 10
MAX_BATCH_WINDOW = 300.0
MAX_CONCURRENCY_RANGE = (2, 1000)
Record = dict[str, Any]
Filter = Callable[[Record], bool]


@dataclass(frozen=True)
class EventSourceMapping:
    """A queue consumed by a function, with Lambda's mapping settings."""

    queue: str
    function: Function | TransactionFunction
    batch_size: int
    batch_window: float
    max_concurrency: int | None
    report_batch_item_failures: bool
    filter: Filter | None
    enabled: bool
    fifo: bool
    breaker: Any = None  # a CircuitBreaker: claiming pauses while it is open
    limit: Any = None  # a Limit: claims wait for its tokens (and slots)
    max_message_age: float | None = None  # older messages are shed, not processed
    stale_to: str | None = None  # the queue shed messages move to (None: dropped)
    priority: tuple[str, ...] = ()  # queues claimed from only with capacity left by ``queue``

    @property
    def id(self) -> str:
        """``<queue>:<function>``: names the mapping (and its concurrency slots)."""
        return f"{self.queue}:{self.function.name}"


def define_mapping(
    queue: str,
    fifo: bool,
    function: Function | TransactionFunction,
    *,
    batch_size: Any,
    batch_window: Any,
    max_concurrency: Any,
    report_batch_item_failures: Any,
    filter: Any,
    enabled: Any,
) -> EventSourceMapping:
    """Validate a mapping against AWS's ranges (spec §2.1); raises ``InvalidAttribute``."""
    limit = MAX_FIFO_BATCH_SIZE if fifo else MAX_BATCH_SIZE
    if isinstance(batch_size, bool) or not isinstance(batch_size, int):
        raise InvalidAttribute("batch_size", batch_size, f"a whole number from 1 to {limit}")
    if not 1 <= batch_size <= limit:
        kind = "on a FIFO queue " if fifo else ""
        raise InvalidAttribute("batch_size", batch_size, f"1 to {limit} {kind}".strip())
    window = _window(batch_window, batch_size, fifo)
    if max_concurrency is not None:
        low, high = MAX_CONCURRENCY_RANGE
        if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int):
            raise InvalidAttribute("max_concurrency", max_concurrency, f"None or {low} to {high}")
        if not low <= max_concurrency <= high:
            raise InvalidAttribute("max_concurrency", max_concurrency, f"None or {low} to {high}")
    flags = {"report_batch_item_failures": report_batch_item_failures, "enabled": enabled}
    for name, value in flags.items():
        if not isinstance(value, bool):
            raise InvalidAttribute(name, value, "True or False")
    return EventSourceMapping(
        queue,
        function,
        batch_size,
        window,
        max_concurrency,
        report_batch_item_failures,
        compile_filter(filter),
        enabled,
        fifo,
    )


def _window(value: Any, batch_size: int, fifo: bool) -> float:
    try:
        window = float(rules.seconds("batch_window", value))
    except (TypeError, ValueError):
        raise InvalidAttribute("batch_window", value, "0 to 300 seconds") from None
    if not 0 <= window <= MAX_BATCH_WINDOW:
        raise InvalidAttribute("batch_window", value, "0 to 300 seconds")
    if fifo and window > 0:
        raise InvalidAttribute("batch_window", value, "0 on a FIFO queue (AWS does not batch them)")
    if batch_size > 10 and window < 1:
        raise InvalidAttribute("batch_window", value, "at least 1 second when batch_size > 10")
    return window


def check_timeouts(mapping: EventSourceMapping, visibility_timeout: float) -> str | None:
    """AWS's sizing rules: an error below the function timeout, a warning below 6x it + window.

    Raises ``InvalidAttribute`` for the error; returns the warning text, or None.
    """
    timeout = mapping.function.timeout
    if visibility_timeout < timeout:
        raise InvalidAttribute(
            "visibility_timeout",
            visibility_timeout,
            f"at least the timeout of function {mapping.function.name!r} ({timeout:g} s) "
            f"for queue {mapping.queue!r} (AWS: queue visibility timeout is less than "
            f"function timeout)",
        )
    advised = 6 * timeout + mapping.batch_window
    if visibility_timeout < advised:
        return (
            f"queue {mapping.queue!r} has visibility_timeout={visibility_timeout:g} s, below "
            f"6 x the timeout of {mapping.function.name!r} + batch_window = {advised:g} s "
            f"(AWS's rule of thumb): retries of slow batches may come back early"
        )
    return None


# --- the event ----------------------------------------------------------------------


def sqs_record(queue: str, row: ClaimedRow) -> Record:
    """One record of the Lambda SQS event for a claimed message."""
    attributes = {
        "ApproximateReceiveCount": str(row.receive_count),
        "SentTimestamp": str(int(row.sent_at * 1000)),
        "SenderId": "stormproof",
        "ApproximateFirstReceiveTimestamp": str(int(row.first_received_at * 1000)),
    }
    if row.group_id is not None:
        attributes["MessageGroupId"] = row.group_id
        attributes["SequenceNumber"] = str(row.rowid)
        if row.dedup_id is not None:
            attributes["MessageDeduplicationId"] = row.dedup_id
    trace = trace_context.read(row.attributes)
    if trace is not None:  # W3C traceparent, not X-Ray's format (docs/observability.md)
        attributes["AWSTraceHeader"] = trace
    return {
        "messageId": row.message_id,
        "receiptHandle": encode_handle(queue, row.rowid, row.token),
        "body": row.body,
        "attributes": attributes,
        "messageAttributes": lambda_attributes(row.attributes),
        "md5OfBody": hashlib.md5(row.body.encode(), usedforsecurity=False).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": f"stormproof:sqs:{queue}",
    }


def lambda_attributes(stored: str | None) -> dict[str, Any]:
    """Stored message attributes in Lambda's ``messageAttributes`` shape."""
    if not stored:
        return {}
    out: dict[str, Any] = {}
    for name, (kind, text) in json.loads(stored).items():
        if name == trace_context.KEY:  # a system attribute (AWSTraceHeader), not the sender's
            continue
        value_key = "binaryValue" if kind == "Binary" else "stringValue"
        out[name] = {
            value_key: text,
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": kind,
        }
    return out


# --- filters ------------------------------------------------------------------------


def compile_filter(spec: Any) -> Filter | None:
    """``filter=``: an event pattern (mapping, JSON text or compiled) or a callable(record).

    A pattern is matched against the record with its ``body`` parsed as JSON when it is
    JSON (as Lambda's filter criteria do); a record that does not match is deleted
    without invoking the function.
    """
    if spec is None:
        return None
    if callable(spec) and not isinstance(spec, Pattern):
        return spec  # type: ignore[no-any-return]
    if not isinstance(spec, Mapping | str | bytes | bytearray | Pattern):
        raise InvalidAttribute("filter", spec, "an event pattern or a callable(record) -> bool")
    pattern = compile_pattern(spec)
    wanted = path_prefixes(set(pattern.paths))

    def matches(record: Record) -> bool:
        fields = flatten(_filterable(record), wanted)
        return any(branch_matches(b.conditions, fields) for b in pattern.branches)

    return matches


def _filterable(record: Record) -> Record:
    body = record.get("body")
    if isinstance(body, str) and body[:1] in ("{", "["):
        try:
            return {**record, "body": json.loads(body)}
        except ValueError:
            pass
    return record
