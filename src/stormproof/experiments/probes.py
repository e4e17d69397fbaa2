"""Probes: the measurements of a steady-state hypothesis and of stop conditions.

Each probe reads one number now (a queue's depth, the age of its oldest message, a
breaker's state) or over the last ``window`` seconds (p99 latency, error rate), from the
store, the ledger and the load generators, and holds when the number is within its limit.
"""

from __future__ import annotations

import importlib
import inspect
import time
from dataclasses import dataclass
from typing import Any

from stormproof.app import App
from stormproof.core.breaker import State
from stormproof.errors import InvalidAttribute
from stormproof.experiments.ledger import Ledger, Reconciliation
from stormproof.experiments.load import Traffic
from stormproof.experiments.spec import Probe


@dataclass(frozen=True)
class Observation:
    """A probe's reading: its value and whether it held."""

    label: str
    value: float
    ok: bool

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {"probe": self.label, "value": self.value, "ok": self.ok}


@dataclass
class Sources:
    """Where probes read from."""

    app: App
    ledger: Ledger
    traffic: Traffic
    window: float
    reconciliation: Reconciliation | None = None


def percentile(values: list[float], q: float) -> float:
    """The ``q``-quantile (0..1) by nearest rank; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))
    return ordered[rank]


async def measure(probe: Probe, src: Sources) -> Observation | None:
    """Read ``probe`` now; None for a reconciliation probe before the reconciliation."""
    if probe.kind == "reconciliation":
        if src.reconciliation is None:
            return None
        value = float(getattr(src.reconciliation, str(probe.metric)))
        return Observation(probe.label(), value, value <= probe.max)
    if probe.kind == "custom":
        ok = bool(await _custom(str(probe.function), src.app))
        return Observation(probe.label(), 1.0 if ok else 0.0, ok)
    if probe.kind == "breaker_closed":
        state = (await src.app.breakers.get(str(probe.breaker)).refresh()).state
        return Observation(probe.label(), breaker_level(state), state is State.CLOSED)
    value = await _value(probe, src)
    return Observation(probe.label(), value, value <= probe.max)


def breaker_level(state: State) -> float:
    """A breaker state as a number to plot: closed 0, half-open 0.5, open 1."""
    return {State.CLOSED: 0.0, State.HALF_OPEN: 0.5, State.OPEN: 1.0}[state]


async def _value(probe: Probe, src: Sources) -> float:
    if probe.kind in ("dlq_depth", "queue_depth", "oldest_message_age"):
        stats = await (await src.app.get_queue(str(probe.queue))).stats()
        if probe.kind == "oldest_message_age":
            return float(stats.oldest_age or 0.0)
        return float(stats.total)
    since = time.time() - src.window
    if probe.route is not None:
        recent = [(lat, st) for at, lat, st in src.traffic.requests if at >= since]
        if probe.kind == "p99_latency":
            return percentile([lat for lat, _ in recent], 0.99)
        return sum(1 for _, st in recent if not 200 <= st < 300) / max(1, len(recent))
    entries = [e for e in src.ledger.entries if e.at >= since]
    if probe.kind == "p99_latency":
        return percentile([x for e in entries if e.ok for x in e.latencies], 0.99)
    failed = sum(len(e.ids) for e in entries if not e.ok)
    return failed / max(1, sum(len(e.ids) for e in entries))


async def _custom(path: str, app: App) -> Any:
    """Call the probe function ``module:name`` (or ``module.name``) with the app."""
    module_name, sep, attr = path.partition(":")
    if not sep:
        module_name, _, attr = path.rpartition(".")
    try:
        fn = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise InvalidAttribute("probe.function", path, f"an importable function ({exc})") from exc
    result = fn(app)
    return await result if inspect.isawaitable(result) else result


async def check(probes: tuple[Probe, ...], src: Sources) -> list[Observation]:
    """Every probe's reading (reconciliation probes only once reconciled)."""
    found = []
    for p in probes:
        obs = await measure(p, src)
        if obs is not None:
            found.append(obs)
    return found
