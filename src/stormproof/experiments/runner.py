"""Running an experiment: steady state, load, faults on their schedule, stop conditions,
roll-back (always: the end, a stop condition, an error, Ctrl-C), recovery, reconciliation.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from stormproof.app import App
from stormproof.experiments.consumers import InProcess, Pool
from stormproof.experiments.deadletters import dead_lettered
from stormproof.experiments.dependency import Dependency
from stormproof.experiments.frontdoor import opened
from stormproof.experiments.injector import Faults, Injector
from stormproof.experiments.ledger import Ledger, Reconciliation, reconcile, settle
from stormproof.experiments.load import Traffic, generate
from stormproof.experiments.probes import Observation, Sources, check
from stormproof.experiments.schedule import Injection, injections
from stormproof.experiments.spec import Experiment
from stormproof.experiments.timeline import Timeline

QUIET = 4.0  # seconds without a new ledger row after which a drained backlog is recovered
# (longer than a stream mapping's first two retry back-offs, 1 s then 2 s: a batch waiting
# to be retried is not a backlog that drained)


@dataclass
class Outcome:
    """Everything the report says about one run."""

    status: str = "running"  # passed | failed | aborted | stopped | interrupted
    before: list[Observation] = field(default_factory=list)
    after: list[Observation] = field(default_factory=list)
    stop_reason: str | None = None
    rolled_back_at: float | None = None
    recovered_in: float | None = None
    injected: list[tuple[Injection, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    reconciliation: Reconciliation | None = None
    ended_at: float = 0.0

    @property
    def holds(self) -> bool:
        """The hypothesis held: steady state before and after, nothing lost, no stop."""
        return self.status == "passed"


class Runner:
    """Runs one experiment against one app (not open yet)."""

    def __init__(
        self,
        exp: Experiment,
        app: App,
        *,
        app_spec: str | None = None,
        faults: Faults | None = None,
        say: Callable[[str], None] = lambda _: None,
    ) -> None:
        self.exp = exp
        self.app = app
        self.app_spec = app_spec
        self.faults: Injector = faults or Faults()
        self.say = say
        self.ledger = Ledger.of(app, exp.ledger_queue)
        self.traffic = Traffic()
        self.timeline = Timeline(t0=time.time())
        self.outcome = Outcome()
        self._interrupted = asyncio.Event()
        self._last_row = time.time()

    @property
    def sources(self) -> Sources:
        """What the probes read."""
        return Sources(
            self.app, self.ledger, self.traffic, self.exp.window, self.outcome.reconciliation
        )

    async def run(self) -> Outcome:
        """Run it all; the outcome (also on Ctrl-C: faults rolled back, report still made)."""
        self.ledger.reset()
        for dep in Dependency.registry.values():
            dep.arrivals.clear()
            dep.retries.clear()
            dep.remove(None)
        serve = any(load.kind == "route" for load in self.exp.load)
        with self._signals():
            async with opened(self.app, serve) as base_url:
                await self.ledger.collect()  # rows of an earlier run are not this run's
                self.ledger.reset()
                consumers = self._consumers()
                await consumers.start()
                try:
                    await self._phases(base_url)
                finally:
                    await self._roll_back()
                    await consumers.stop()
                    for dep in Dependency.registry.values():
                        await dep.close()
                await self._reconcile()
        return self.outcome

    def _consumers(self) -> InProcess | Pool:
        w = self.exp.workers
        if not w.processes:
            return InProcess(self.app, w.concurrency)
        if self.app_spec is None:
            raise ValueError("worker processes need the app as module:attribute (--app)")
        pool = Pool(self.app_spec, self.app.store_url, w.processes, w.concurrency, self.exp.seed)
        if isinstance(self.faults, Faults):
            self.faults.killer = pool
        return pool

    async def _phases(self, base_url: str | None) -> None:
        self.outcome.before = await check(self.exp.steady_state, self.sources)
        bad = [o.label for o in self.outcome.before if not o.ok]
        if bad:
            self.outcome.status = "aborted"
            self.outcome.stop_reason = "steady state failed before any fault: " + ", ".join(bad)
            self.say(self.outcome.stop_reason)
            return
        self.say("steady state holds; load and faults start")
        await self._experiment(base_url)
        await self._roll_back()
        if not self._interrupted.is_set():  # a stopped run still drains, to be reconciled
            await self._recover()

    async def _experiment(self, base_url: str | None) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        self.timeline.t0 = time.time()
        tasks = [
            asyncio.create_task(generate(self.app, load, i, self.traffic, started, base_url))
            for i, load in enumerate(self.exp.load)
        ]
        tasks.append(asyncio.create_task(self._schedule(started)))
        try:
            while loop.time() - started < self.exp.duration and not self._interrupted.is_set():
                await self._tick()
                breached = [o.label for o in await self._stop_checks() if not o.ok]
                if breached:
                    self.outcome.status = "stopped"
                    self.outcome.stop_reason = "stop condition breached: " + ", ".join(breached)
                    self.say(self.outcome.stop_reason + "; rolling every fault back")
                    break
        finally:
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await t
                if not t.cancelled() and t.exception() is not None:
                    self.outcome.errors.append(repr(t.exception()))

    async def _stop_checks(self) -> list[Observation]:
        try:
            return await check(self.exp.stop_conditions, self.sources)
        except Exception as exc:  # a probe that cannot read (a faulty store) is not a breach
            self.outcome.errors.append(f"stop condition unreadable: {exc!r}")
            return []

    async def _tick(self) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._interrupted.wait(), self.exp.sample_interval)
        try:
            if await self.ledger.collect():
                self._last_row = time.time()
        except Exception as exc:  # the rows stay in the store: the next tick reads them
            self.outcome.errors.append(f"ledger read failed: {exc!r}")
        watched = self.exp.watch_queues + self.exp.dead_letter
        await self.timeline.sample(self.app, watched, self.exp.watch_breakers)

    async def _schedule(self, started: float) -> None:
        loop = asyncio.get_running_loop()
        for inj in injections(self.exp):
            await asyncio.sleep(max(0.0, started + inj.offset - loop.time()))
            try:
                fault_id = await self.faults.inject(inj.fault)
            except Exception as exc:
                self.outcome.errors.append(f"inject at {inj.offset:g} s failed: {exc}")
                raise
            self.outcome.injected.append((inj, fault_id))
            self.say(f"t={inj.offset:g} s: injected {inj.fault['action']} on {inj.fault['target']}")

    async def _roll_back(self) -> None:
        """Remove every fault (idempotent); remember when, for the shaded windows."""
        if self.outcome.rolled_back_at is None:
            self.outcome.rolled_back_at = round(time.time() - self.timeline.t0, 3)
        await asyncio.shield(self.faults.stop(None))

    async def _recover(self) -> None:
        """Wait until the steady state holds again and the backlog drained, or until nothing
        moves any more (a probe that cannot come back, such as a filled DLQ, ends it), or the
        window ends."""
        began = time.time()
        while time.time() - began < self.exp.recovery and not self._interrupted.is_set():
            await self._tick()
            probes_ok, settled = await self._settled()
            if probes_ok and settled:
                self.outcome.recovered_in = round(time.time() - began, 2)
                self.say(f"recovered in {self.outcome.recovered_in:g} s")
                return
            if settled and time.time() - self._last_row >= 2 * QUIET:
                break
        self.say("not recovered: the steady state did not come back")

    async def _settled(self) -> tuple[bool, bool]:
        """(the probes hold, the backlog drained and everything sent is accounted or quiet)."""
        try:
            probes = await check(self.exp.steady_state, self.sources)
            backlog = 0
            for name in self.exp.watch_queues:
                backlog += (await (await self.app.get_queue(name)).stats()).total
        except Exception:
            return False, False
        done = self.traffic.sent <= set(self.ledger.processed)
        quiet = time.time() - self._last_row >= QUIET
        return all(o.ok for o in probes), backlog == 0 and (done or quiet)

    async def _reconcile(self) -> None:
        out = self.outcome
        with contextlib.suppress(Exception):
            await settle(self.ledger)
        dead = await dead_lettered(self.app, self.exp.dead_letter)
        out.reconciliation = reconcile(
            self.traffic.sent, self.ledger.processed, dead, self.traffic.poison
        )
        if out.status == "running":
            out.after = await check(self.exp.steady_state, self.sources)
            ok = all(o.ok for o in out.after) and out.reconciliation.lost == 0
            ok = ok and not any(e.startswith("inject") for e in out.errors)
            interrupted = self._interrupted.is_set()
            out.status = "interrupted" if interrupted else "passed" if ok else "failed"
        out.ended_at = round(time.time() - self.timeline.t0, 3)
        self.say(f"hypothesis {'holds' if out.holds else 'FAILED'} ({out.status})")

    @contextlib.contextmanager
    def _signals(self) -> Iterator[None]:
        """Ctrl-C (SIGINT) and SIGTERM end the run early: faults rolled back, report made."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._interrupt)
        try:
            yield
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    def _interrupt(self) -> None:
        self.say("interrupted: rolling every fault back")
        self.outcome.stop_reason = "interrupted (SIGINT/SIGTERM)"
        self._interrupted.set()


def injected_dicts(outcome: Outcome) -> list[dict[str, Any]]:
    """The injections as the report lists them."""
    return [{"offset": inj.offset, "id": fid, **inj.fault} for inj, fid in outcome.injected]
