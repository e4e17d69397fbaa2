"""The demo's live view: what the store says, twice a second, as a rich panel (on a
terminal) or as one plain line every few seconds (in a log or a CI job)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

PHASES = {
    "normal": "Normal traffic: every booking is stored first (202), then reserved, charged "
    "and confirmed.",
    "outage": "Payment API down: the breaker opens, charges wait in the payments queue, "
    "nothing is retried to death.",
    "recovery": "Payment API back: a probe closes the breaker and the backlog drains at the "
    "global rate limit.",
    "settling": "Load stopped: the last bookings finish.",
}


@dataclass
class Snapshot:
    """One reading of the system."""

    phase: str = "normal"
    elapsed: float = 0.0
    accepted: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    backlog: int = 0
    backlog_peak: int = 0
    breaker: str = "closed"
    dlq: int = 0
    throughput: float = 0.0

    @property
    def settled(self) -> int:
        """Bookings in a final state."""
        return sum(self.statuses.get(s, 0) for s in ("confirmed", "released", "rejected"))


@dataclass
class Watcher:
    """Reads the store through the (non-consuming) app and keeps the running figures."""

    started: float = field(default_factory=time.monotonic)
    snap: Snapshot = field(default_factory=Snapshot)
    history: list[tuple[float, int]] = field(default_factory=list)
    open_in: list[str] = field(default_factory=list)  # phases the breaker was seen open in

    async def safe_read(self, phase: str, accepted: int) -> Snapshot:
        """:meth:`read`, or the last snapshot when the store is too busy to answer now."""
        from stormproof.errors import StormproofError

        try:
            return await self.read(phase, accepted)
        except StormproofError:
            self.snap.phase, self.snap.accepted = phase, accepted
            return self.snap

    async def read(self, phase: str, accepted: int) -> Snapshot:
        """Take a new snapshot (throughput: settled bookings/s over the last 3 s)."""
        from examples.booking.app import booking_dlq, booking_tally, payment_breaker, payments_queue

        tally = await booking_tally.invoke({})
        backlog = (await payments_queue.stats()).total
        breaker = (await payment_breaker.refresh()).state
        dlq = (await booking_dlq.stats()).total
        now = time.monotonic()
        snap = Snapshot(
            phase,
            now - self.started,
            accepted,
            dict(tally["statuses"]),
            backlog,
            max(backlog, self.snap.backlog_peak),
            str(breaker),
            dlq,
        )
        self.history = [h for h in self.history if h[0] > now - 3] + [(now, snap.settled)]
        span = now - self.history[0][0]
        snap.throughput = (snap.settled - self.history[0][1]) / span if span > 0 else 0.0
        if snap.breaker != "closed" and phase not in self.open_in:
            self.open_in.append(phase)
        self.snap = snap
        return snap


def panel(s: Snapshot) -> Panel:
    """The rich rendering of a snapshot."""
    table = Table.grid(padding=(0, 2))
    table.add_column(justify="right", style="bold")
    table.add_column()
    colour = {"closed": "green", "open": "red", "half_open": "yellow"}.get(s.breaker, "white")
    rows: list[tuple[str, Any]] = [
        ("elapsed", f"{s.elapsed:5.1f} s"),
        ("accepted (202)", s.accepted),
        ("throughput", f"{s.throughput:6.1f} bookings/s"),
        ("payment backlog", f"{s.backlog}  (peak {s.backlog_peak})"),
        ("breaker payments-api", f"[{colour}]{s.breaker}[/{colour}]"),
        ("confirmed", s.statuses.get("confirmed", 0)),
        ("compensated", s.statuses.get("released", 0)),
        ("sold out", s.statuses.get("rejected", 0)),
        ("booking DLQ depth", s.dlq),
    ]
    for name, value in rows:
        table.add_row(name, str(value))
    return Panel(table, title=f"[b]phase: {s.phase}[/b]", subtitle=PHASES[s.phase])


def line(s: Snapshot) -> str:
    """The plain rendering of a snapshot (no escape codes)."""
    return (
        f"[{s.elapsed:5.1f}s] {s.phase:<8} accepted={s.accepted} "
        f"confirmed={s.statuses.get('confirmed', 0)} compensated={s.statuses.get('released', 0)} "
        f"sold_out={s.statuses.get('rejected', 0)} backlog={s.backlog} (peak {s.backlog_peak}) "
        f"breaker={s.breaker} dlq={s.dlq} throughput={s.throughput:.1f}/s"
    )


def console() -> Console:
    """The demo's console (plain when stdout is not a terminal)."""
    return Console(highlight=False)
