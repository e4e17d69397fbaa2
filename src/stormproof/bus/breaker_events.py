"""Breaker transitions as events on the default bus, so rules can route them to a human.

Each transition a process makes (see :class:`~stormproof.engine.breakers.CircuitBreaker`:
with a global breaker, exactly one process makes each) is published, when the app
declares a ``default`` bus, as::

    {"source": "stormproof", "detail-type": "Breaker State Change",
     "detail": {"breaker": "payments-api", "scope": "global", "from": "closed",
                "to": "open", "reason": "12 of 20 calls failed in 30 s",
                "open_until": "2026-...Z" | null, "trips": 1,
                "calls": 20, "failures": 12}}
"""

from __future__ import annotations

from datetime import UTC, datetime

from stormproof.bus.manager import BusManager
from stormproof.core import breaker as core
from stormproof.core.breaker import State
from stormproof.engine.breakers import Announce, CircuitBreaker

SOURCE = "stormproof"
DETAIL_TYPE = "Breaker State Change"


def detail(b: CircuitBreaker, old: core.Breaker, new: core.Breaker) -> dict[str, object]:
    """The event's detail for a transition from ``old`` to ``new``."""
    until = None
    if new.state is not State.CLOSED:
        until = datetime.fromtimestamp(new.open_until, UTC).isoformat(timespec="milliseconds")
    return {
        "breaker": b.name,
        "scope": b.scope,
        "from": old.state.value,
        "to": new.state.value,
        "reason": new.reason,
        "open_until": until,
        "trips": new.trips,
        "calls": old.calls,
        "failures": old.failures,
    }


def announcer(buses: BusManager) -> Announce:
    """An ``on_change`` hook publishing on the app's ``default`` bus (if declared)."""

    async def announce(b: CircuitBreaker, old: core.Breaker, new: core.Breaker) -> None:
        bus = buses.buses.get("default")
        if bus is None or not bus.declared:
            return  # no default bus: the log line is the only announcement
        app = buses.app
        ops = await bus.delivery_ops(
            detail(b, old, new), app.clock.now(), source=SOURCE, detail_type=DETAIL_TYPE
        )
        await app.store.apply(ops, atomic=True)

    return announce
