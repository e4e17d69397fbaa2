"""Stream storage: shards, records and mapping checkpoints, as programs and operations.

**Sequence numbers follow commit order.** An append allocates its sequence numbers with
``UPDATE stream_shards SET next_seq = next_seq + n ... RETURNING`` inside the appending
transaction. On PostgreSQL that row lock is held until commit, so a second writer to the
shard waits and allocates only after the first committed: a reader that remembers the
last sequence number it saw can never skip a record that commits later with a lower
number. (SQLite has one writer, so the same holds trivially.) Shards are locked in shard
id order, so a multi-shard ``put_records`` cannot deadlock with another.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from stormproof.core.stream_rules import HashRange, even_ranges, route
from stormproof.core.stream_rules import shard_id as shard_name
from stormproof.storage.base import EntryStatus, OpResult
from stormproof.storage.program import Dialect, Program, Stmt


@dataclass(frozen=True)
class ShardRow:
    """One shard of a stream: hash range, parent (after a reshard), state, next number."""

    shard_id: str
    start_hash: int
    end_hash: int
    parent: str | None
    state: str
    next_seq: int


@dataclass(frozen=True)
class RecordRow:
    """A stored record."""

    seq: int
    partition_key: str
    data: bytes
    arrived_at: float
    trace: str | None = None  # the W3C traceparent it carries (core.trace_context)


@dataclass(frozen=True)
class Appended:
    """Where one appended record went."""

    shard_id: str
    seq: int


@dataclass(frozen=True)
class CheckpointRow:
    """A mapping's position in one shard and who leases it; ``now`` is the store's clock."""

    shard_id: str
    seq: int | None
    holder: str | None
    lease_until: float
    iterator_age: float | None
    now: float


def create(
    name: str, retention: float, ranges: Sequence[HashRange], ids: Sequence[str]
) -> Program[list[ShardRow]]:
    """Create or update a stream; its shards are created only the first time."""
    yield Stmt("stream_upsert", {"name": name, "retention": retention})
    existing = yield from shards(name)
    if existing:
        return existing
    params = [
        {
            "stream": name,
            "shard_id": sid,
            "start_hash": str(r.start),
            "end_hash": str(r.end),
            "parent": None,
        }
        for sid, r in zip(ids, ranges, strict=True)
    ]
    yield Stmt("stream_shard_insert", params, many=True)
    return (yield from shards(name))


def reshard(stream: str, count: int) -> Program[list[ShardRow]]:
    """Close every open shard and open ``count`` new ones over even hash ranges; each new
    shard's ``parent`` lists the closed shards whose ranges overlap it (comma-separated).

    On PostgreSQL, closing takes the shard rows' locks, so appends in flight commit first
    and later ones see the new shards (or fail alone, to be retried)."""
    existing = yield from shards(stream)
    closing = [s for s in existing if s.state == "OPEN"]
    for s in closing:
        yield Stmt("stream_shard_close", {"stream": stream, "shard_id": s.shard_id})
    base = 1 + max(int(s.shard_id.rsplit("-", 1)[1]) for s in existing)
    params = []
    for i, r in enumerate(even_ranges(count)):
        parents = [s.shard_id for s in closing if s.start_hash <= r.end and r.start <= s.end_hash]
        params.append(
            {
                "stream": stream,
                "shard_id": shard_name(base + i),
                "start_hash": str(r.start),
                "end_hash": str(r.end),
                "parent": ",".join(parents) or None,
            }
        )
    yield Stmt("stream_shard_insert", params, many=True)
    return (yield from shards(stream))


def shards(stream: str) -> Program[list[ShardRow]]:
    """Every shard of a stream, by shard id."""
    rows = yield Stmt("stream_shards", {"stream": stream})
    return [ShardRow(str(r[0]), int(r[1]), int(r[2]), r[3], str(r[4]), int(r[5])) for r in rows]


def get(name: str) -> Program[tuple[str, float, float] | None]:
    """``(name, retention, created_at)`` of a stream, or None."""
    rows = yield Stmt("stream_get", {"name": name})
    return (str(rows[0][0]), float(rows[0][1]), float(rows[0][2])) if rows else None


def list_all() -> Program[list[tuple[str, float, float]]]:
    """``(name, retention, created_at)`` of every stream."""
    rows = yield Stmt("stream_list")
    return [(str(r[0]), float(r[1]), float(r[2])) for r in rows]


def delete(name: str) -> Program[bool]:
    """Drop a stream, its shards and records."""
    yield Stmt("stream_delete_records", {"name": name})
    yield Stmt("stream_delete_shards", {"name": name})
    rows = yield Stmt("stream_delete", {"name": name})
    return int(rows[0][0]) > 0


def append(
    stream: str, entries: Sequence[tuple[str, int, bytes]], trace: str | None = None
) -> Program[list[Appended | None]]:
    """Append ``(partition_key, hash_key, data)`` entries, each carrying ``trace``; None
    for one no shard takes."""
    open_shards = [s for s in (yield from shards(stream)) if s.state == "OPEN"]
    ranges = [HashRange(s.start_hash, s.end_hash) for s in open_shards]
    by_shard: dict[int, list[int]] = {}
    for i, (_, key, _) in enumerate(entries):
        by_shard.setdefault(route(key, ranges), []).append(i)
    out: list[Appended | None] = [None] * len(entries)
    for index in sorted(by_shard):  # a fixed lock order: no deadlock between writers
        sid, members = open_shards[index].shard_id, by_shard[index]
        rows = yield Stmt("stream_allocate", {"stream": stream, "shard_id": sid, "n": len(members)})
        if not rows or len(rows[0]) != 2:  # the shard closed under us (a reshard)
            continue
        first = int(rows[0][0]) - len(members)
        params = [
            {
                "stream": stream,
                "shard_id": sid,
                "seq": first + k,
                "partition_key": entries[i][0],
                "data": entries[i][2],
                "trace": trace,
            }
            for k, i in enumerate(members)
        ]
        yield Stmt("stream_record_insert", params, many=True)
        for k, i in enumerate(members):
            out[i] = Appended(sid, first + k)
    return out


def read(stream: str, shard_id: str, after: int, limit: int) -> Program[list[RecordRow]]:
    """Up to ``limit`` records of a shard with sequence numbers above ``after``, in order."""
    rows = yield Stmt(
        "stream_read", {"stream": stream, "shard_id": shard_id, "after": after, "n": limit}
    )
    return [RecordRow(int(r[0]), str(r[1]), bytes(r[2]), float(r[3]), r[4]) for r in rows]


def seq_at_time(stream: str, shard_id: str, at: float) -> Program[int | None]:
    """The first sequence number that arrived at or after ``at``."""
    rows = yield Stmt("stream_seq_at_time", {"stream": stream, "shard_id": shard_id, "at": at})
    return None if rows[0][0] is None else int(rows[0][0])


def expire(stream: str, retention: float) -> Program[int]:
    """Delete records older than ``retention`` seconds; returns how many."""
    rows = yield Stmt("stream_expire", {"stream": stream, "retention": retention})
    return int(rows[0][0])


# --- checkpoints and shard leases ---------------------------------------------------


def checkpoints(consumer: str) -> Program[list[CheckpointRow]]:
    """Every checkpoint of a mapping."""
    rows = yield Stmt("checkpoint_list", {"consumer": consumer})
    return [
        CheckpointRow(
            str(r[0]),
            None if r[1] is None else int(r[1]),
            r[2],
            float(r[3]),
            None if r[4] is None else float(r[4]),
            float(r[5]),
        )
        for r in rows
    ]


def checkpoints_of_stream(stream: str) -> Program[list[tuple[str, CheckpointRow]]]:
    """``(mapping id, checkpoint)`` of every mapping of a stream (ids start ``stream->``)."""
    rows = yield Stmt("checkpoint_by_prefix", {"prefix": f"{stream}->"})
    return [
        (
            str(r[0]),
            CheckpointRow(
                str(r[1]),
                None if r[2] is None else int(r[2]),
                r[3],
                float(r[4]),
                None if r[5] is None else float(r[5]),
                float(r[6]),
            ),
        )
        for r in rows
    ]


def take_lease(
    consumer: str, shard_id: str, holder: str, ttl: float, start: int | None
) -> Program[tuple[bool, int | None]]:
    """Lease a shard (free, expired or already ours); ``(taken, checkpoint)``.

    A shard never seen gets the checkpoint ``start`` (the starting position)."""
    yield Stmt("checkpoint_ensure", {"consumer": consumer, "shard_id": shard_id, "seq": start})
    params = {"consumer": consumer, "shard_id": shard_id, "holder": holder, "ttl": ttl}
    rows = yield Stmt("checkpoint_take", params)
    if not rows or len(rows[0]) != 2:  # held by another worker
        return False, None
    return True, None if rows[0][0] is None else int(rows[0][0])


def heartbeat(consumer: str, holder: str, ttl: float) -> Program[int]:
    """Announce this worker (a ``~holder`` row) and count the live workers of a mapping,
    so each takes its share of the shards (rebalancing when workers join or leave)."""
    yield from take_lease(consumer, f"~{holder}", holder, ttl, None)
    rows = yield Stmt("checkpoint_live", {"consumer": consumer})
    return max(1, int(rows[0][0]))


def release_lease(consumer: str, shard_id: str, holder: str) -> Program[None]:
    """Give a shard lease back (on shutdown), so another worker takes it at once."""
    params = {"consumer": consumer, "shard_id": shard_id, "holder": holder}
    yield Stmt("checkpoint_release", params)


@dataclass(frozen=True)
class AdvanceCheckpoint:
    """Move a mapping's checkpoint in a shard to ``seq`` if ``holder`` still leases it.

    A custom unit-of-work operation: it commits with the batch's destination records, and a
    lost lease makes it stale, so an atomic unit rolls back as a whole.
    """

    consumer: str
    shard_id: str
    holder: str
    seq: int
    iterator_age: float | None = None

    def program(self, dialect: Dialect) -> Program[OpResult]:
        """One conditional update."""
        params = {
            "consumer": self.consumer,
            "shard_id": self.shard_id,
            "holder": self.holder,
            "seq": self.seq,
            "age": self.iterator_age,
        }
        rows = yield Stmt("checkpoint_advance", params)
        return OpResult([EntryStatus.OK if int(rows[0][0]) == 1 else EntryStatus.STALE])

    def is_stale(self, result: OpResult) -> bool:
        """Stale when the lease was lost to another worker."""
        return not result.ok
