"""Surge queues: ``app.queue("orders", surge=dict(backlog=10_000, oldest_age=60, to=q))``.

When the queue's visible backlog reaches ``backlog`` or its oldest message is
``oldest_age`` seconds old, new sends (``send``, ``send_batch``) go to the surge queue
``to`` instead, which has its own mapping and concurrency: the warm path stays fast while
the surge is worked off on the side. The queue's counts are read at most once per
:data:`CHECK_EVERY` seconds per process (a cached decision, not a count per send), so the
switch happens within that time of the threshold. Messages already in the queue stay.
"""

from __future__ import annotations

from typing import Any

from stormproof.core import shedding
from stormproof.errors import InvalidAttribute

CHECK_EVERY = 1.0  # seconds a process trusts its last reading of the queue's counts


class Surge:
    """A queue's surge thresholds and its cached "surging now?" decision."""

    def __init__(self, source: Any, spec: Any) -> None:
        # source and to are Queues (not imported: queue.py imports this module)
        self.backlog, self.oldest_age = shedding.check_surge(spec)
        to = spec["to"]
        if not hasattr(to, "send") or getattr(to, "kind", None) != "queue":
            raise InvalidAttribute("surge.to", to, "a Queue made by app.queue")
        if to.fifo != source.fifo or to.name == source.name:
            raise InvalidAttribute("surge.to", to.name, "another queue of the same kind")
        self.source = source
        self.to: Any = to
        self._checked_at = float("-inf")
        self._surging = False

    async def active(self) -> bool:
        """Whether new sends go to the surge queue now."""
        now = self.source.app.clock.now()
        if now - self._checked_at >= CHECK_EVERY:
            c = await self.source.app.store.counts(self.source.name)
            age = None if c.oldest_enqueued_at is None else max(0.0, c.now - c.oldest_enqueued_at)
            self._surging = shedding.surging(c.visible, age, self.backlog, self.oldest_age)
            self._checked_at = now
        return self._surging
