"""A stream mapping's poll as two transactions: renew-and-read, then the checkpoints.

A poll of a mapping over S lease units used to cost a transaction per unit for each of
its lease renewal, read and checkpoint (and three round trips per transaction on
PostgreSQL: BEGIN, the statement, COMMIT). :func:`renew` surveys the mapping, renews and
takes this worker's leases and reads the next records of every unit it holds in one
transaction; :func:`advance` moves every checkpoint of the poll in another. On PostgreSQL
each step is one statement over arrays of units (a LATERAL join for the reads); on
SQLite it is one statement per unit inside the same transaction (the writer thread runs
it in-process, where a statement costs no round trip).

Each unit's condition is unchanged and judged row by row, so a unit whose lease was
lost fails alone: a checkpoint moves only where this holder still leases the unit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from stormproof.storage import stream_ops as ops
from stormproof.storage.program import Dialect, Program, Stmt


@dataclass(frozen=True)
class Survey:
    """What a poll starts from: live workers, the stream's shards, the checkpoints."""

    live: int
    shards: list[ops.ShardRow]
    checkpoints: list[ops.CheckpointRow]


@dataclass(frozen=True)
class Leasing:
    """A poll's lease request: renew ``held``, take up to ``wanted`` of ``candidates``."""

    held: Sequence[str]
    candidates: Sequence[str]
    wanted: int
    new: Sequence[tuple[str, int | None]]  # units without a row yet, with their start
    release: Sequence[str] = ()  # units to hand back first (over the share, or finished)


@dataclass(frozen=True)
class Poll:
    """Who polls: the mapping's checkpoints (``consumer``), this worker (``holder``, its
    lease ``ttl``, whether to ``announce`` it first), the stream and the batch size."""

    consumer: str
    holder: str
    ttl: float
    stream: str
    limit: int
    announce: bool


@dataclass(frozen=True)
class Renewal:
    """What :func:`renew` did: the survey, the lease request, the units now held with
    their checkpoints, and the records read for the units that needed a batch."""

    survey: Survey
    lease: Leasing
    taken: dict[str, int | None]
    records: dict[str, list[ops.RecordRow]]


@dataclass(frozen=True)
class Advance:
    """Move a unit's checkpoint to ``seq``; ``age`` is its iterator age in seconds."""

    unit: str
    seq: int
    age: float


def survey(consumer: str, holder: str, ttl: float, stream: str, announce: bool) -> Program[Survey]:
    """Renew this worker's ``~holder`` row (created first when ``announce``), count the
    live workers and read the shards and checkpoints (the start of :func:`renew`)."""
    if announce:
        ensure = {"consumer": consumer, "shard_id": f"~{holder}", "seq": None}
        yield Stmt("checkpoint_ensure", ensure)
    take = {"consumer": consumer, "shard_id": f"~{holder}", "holder": holder, "ttl": ttl}
    yield Stmt("checkpoint_take", take)
    live = yield Stmt("checkpoint_live", {"consumer": consumer})
    shards = yield from ops.shards(stream)
    checkpoints = yield from ops.checkpoints(consumer)
    return Survey(max(1, int(live[0][0])), shards, checkpoints)


def renew(
    d: Dialect, p: Poll, plan: Callable[[Survey], Leasing], needs: Callable[[str], bool]
) -> Program[Renewal]:
    """One transaction for a poll: survey, hand back and renew or take leases as ``plan``
    says, then read up to ``p.limit`` records after the checkpoint of every held unit that
    ``needs`` a batch and is not at its shard's end. ``plan`` and ``needs`` must not change
    anything: a retried transaction runs them again."""
    s = yield from survey(p.consumer, p.holder, p.ttl, p.stream, p.announce)
    lease = plan(s)
    for unit in lease.release:
        yield from ops.release_lease(p.consumer, unit, p.holder)
    taken = yield from take_leases(d, p.consumer, p.holder, p.ttl, lease)
    ends = {r.shard_id: r.next_seq - 1 for r in s.shards}
    wanted = []
    for unit, seq in taken.items():
        shard = unit.split("#")[0]
        if needs(unit) and (seq or 0) < ends.get(shard, 0):
            wanted.append((unit, shard, seq or 0))
    records = (yield from read_units(d, p.stream, wanted, p.limit)) if wanted else {}
    return Renewal(s, lease, taken, records)


def take_leases(
    d: Dialect,
    consumer: str,
    holder: str,
    ttl: float,
    lease: Leasing,
) -> Program[dict[str, int | None]]:
    """Renew ``lease.held`` and take up to ``lease.wanted`` of ``lease.candidates`` in
    order (free or expired ones); the checkpoint of every unit now held.

    Rows of ``lease.new`` units (never seen by this mapping) are created first with their
    starting checkpoint; an existing row is left as it is."""
    base = {"consumer": consumer, "holder": holder, "ttl": ttl}
    if not _arrays(d):
        return (yield from _take_each(consumer, base, lease))
    if lease.new:
        units, seqs = [u for u, _ in lease.new], [s for _, s in lease.new]
        yield Stmt("checkpoint_ensure_units", {"consumer": consumer, "units": units, "seqs": seqs})
    params = {**base, "held": list(lease.held), "units": list(lease.candidates), "k": lease.wanted}
    rows = yield Stmt("checkpoint_take_units", params)
    return {str(r[0]): None if r[1] is None else int(r[1]) for r in rows}


def _take_each(
    consumer: str, base: dict[str, object], lease: Leasing
) -> Program[dict[str, int | None]]:
    """:func:`take_leases` one statement per unit (SQLite: no round trips to save)."""
    for unit, start in lease.new:
        yield Stmt("checkpoint_ensure", {"consumer": consumer, "shard_id": unit, "seq": start})
    out: dict[str, int | None] = {}
    taken = 0
    for unit in [*lease.held, *lease.candidates]:
        if unit not in lease.held and taken >= lease.wanted:
            break
        rows = yield Stmt("checkpoint_take", {**base, "shard_id": unit})
        if rows and len(rows[0]) == 2:
            out[unit] = None if rows[0][0] is None else int(rows[0][0])
            taken += unit not in lease.held
    return out


def read_units(
    d: Dialect, stream: str, wanted: Sequence[tuple[str, str, int]], limit: int
) -> Program[dict[str, list[ops.RecordRow]]]:
    """Up to ``limit`` records after each ``(unit, shard, after)``, in order, by unit."""
    out: dict[str, list[ops.RecordRow]] = {unit: [] for unit, _, _ in wanted}
    if not _arrays(d):
        for unit, shard, after in wanted:
            out[unit] = yield from ops.read(stream, shard, after, limit)
        return out
    params = {
        "stream": stream,
        "n": limit,
        "units": [w[0] for w in wanted],
        "shards": [w[1] for w in wanted],
        "afters": [w[2] for w in wanted],
    }
    rows = yield Stmt("stream_read_units", params)
    for r in rows:
        out[str(r[0])].append(ops.RecordRow(int(r[1]), str(r[2]), bytes(r[3]), float(r[4]), r[5]))
    return out


def advance(d: Dialect, consumer: str, holder: str, moves: Sequence[Advance]) -> Program[set[str]]:
    """Move each unit's checkpoint where ``holder`` still leases it; the units moved."""
    if not _arrays(d):
        done: set[str] = set()
        for m in moves:
            params = {
                "consumer": consumer,
                "shard_id": m.unit,
                "holder": holder,
                "seq": m.seq,
                "age": m.age,
            }
            rows = yield Stmt("checkpoint_advance", params)
            if int(rows[0][0]) == 1:
                done.add(m.unit)
        return done
    params = {
        "consumer": consumer,
        "holder": holder,
        "units": [m.unit for m in moves],
        "seqs": [m.seq for m in moves],
        "ages": [m.age for m in moves],
    }
    rows = yield Stmt("checkpoint_advance_units", params)
    return {str(r[0]) for r in rows}


def dialect_of(url: str) -> Dialect:
    """The dialect of a store by its URL (the store protocol does not expose one)."""
    return Dialect("sqlite" if url.startswith("sqlite:") else "postgres")


def _arrays(d: Dialect) -> bool:
    """Whether the dialect takes a statement over arrays of units (PostgreSQL)."""
    return d.name == "postgres"
