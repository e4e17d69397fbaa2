"""A worker's shard leases on one stream mapping, renewed every poll in two transactions.

Each shard (or shard × parallelization slot: a *unit*) is leased by one worker at a time:
a row in ``stream_checkpoints`` with a holder and an expiry judged by the store's clock.
Every poll surveys (announces this worker in its ``~holder`` row, counts the live
workers, reads the shards and checkpoints), then renews the units it holds and takes free
or expired ones up to its share in one statement, and reads the next records of the units
that need a batch, all in one transaction; so a SIGKILLed worker's units are taken over
once its leases run out and leases rebalance as workers join or leave.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from stormproof.core.stream_rules import parse_seq
from stormproof.engine.runtime import Runtime
from stormproof.functions.stream_mappings import StreamMapping
from stormproof.storage import stream_ops as ops
from stormproof.storage import stream_poll_ops as poll
from stormproof.streams.stream import ShardInfo, shard_info


class ShardLeases:
    """The units of one mapping this worker leases, and their checkpoints."""

    def __init__(self, rt: Runtime, mapping: StreamMapping, forget: Callable[[str], None]):
        self.rt = rt
        self.mapping = mapping
        self.consumer = mapping.id
        self.ttl = mapping.shard_lease
        self.holder = f"{rt.instance_id}:{uuid.uuid4().hex[:8]}"
        self.held: set[str] = set()
        self.seqs: dict[str, int] = {}  # each held unit's checkpoint, as of its renewal
        self.ends: dict[str, int] = {}  # each shard's last sequence number, as of the survey
        self._forget = forget  # drops a unit's in-memory batch and window
        self._announced = False

    def units(self, shard_id: str) -> list[str]:
        """The lease units of a shard: the shard, or one per parallelization slot."""
        factor = self.mapping.parallelization_factor
        return [shard_id] if factor == 1 else [f"{shard_id}#{k}" for k in range(factor)]

    def caught_up(self, unit: str) -> bool:
        """Whether a unit's checkpoint is at its shard's end, as of this poll's survey."""
        shard = unit.split("#")[0]
        return shard in self.ends and self.seqs.get(unit, 0) >= self.ends[shard]

    async def renew(self, busy: Callable[[str], bool]) -> poll.Renewal:
        """Renew and take this worker's share of the units and read the next records of
        those that are not ``busy`` with a batch, in one transaction; ``taken`` lists the
        units held, in order. A held unit over the share is handed back between batches."""
        p = poll.Poll(
            self.consumer,
            self.holder,
            self.ttl,
            self.mapping.stream.name,
            self.mapping.batch_size,
            not self._announced,
        )
        d = poll.dialect_of(self.rt.store.url)
        done = await self.rt.store.run(
            lambda: poll.renew(d, p, lambda s: self._plan(s, busy), lambda u: not busy(u))
        )
        self._announced = True
        self.ends = {r.shard_id: r.next_seq - 1 for r in done.survey.shards}
        for unit in done.lease.release:
            self.lost(unit)
        for unit in self.held - done.taken.keys():
            self.lost(unit)  # another worker has it: forget our batch
        for unit, seq in done.taken.items():
            self.held.add(unit)
            self.seqs[unit] = seq or 0  # the checkpoint, read with the lease: no other read
        return done

    def _plan(self, s: poll.Survey, busy: Callable[[str], bool]) -> poll.Leasing:
        """What to hand back, renew and take, from a survey (changes nothing)."""
        known = {r.shard_id: r.seq or 0 for r in s.checkpoints}
        units = [(u, sh) for sh in self._active(s.shards, known) for u in self.units(sh.shard_id)]
        share = -(-len(units) // s.live)
        # A parent read to its end: its lease is not needed.
        release = sorted(self.held - {u for u, _ in units})
        held = [u for u, _ in units if u in self.held]
        for unit in list(held):
            if len(held) > share and not busy(unit):
                held.remove(unit)  # more than our share, between batches: hand over
                release.append(unit)
        candidates = [u for u, _ in units if u not in self.held]
        new = [(u, self._start(sh)) for u, sh in units if u not in known]
        return poll.Leasing(held, candidates, max(0, share - len(held)), new, release)

    def _start(self, shard: ShardInfo) -> int | None:
        """A new unit's first checkpoint: the starting position. A child shard (after a
        reshard) starts at its oldest record whatever it is: its parents were read first."""
        if self.mapping.starting_position == "TRIM_HORIZON" or shard.parent_shard_id:
            return 0
        return parse_seq(shard.last_sequence_number or 0)

    def _active(self, rows: list[ops.ShardRow], seqs: dict[str, int]) -> list[ShardInfo]:
        """Shards to read: open or closed-but-unfinished ones whose parents are finished
        (a child is not read until this mapping has processed its parents to their ends)."""
        shards = [shard_info(r) for r in rows]
        by_id = {s.shard_id: s for s in shards}

        def finished(shard: ShardInfo) -> bool:
            last = int(shard.last_sequence_number or 0)
            done = all(seqs.get(u, 0) >= last for u in self.units(shard.shard_id))
            return shard.state == "CLOSED" and done

        out = []
        for shard in shards:
            parents = [by_id[p] for p in (shard.parent_shard_id or "").split(",") if p in by_id]
            if not finished(shard) and all(finished(p) for p in parents):
                out.append(shard)
        return out

    def lost(self, unit: str) -> None:
        """The unit's lease went to another worker: forget its batch and window."""
        self.held.discard(unit)
        self._forget(unit)

    async def release(self, unit: str) -> None:
        """Give a unit's lease back, so another worker takes it at once."""
        holder = self.holder
        await self.rt.store.run(lambda: ops.release_lease(self.consumer, unit, holder))
        self.lost(unit)

    async def release_all(self) -> None:
        """Give every held lease back, and this worker's ``~holder`` row (on shutdown)."""
        for unit in sorted(self.held):
            await self.release(unit)
        holder = self.holder
        await self.rt.store.run(lambda: ops.release_lease(self.consumer, f"~{holder}", holder))
