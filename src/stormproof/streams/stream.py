"""A stream handle: ``put_record``, ``put_records``, ``read`` and ``describe``.

Semantics are Kinesis Data Streams': records are routed to a shard by the MD5 hash of
their partition key, get a per-shard strictly increasing sequence number (assigned in
commit order, see ``storage.stream_ops``) and an approximate arrival time, and expire
after the stream's retention.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from stormproof.core import stream_rules as rules
from stormproof.core import trace_context
from stormproof.engine.runtime import Runtime
from stormproof.errors import InvalidAttribute
from stormproof.storage import stream_ops as ops
from stormproof.streams import iterators as it


@dataclass(frozen=True)
class StreamRecord:
    """One record as ``read`` returns it."""

    shard_id: str
    sequence_number: str
    partition_key: str
    data: bytes
    approximate_arrival_timestamp: float
    #: The W3C traceparent the record carries (docs/observability.md, Traces).
    trace_header: str | None = None


@dataclass(frozen=True)
class ReadResult:
    """Records read from one shard and the iterator that continues after them."""

    records: list[StreamRecord]
    next_iterator: it.Iterator
    millis_behind_latest: int


@dataclass(frozen=True)
class PutRecordsEntry:
    """Per-record result of ``put_records``: a position, or an error code and message."""

    shard_id: str | None = None
    sequence_number: str | None = None
    error_code: str | None = None
    error_message: str | None = None


@dataclass(frozen=True)
class PutRecordsResult:
    """Kinesis's PutRecords answer: ``failed_record_count`` and one entry per record."""

    failed_record_count: int
    records: list[PutRecordsEntry] = field(default_factory=list)

    def as_aws(self) -> dict[str, Any]:
        """The AWS JSON shape (``FailedRecordCount``, ``Records[]``)."""
        out: list[dict[str, str]] = []
        for r in self.records:
            if r.error_code is None:
                out.append({"ShardId": str(r.shard_id), "SequenceNumber": str(r.sequence_number)})
            else:
                out.append({"ErrorCode": r.error_code, "ErrorMessage": str(r.error_message)})
        return {"FailedRecordCount": self.failed_record_count, "Records": out}


@dataclass(frozen=True)
class ShardInfo:
    """One shard as ``describe`` lists it."""

    shard_id: str
    starting_hash_key: str
    ending_hash_key: str
    parent_shard_id: str | None
    state: str  # "OPEN" | "CLOSED"
    last_sequence_number: str | None


class Stream:
    """A declared stream; methods act on the store of the open app."""

    kind = "stream"

    def __init__(self, rt: Runtime, name: str, shards: int, retention: float) -> None:
        self.rt = rt
        self.name = name
        self.shards = shards
        self.retention = retention

    def __repr__(self) -> str:
        return f"Stream({self.name!r}, shards={self.shards})"

    @property
    def arn(self) -> str:
        """The ARN-like name used where Lambda puts ``eventSourceARN``."""
        return f"arn:stormproof:kinesis:local:000000000000:stream/{self.name}"

    async def create(self) -> list[ShardInfo]:
        """Create the stream (its shards only the first time); used when the app opens."""
        ranges = rules.even_ranges(self.shards)
        ids = [rules.shard_id(i) for i in range(self.shards)]
        rows = await self.rt.store.run(lambda: ops.create(self.name, self.retention, ranges, ids))
        return [shard_info(r) for r in rows]

    async def put_record(
        self, data: bytes | str, partition_key: str, explicit_hash_key: str | None = None
    ) -> tuple[str, str]:
        """Append one record; returns ``(shard_id, sequence_number)``."""
        entry = _entry(
            {"data": data, "partition_key": partition_key, "explicit_hash_key": explicit_hash_key}
        )
        trace = _trace(self.name, 1)
        result = await self.rt.store.run(lambda: ops.append(self.name, [entry], trace))
        if result[0] is None:
            raise InvalidAttribute("partition_key", partition_key, "a key of an open shard")
        return result[0].shard_id, rules.format_seq(result[0].seq)

    async def put_records(self, entries: Sequence[Mapping[str, Any]]) -> PutRecordsResult:
        """Append up to 500 records (5 MiB) in one transaction; per-record results.

        Each entry is ``{"data", "partition_key", "explicit_hash_key"?}``. An invalid entry
        rejects the whole call, as Kinesis's validation does; an entry no open shard took
        (a reshard closed it mid-call) fails alone with ``InternalFailure``."""
        checked = [_entry(e) for e in entries]
        size = sum(len(d) + len(k.encode()) for k, _, d in checked)
        rules.check_batch_size(len(checked), size)
        trace = _trace(self.name, len(checked))
        result = await self.rt.store.run(lambda: ops.append(self.name, checked, trace))
        out = [
            PutRecordsEntry(error_code="InternalFailure", error_message="shard closed; retry")
            if a is None
            else PutRecordsEntry(a.shard_id, rules.format_seq(a.seq))
            for a in result
        ]
        return PutRecordsResult(sum(1 for a in result if a is None), out)

    async def read(self, shard_id: str, iterator: it.Iterator, limit: int = 10_000) -> ReadResult:
        """Read up to ``limit`` (1-10,000) records of a shard from ``iterator``, in order."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_000:
            raise InvalidAttribute("limit", limit, "a whole number 1-10,000")
        shard = await self._shard(shard_id)
        after = await self._start(shard, it.check(iterator))
        rows = await self.rt.store.run(lambda: ops.read(self.name, shard_id, after, limit))
        records = [
            StreamRecord(
                shard_id, rules.format_seq(r.seq), r.partition_key, r.data, r.arrived_at, r.trace
            )
            for r in rows
        ]
        last = rows[-1].seq if rows else after
        behind = 0
        if rows and last < shard.next_seq - 1:
            behind = int(max(0.0, await self.rt.store.now() - rows[-1].arrived_at) * 1000)
        return ReadResult(records, it.AfterSequenceNumber(rules.format_seq(last)), behind)

    async def describe(self) -> list[ShardInfo]:
        """Every shard with its hash-key range, parent and state."""
        rows = await self.rt.store.run(lambda: ops.shards(self.name))
        return [shard_info(r) for r in rows]

    async def reshard(self, shards: int) -> list[ShardInfo]:
        """Change the shard count: every open shard closes (its records stay readable) and
        ``shards`` new ones split the hash-key space evenly, each naming its parents. A
        mapping reads a child only after it processed the child's parents to their ends,
        so order per partition key holds across the change."""
        count, _ = rules.validate_stream(shards, self.retention)
        rows = await self.rt.store.run(lambda: ops.reshard(self.name, count))
        self.shards = count
        return [shard_info(r) for r in rows]

    async def expire(self) -> int:
        """Delete records older than the retention; returns how many (run by maintenance)."""
        return await self.rt.store.run(lambda: ops.expire(self.name, self.retention))

    async def _shard(self, shard_id: str) -> ops.ShardRow:
        rows = await self.rt.store.run(lambda: ops.shards(self.name))
        for row in rows:
            if row.shard_id == shard_id:
                return row
        raise InvalidAttribute("shard_id", shard_id, f"one of {[r.shard_id for r in rows]}")

    async def _start(self, shard: ops.ShardRow, iterator: it.Iterator) -> int:
        """The sequence number the read starts after."""
        if iterator == it.TRIM_HORIZON:
            return 0
        if iterator == it.LATEST:
            return shard.next_seq - 1
        if isinstance(iterator, it.AtSequenceNumber):
            return rules.parse_seq(iterator.sequence_number) - 1
        if isinstance(iterator, it.AfterSequenceNumber):
            return rules.parse_seq(iterator.sequence_number)
        assert isinstance(iterator, it.AtTimestamp)
        ts = iterator.timestamp
        first = await self.rt.store.run(lambda: ops.seq_at_time(self.name, shard.shard_id, ts))
        return shard.next_seq - 1 if first is None else first - 1


def _trace(stream: str, count: int) -> str | None:
    """The context the appended records carry (taken here, on the caller's task)."""
    carrier = trace_context.carrier()
    return None if carrier is None else carrier.outgoing(stream, count)


def _entry(entry: Mapping[str, Any]) -> tuple[str, int, bytes]:
    key = rules.validate_partition_key(entry.get("partition_key"))
    data = rules.validate_data(entry.get("data"))
    if len(data) + len(key.encode()) > rules.MAX_RECORD_BYTES:
        raise InvalidAttribute("data", f"{len(data)} bytes", "at most 1 MiB with the key")
    return key, rules.hash_key(key, entry.get("explicit_hash_key")), data


def shard_info(row: ops.ShardRow) -> ShardInfo:
    """A stored shard as ``describe`` lists it."""
    last = rules.format_seq(row.next_seq - 1) if row.next_seq > 1 else None
    return ShardInfo(
        row.shard_id, str(row.start_hash), str(row.end_hash), row.parent, row.state, last
    )
