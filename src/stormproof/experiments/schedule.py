"""The fault schedule, decided in pure code: when each fault is injected, the window in
which it acts, and the seed each one draws from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stormproof.experiments.spec import Experiment

MAX_INJECTIONS = 10_000  # a repeated step with a tiny period must not schedule without end


@dataclass(frozen=True)
class Injection:
    """One inject call: at ``offset`` seconds from the start of the load."""

    offset: float
    step: int
    fault: dict[str, Any]

    @property
    def starts(self) -> float:
        """When the fault begins to act (its ``start_after`` counted)."""
        return self.offset + float(self.fault.get("start_after", 0.0))

    @property
    def ends(self) -> float:
        """When the fault expires on its own."""
        return self.starts + float(self.fault["duration"])


def injections(exp: Experiment) -> list[Injection]:
    """Every injection of ``exp`` in time order (ties by step); seeds derived from the
    experiment's seed so that a seeded experiment replays the same draws."""
    found: list[Injection] = []
    for index, step in enumerate(exp.faults):
        times = [step.at]
        if step.every is not None:
            until = exp.duration if step.until is None else step.until
            n = 1
            while step.at + n * step.every < until and len(times) < MAX_INJECTIONS:
                times.append(step.at + n * step.every)
                n += 1
        for k, t in enumerate(times):
            fault = dict(step.fault)
            if exp.seed is not None and fault.get("seed") is None:
                fault["seed"] = (exp.seed * 1_000_003 + index * 10_007 + k) % 2**63
            found.append(Injection(round(t, 6), index, fault))
    return sorted(found, key=lambda i: (i.offset, i.step))[:MAX_INJECTIONS]


def windows(planned: list[Injection], stopped_at: float | None) -> list[tuple[float, float, str]]:
    """The (start, end, label) spans in which faults acted, cut short at ``stopped_at``
    (a stop condition or Ctrl-C rolled everything back then)."""
    spans = []
    for inj in planned:
        end = inj.ends if stopped_at is None else min(inj.ends, stopped_at)
        if stopped_at is not None and inj.offset >= stopped_at:
            continue
        label = f"{inj.fault['action']} {inj.fault['target']}"
        spans.append((inj.starts, max(inj.starts, end), label))
    return spans


def plan_lines(exp: Experiment) -> list[str]:
    """The plan ``--dry-run`` prints: every phase with its offsets."""
    lines = [f"experiment: {exp.title}"]
    if exp.description:
        lines.append(f"  {exp.description.strip()}")
    workers = exp.workers
    who = f"{workers.processes} worker processes" if workers.processes else "in-process worker"
    lines.append(f"consumers: {who}, concurrency {workers.concurrency}")
    lines.append("1. steady state before any fault:")
    lines += [f"     {p.label()}" for p in exp.steady_state] or ["     (no probes)"]
    lines.append(f"2. load for {exp.duration:g} s:")
    for load in exp.load:
        end = load.start + load.duration
        lines.append(
            f"     {load.kind} {load.target}: {load.rate:g}/s from {load.start:g} s to {end:g} s"
        )
    lines.append("3. faults:")
    for inj in injections(exp):
        f = inj.fault
        lines.append(
            f"     t={inj.offset:g} s: {f['action']} on {f['target']} for {f['duration']:g} s"
        )
    if not exp.faults:
        lines.append("     (none)")
    lines.append("   stop conditions (roll back every fault at once):")
    lines += [f"     {p.label()}" for p in exp.stop_conditions] or ["     (none)"]
    lines.append(
        f"4. every fault rolled back; recovery window {exp.recovery:g} s; steady state again"
    )
    lines.append(
        "5. report: reconciliation (lost must be 0), plot, exit != 0 if the hypothesis fails"
    )
    return lines
