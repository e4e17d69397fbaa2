"""A mapping guard gives back the breaker permits it admitted when what follows the
admission raises: reserving the units' tickets, or taking the limit's tokens. A held
half-open probe would otherwise count as a failure when it expires, re-opening the breaker.

The failures are real: the slot pool and the limit read the store of an app that is not
open. The breaker is process-scoped (no store), on a fake clock.
"""

from __future__ import annotations

import pytest

from stormproof import App
from stormproof.core.breaker import State
from stormproof.engine.breakers import CircuitBreaker
from stormproof.engine.mapping_guard import MappingGuard
from stormproof.engine.slots import SlotPool, Ticket, reserve
from stormproof.testing import FakeClock


async def _half_open(app: App, clock: FakeClock) -> CircuitBreaker:
    b = app.breaker("api", consecutive_failures=1, open_for=10, half_open_calls=2, scope="process")
    permit = await b.try_admit()
    assert permit is not None and not isinstance(permit, float)
    await b.done(permit, failed=True)
    clock.advance(11)
    return b


async def test_probes_go_back_when_reserving_the_tickets_raises() -> None:
    clock = FakeClock()
    app = App("g", "sqlite:///unused.db", clock=clock)  # never opened: its store raises
    b = await _half_open(app, clock)
    guard = MappingGuard(b, None)
    pool = SlotPool(lambda: app.store, clock, "fn", 2, "here")

    async def tickets(n: int) -> list[Ticket]:
        return await reserve(None, [pool], n)

    assert await guard.allow(2) == 2
    assert len(b.state.probes) == 2
    with pytest.raises(RuntimeError):
        await guard.tickets(2, tickets)
    assert b.state.state is State.HALF_OPEN and b.state.probes == ()
    assert await guard.allow(2) == 2  # the probes can be admitted again at once


async def test_probes_go_back_when_taking_the_limit_raises() -> None:
    clock = FakeClock()
    app = App("g", "sqlite:///unused.db", clock=clock)
    b = await _half_open(app, clock)
    guard = MappingGuard(b, app.limit("calls", rate=5))
    with pytest.raises(RuntimeError):
        await guard.allow(2)
    assert b.state.state is State.HALF_OPEN and b.state.probes == ()
    assert await MappingGuard(b, None).allow(2) == 2
