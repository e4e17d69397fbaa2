"""What the report plots: gauges sampled during the run (queue depths, breaker states) and
per-interval series computed from the ledger, the load and the dependencies' arrivals
(throughput, latency percentiles, errors, calls to each dependency)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

from stormproof.app import App
from stormproof.errors import StormproofError
from stormproof.experiments.dependency import Dependency
from stormproof.experiments.ledger import Ledger
from stormproof.experiments.load import Traffic
from stormproof.experiments.probes import breaker_level, percentile


@dataclass
class Timeline:
    """Gauges at each sample: offset ``t`` from the start of the load (wall clock ``t0``)."""

    t0: float
    t: list[float] = field(default_factory=list)
    depth: dict[str, list[float]] = field(default_factory=dict)
    breakers: dict[str, list[float]] = field(default_factory=dict)

    async def sample(self, app: App, queues: tuple[str, ...], breakers: tuple[str, ...]) -> None:
        """Read every watched queue's depth and breaker's state now."""
        self.t.append(round(time.time() - self.t0, 3))
        for name in queues:
            try:
                total = float((await (await app.get_queue(name)).stats()).total)
            except StormproofError:
                total = math.nan  # a faulty store: a gap in the plot, not a crash
            self.depth.setdefault(name, []).append(total)
        for name in breakers:
            try:
                level = breaker_level((await app.breakers.get(name).refresh()).state)
            except (StormproofError, LookupError):  # undeclared in this app, or unreadable
                level = math.nan
            self.breakers.setdefault(name, []).append(level)


def _bins(times: list[float], t0: float, width: float, n: int) -> list[float]:
    counts = [0.0] * n
    for at in times:
        k = int((at - t0) // width)
        if 0 <= k < n:
            counts[k] += 1
    return [c / width for c in counts]


def series(
    tl: Timeline, ledger: Ledger, traffic: Traffic, width: float, end: float
) -> dict[str, Any]:
    """Per-``width`` series from ``t0`` to offset ``end``: rates per second, latencies in s."""
    n = max(1, math.ceil(end / width))
    t0 = tl.t0
    done = [e.at for e in ledger.entries if e.ok for _ in e.ids]
    failed = [e.at for e in ledger.entries if not e.ok for _ in e.ids]
    failed += [at for at, _, st in traffic.requests if not 200 <= st < 300]
    lat: list[list[float]] = [[] for _ in range(n)]
    for e in ledger.entries:
        k = int((e.at - t0) // width)
        if 0 <= k < n and e.ok:
            lat[k] += list(e.latencies)
    for at, latency, _ in traffic.requests:
        k = int((at - t0) // width)
        if 0 <= k < n and not ledger.entries:
            lat[k].append(latency)
    calls = {name: _bins(d.arrivals, t0, width, n) for name, d in Dependency.registry.items()}
    retries = {name: _bins(d.retries, t0, width, n) for name, d in Dependency.registry.items()}
    return {
        "t": [round(k * width, 3) for k in range(n)],
        "sent": _bins(traffic.sent_times, t0, width, n),
        "throughput": _bins(done, t0, width, n),
        "errors": _bins(failed, t0, width, n),
        "p50": [percentile(x, 0.5) for x in lat],
        "p99": [percentile(x, 0.99) for x in lat],
        "dependency_calls": {k: v for k, v in calls.items() if any(v)},
        "dependency_retries": {k: v for k, v in retries.items() if any(v)},
    }


def peak_to_mean(values: list[float]) -> float | None:
    """The highest bin over the mean of the bins from the first non-zero to the last."""
    nonzero = [i for i, v in enumerate(values) if v > 0]
    if not nonzero:
        return None
    span = values[nonzero[0] : nonzero[-1] + 1]
    mean = sum(span) / len(span)
    return round(max(span) / mean, 2)
