"""A mapping's breaker and limit, applied to its consumer **before** it claims.

Storage first: while the breaker is open the consumer claims nothing, so messages stay in
the queue, visible and untouched (no receive count burned, nothing dead-lettered because
of an outage). Half-open, it claims one unit (one batch) per probe permit it gets; closed,
as much as its capacity allows. A limit's tokens are taken the same way, one per unit, so
the backlog waits in the queue rather than in memory.

Each unit's breaker permit is tied to its concurrency ticket: the unit reports its outcome
on it (a failed invocation is a failure), and a permit whose ticket found no message is
given back unused. So is every permit admitted when taking the limit's tokens or reserving
the tickets raises: a half-open probe left held would count as a failure when it expires
(``probe_timeout``), re-opening a breaker whose dependency may be back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from stormproof.engine.breakers import CircuitBreaker, Permit

if TYPE_CHECKING:
    from stormproof.engine.limits import Limit
    from stormproof.engine.slots import Ticket


class MappingGuard:
    """The per-consumer side of a mapping's ``breaker=`` and ``limit=``."""

    def __init__(self, breaker: CircuitBreaker | None, limit: Limit | None) -> None:
        self.breaker = breaker
        self.limit = limit
        self.retry_at: float | None = None  # when refused: when the breaker may admit again
        self._permits: dict[Ticket, Permit] = {}
        self._admitted: list[Permit] = []

    async def allow(self, units: int) -> int:
        """How many of ``units`` may be claimed now (0: paused)."""
        self._admitted = []
        self.retry_at = None
        try:
            if self.breaker is not None:
                units = await self._admit(self.breaker, units)
            if units and self.limit is not None:
                granted = await self.limit.take(units)
                for permit in self._admitted[granted:]:
                    await self._cancel(permit)
                self._admitted = self._admitted[:granted]
                units = granted
        except BaseException:
            await self._give_back()
            raise
        return units

    async def tickets(
        self, allowed: int, reserve: Callable[[int], Awaitable[list[Ticket]]]
    ) -> list[Ticket]:
        """Reserve tickets for the ``allowed`` units and tie the permits admitted to them.

        If reserving raises, the permits go back; if tying them does, the tickets are
        finished (untied, they would hold their capacity forever).
        """
        try:
            tickets = await reserve(allowed) if allowed else []
        except BaseException:
            await self._give_back()
            raise
        try:
            await self.attach(tickets)
        except BaseException:
            for ticket in tickets:
                ticket.finish()
            raise
        return tickets

    async def _admit(self, breaker: CircuitBreaker, units: int) -> int:
        while len(self._admitted) < units:
            got = await breaker.try_admit()
            if not isinstance(got, Permit):
                self.retry_at = got
                break
            self._admitted.append(got)
            if got.probe_id is None:  # closed: one admission covers the claim
                self._admitted += [got] * (units - 1)
        return len(self._admitted)

    async def attach(self, tickets: Sequence[Ticket]) -> None:
        """Tie the permits just admitted to the tickets reserved (the rest go back)."""
        for ticket, permit in zip(tickets, self._admitted, strict=False):
            self._permits[ticket] = permit
        for permit in self._admitted[len(tickets) :]:
            await self._cancel(permit)
        self._admitted = []

    async def unused(self, tickets: Sequence[Ticket]) -> None:
        """Tickets that got no message: their permits go back unused."""
        for ticket in tickets:
            permit = self._permits.pop(ticket, None)
            if permit is not None:
                await self._cancel(permit)

    async def report(self, ticket: Ticket, failed: bool) -> None:
        """A unit's invocation ended: its outcome counts for the breaker."""
        permit = self._permits.pop(ticket, None)
        if permit is not None and self.breaker is not None:
            await self.breaker.done(permit, failed)

    async def _give_back(self) -> None:
        """Cancel every permit admitted, on the way out of an error: a failure to cancel
        must not hide that error (an uncancelled probe still expires on its own)."""
        admitted, self._admitted = self._admitted, []
        for permit in admitted:
            with contextlib.suppress(Exception):
                await self._cancel(permit)

    async def _cancel(self, permit: Permit) -> None:
        if self.breaker is not None:
            await self.breaker.cancel(permit)
