"""Stream event-source mappings (Lambda's Kinesis mapping): options, event and failure shapes.

``app.consume(stream, fn, ...)`` builds a :class:`StreamMapping`; AWS's ranges are checked
at once (docs/aws-semantics.md §2.1). Workers run it with
:class:`~stormproof.functions.stream_consumer.StreamConsumer`.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from stormproof.core.stream_batch import GiveUp
from stormproof.engine.destinations import Destination, is_destination
from stormproof.errors import InvalidAttribute
from stormproof.functions.function import Function
from stormproof.functions.mappings import Filter, compile_filter
from stormproof.streams.stream import Stream, StreamRecord

POSITIONS = ("TRIM_HORIZON", "LATEST")


@dataclass(frozen=True)
class StreamMapping:
    """A stream mapped to a function, with Lambda's Kinesis mapping options."""

    stream: Stream
    function: Function
    batch_size: int
    batch_window: float
    starting_position: str
    parallelization_factor: int
    bisect_on_error: bool
    max_retry_attempts: int
    max_record_age: float
    report_batch_item_failures: bool
    on_failure: Destination | None
    tumbling_window: float
    filter: Filter | None
    include_records: bool  # stormproof extension: put the failed records in the failure record
    shard_lease: float  # stormproof extension: seconds a worker's shard lease lasts unrenewed

    @property
    def id(self) -> str:
        """A stable id (the checkpoints' consumer name): stream and function."""
        return f"{self.stream.name}->{self.function.name}"


def define_stream_mapping(stream: Stream, function: Function, **o: Any) -> StreamMapping:
    """Validate the options of ``app.consume(stream, fn, ...)``."""
    batch = _whole("batch_size", o.get("batch_size", 100), 1, 10_000)
    window = _seconds("batch_window", o.get("batch_window", 0), 0, 300)
    position = o.get("starting_position", "TRIM_HORIZON")
    if position not in POSITIONS:
        raise InvalidAttribute("starting_position", position, "TRIM_HORIZON or LATEST")
    retries = _whole("max_retry_attempts", o.get("max_retry_attempts", -1), -1, 10_000)
    age = _seconds("max_record_age", o.get("max_record_age", -1), -1, 604_800)
    if 0 <= age < 60 or -1 < age < 0:
        raise InvalidAttribute("max_record_age", age, "-1 or 60-604,800 seconds")
    dest = o.get("on_failure")
    if dest is not None and not is_destination(dest):
        raise InvalidAttribute("on_failure", dest, "a queue, bus or function (or None)")
    return StreamMapping(
        stream,
        function,
        batch,
        window,
        position,
        _whole("parallelization_factor", o.get("parallelization_factor", 1), 1, 10),
        bool(o.get("bisect_on_error", False)),
        retries,
        age,
        bool(o.get("report_batch_item_failures", False)),
        dest,
        _seconds("tumbling_window", o.get("tumbling_window", 0), 0, 900),
        compile_filter(o.get("filter")),
        bool(o.get("include_records", False)),
        _seconds("shard_lease", o.get("shard_lease", 30), 1, 3600),
    )


def kinesis_record(stream: Stream, record: StreamRecord) -> dict[str, Any]:
    """One record of Lambda's Kinesis event."""
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": record.partition_key,
            "sequenceNumber": record.sequence_number,
            "data": base64.b64encode(record.data).decode(),
            "approximateArrivalTimestamp": record.approximate_arrival_timestamp,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{record.shard_id}:{record.sequence_number}",
        "eventName": "aws:kinesis:record",
        "awsRegion": "local",
        "eventSourceARN": stream.arn,
    }


def filterable(record: StreamRecord) -> dict[str, Any]:
    """What a filter pattern sees: ``data`` parsed as JSON when it is JSON (as Lambda)."""
    data: Any = record.data.decode(errors="replace")
    try:
        data = json.loads(data)
    except ValueError:
        pass
    return {
        "partitionKey": record.partition_key,
        "sequenceNumber": record.sequence_number,
        "data": data,
    }


def failure_record(
    mapping: StreamMapping, part: list[StreamRecord], give: GiveUp, now: float
) -> dict[str, Any]:
    """Lambda's on-failure record for the dropped records ``part`` of a Kinesis batch (the
    records themselves only with the ``include_records`` extension)."""
    out: dict[str, Any] = {
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": mapping.function.arn,
            "condition": give.condition,
            "approximateInvokeCount": give.invocations,
        },
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "version": "1.0",
        "timestamp": _iso(now),
        "KinesisBatchInfo": {
            "shardId": part[0].shard_id,
            "startSequenceNumber": part[0].sequence_number,
            "endSequenceNumber": part[-1].sequence_number,
            "approximateArrivalOfFirstRecord": _iso(part[0].approximate_arrival_timestamp),
            "approximateArrivalOfLastRecord": _iso(part[-1].approximate_arrival_timestamp),
            "batchSize": len(part),
            "streamArn": mapping.stream.arn,
        },
    }
    if mapping.include_records:
        out["records"] = [kinesis_record(mapping.stream, r) for r in part]
    return out


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _whole(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidAttribute(name, value, f"a whole number {low}-{high:,}")
    return value


def _seconds(name: str, value: Any, low: float, high: float) -> float:
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    ok = isinstance(seconds, int | float) and not isinstance(seconds, bool)
    if not ok or not low <= seconds <= high:
        raise InvalidAttribute(name, value, f"{low:g}-{high:,g} seconds")
    return float(seconds)
