"""Shuffle sharding (``app.shuffle_shards(...)``): each key to its own combination of queues.

``app.shuffle_shards("tenants", queues=8, per_key=2)`` declares queues ``tenants-0`` to
``tenants-7``; each key (tenant) is routed permanently to ``per_key`` of them
(:func:`stormproof.core.shedding.shard_of`, a stable hash, the same in every process). Give
each queue its own consumer (``for q in shards.queues: app.consume(q, fn)``): a noisy tenant
fills only its own queues, so only the tenants whose shard is exactly its shard lose all
their capacity; with 8 queues and 2 per key that is 1 in 28 of the shards.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from stormproof.core import shedding
from stormproof.queues.queue import Queue


class ShuffleShards:
    """A named set of queues and the permanent key-to-queues assignment over them."""

    def __init__(self, name: str, queues: Sequence[Queue], per_key: int) -> None:
        self.name = name
        self.queues = list(queues)
        self.per_key = per_key
        self._turn: dict[str, int] = {}  # spreads one key's sends over its own queues

    def shard(self, key: str) -> list[Queue]:
        """The queues of ``key``'s shard (always the same ones)."""
        return [self.queues[i] for i in shedding.shard_of(key, len(self.queues), self.per_key)]

    def queue_for(self, key: str) -> Queue:
        """The queue of ``key``'s shard the next send goes to (round-robin within the shard)."""
        shard = self.shard(key)
        turn = self._turn.get(key, 0)
        if len(self._turn) > 10_000:  # bounded: forgetting a turn only restarts the rotation
            self._turn.clear()
        self._turn[key] = turn + 1
        return shard[turn % len(shard)]

    async def send(self, key: str, body: Any, **options: Any) -> str:
        """Send ``body`` for ``key`` to one of its shard's queues; returns the message id."""
        return await self.queue_for(key).send(body, **options)
