"""The app's queue methods: ``app.queue`` and ``app.shuffle_shards`` declare, the rest
administer queues at run time (``QueueRegistry`` does the work).

Mixed into :class:`stormproof.App`, which builds the registry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from stormproof.core import names, shedding
from stormproof.core import queue_rules as rules
from stormproof.core.unset import UNSET, Seconds, Unset, passed
from stormproof.queues.queue import Queue
from stormproof.queues.registry import QueueRegistry
from stormproof.queues.shards import ShuffleShards
from stormproof.queues.surge import Surge


class QueueDeclarations:
    """``app.queue``, ``app.shuffle_shards`` and the run-time queue administration."""

    queues: QueueRegistry

    def queue(
        self,
        name: str,
        *,
        visibility_timeout: Seconds | Unset = UNSET,
        delay: Seconds | Unset = UNSET,
        max_message_size: int | Unset = UNSET,
        retention: Seconds | Unset = UNSET,
        receive_wait: Seconds | Unset = UNSET,
        dead_letter: Queue | str | Unset | None = UNSET,
        max_receive_count: int | Unset = UNSET,
        redrive_allow: str | Sequence[str] | Mapping[str, Any] | Unset | None = UNSET,
        fifo: bool | None = None,
        content_based_deduplication: bool | Unset = UNSET,
        dedup_window: Seconds | Unset = UNSET,
        surge: dict[str, Any] | None = None,
    ) -> Queue:
        """Declare a queue (validated now; created or updated when the app opens).

        Defaults are SQS's: visibility_timeout=30, delay=0, max_message_size=1 MiB,
        retention=4 days, receive_wait=0, max_receive_count=10, dedup_window=300. Declaring
        an existing queue changes only the attributes passed here.
        """
        options = {
            "visibility_timeout": visibility_timeout,
            "delay": delay,
            "max_message_size": max_message_size,
            "retention": retention,
            "receive_wait": receive_wait,
            "dead_letter": dead_letter,
            "max_receive_count": max_receive_count,
            "redrive_allow": redrive_allow,
            "content_based_deduplication": content_based_deduplication,
            "dedup_window": dedup_window,
        }
        names.refuse_reserved("name", name)
        q = self.queues.declare(name, fifo, passed(options))
        if surge is not None:  # new sends past the threshold go to surge["to"]
            q.surge = Surge(q, surge)
        return q

    def shuffle_shards(
        self, name: str, *, queues: int = 8, per_key: int = 2, **queue_options: Any
    ) -> ShuffleShards:
        """Declare ``queues`` queues ``<name>-0``... and route each key to ``per_key`` of them
        for ever (shuffle sharding; see docs/resilience.md). ``queue_options`` go to each."""
        count, per = shedding.check_shards(queues, per_key)
        qs = [self.queue(f"{name}-{i}", **queue_options) for i in range(count)]
        return ShuffleShards(name, qs, per)

    # --- run-time administration ------------------------------------------------------

    def attributes_of(self, name: str) -> rules.QueueAttributes:
        """Cached attributes of an open queue."""
        return self.queues.attributes_of(name)

    async def get_queue(self, name: str) -> Queue:
        """A handle on an existing queue (declared elsewhere); raises QueueDoesNotExist."""
        return await self.queues.get(name)

    async def create_queue(self, name: str, **attributes: Any) -> Queue:
        """Create (or update) a queue at run time with the same rules as ``queue()``."""
        names.refuse_reserved("name", name)
        return await self.queues.create(name, **attributes)

    async def update_queue(self, name: str, **attributes: Any) -> Queue:
        """Change attributes of an existing queue (FIFO-ness cannot change)."""
        names.refuse_reserved("name", name)
        return await self.queues.update(name, **attributes)

    async def list_queues(self) -> list[str]:
        """Names of every queue in the store."""
        return await self.queues.names()

    async def delete_queue(self, name: str, *, force: bool = False) -> None:
        """Delete a queue and all its messages; ``QueueInUse`` while it is a dead-letter
        target or used by this app's mappings, destinations or bus targets (``force``
        first detaches it from its source queues)."""
        await self.queues.delete(name, force=force)
