"""Circuit breakers at run time: one decision shared by every process, cheaply.

The decisions are :mod:`stormproof.core.breaker`'s; this module keeps their state.

* ``scope="global"``: the state (closed/open/half-open, open-until, the window's counts and
  the half-open probe permits) is one state record ``breaker/<name>`` in the store, changed
  only by compare-and-set, so every process on every host sees one breaker. A process keeps
  a copy for :data:`CACHE_TTL` seconds: a check against a fresh closed (or still open) copy
  makes no round trip; a copy older than that is refreshed by a background task while calls
  are still decided on it, up to :data:`STALE_MAX` seconds (older, the check waits for the
  store). Outcomes are counted locally and merged into the record at most every
  :data:`FLUSH_EVERY` seconds per process, by that background task: a guarded call never
  waits for the store to record its outcome, unless its failure trips the breaker (then
  the trip is written at once). The probe permits live in the record, so however
  many processes and callers there are, at most ``half_open_calls`` probes run per half-open
  window; a prober that dies leaves a permit that expires after ``probe_timeout`` and
  reopens the breaker (the core's rule).
* ``scope="process"``: the same decisions on a private copy, no store: no dependency, but
  each process learns of an outage on its own (more calls reach the failing dependency).

If the store fails, a global breaker decides on its local copy (process scope) and logs
``event=breaker.degraded``; the next successful round trip brings it back.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import json
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TypeVar

from stormproof.clock import Clock
from stormproof.core import breaker as core
from stormproof.core.breaker import Counts, State
from stormproof.engine import events, injection
from stormproof.errors import BreakerOpen, InvalidAttribute, StoreError
from stormproof.storage.base import CompareAndSet, Store

CACHE_TTL = 0.1  # a process trusts its copy of a global breaker's state this long
# ... and decides on an older copy (being refreshed in the background) up to this age: a
# trip elsewhere stops this process's calls within STALE_MAX + a round trip (< 250 ms)
STALE_MAX = 0.2
FLUSH_EVERY = 0.1  # local outcome counts are merged into the store at most this often
CAS_ATTEMPTS = 20  # compare-and-set retries under contention before refusing a call

log = logging.getLogger("stormproof.breakers")
T = TypeVar("T")
Decide = Callable[[core.Breaker, float], tuple[core.Breaker, T]]
Announce = Callable[["CircuitBreaker", core.Breaker, core.Breaker], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Permit:
    """One admitted call: when it started and, for a half-open probe, its permit id."""

    started: float
    probe_id: str | None = None


class CircuitBreaker:
    """A named breaker (``app.breaker(...)``): ``async with``, ``@breaker``, ``.call(fn)``.

    An open breaker raises :class:`~stormproof.errors.BreakerOpen` without calling. What
    counts as a failure: an exception of ``failure_on`` (default ``Exception``), a result for
    which ``failed_result(result)`` is true, or a call slower than ``slow_call``.
    """

    def __init__(
        self,
        store: Callable[[], Store],
        clock: Callable[[], Clock],
        name: str,
        policy: core.Policy,
        *,
        scope: str = "global",
        failure_on: tuple[type[BaseException], ...] = (Exception,),
        failed_result: Callable[[Any], bool] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if scope not in ("global", "process"):
            raise InvalidAttribute("scope", scope, '"global" or "process"')
        self.name = name
        self.policy = policy
        self.scope = scope
        self.failure_on = failure_on
        self.failed_result = failed_result
        self._store = store
        self._clock = clock
        self._rng = rng or random.Random()
        self._state = core.Breaker()
        self._fetched_at = float("-inf")
        self._pending = Counts()
        self._flushed_at = float("-inf")
        self._degraded = False
        self._syncing: asyncio.Task[None] | None = None  # the background flush and refresh
        self.on_change: Announce | None = None  # told of each transition this process makes
        self._calls: contextvars.ContextVar[tuple[Any, ...]] = contextvars.ContextVar(
            f"breaker-{name}", default=()
        )

    @property
    def key(self) -> str:
        """The state record of a global breaker."""
        return f"breaker/{self.name}"

    @property
    def state(self) -> core.Breaker:
        """This process's latest copy of the state."""
        return self._state

    # --- admission -------------------------------------------------------------------

    async def try_admit(self) -> Permit | float | None:
        """A permit, or when refused the time to retry at (None: unknown)."""
        now = self._clock().now()
        if self.scope == "process":
            if self._pending.calls:
                await self.flush()
        elif now - self._fetched_at >= STALE_MAX and not self._degraded:
            await self._sync_shared()  # too old to trust (an idle process): the store first
        elif now - self._fetched_at >= CACHE_TTL or self._flush_due(now):
            self._sync_in_background()  # degraded: retried in the background only
        local = self.scope == "process" or self._degraded
        if local or now - self._fetched_at < STALE_MAX:
            b = core.expire(self._state, now, self.policy, 0.0)
            if b.state is State.CLOSED:
                return Permit(now)
            if self.scope == "global" and b.state is State.OPEN and now < b.open_until:
                return b.open_until
            if self.scope == "global" and not core.admit(b, now, self.policy, 0.0, "").allowed:
                return core.admit(b, now, self.policy, 0.0, "").retry_at
        probe_id = f"{id(self):x}-{self._rng.getrandbits(48):012x}"
        u = self._rng.random()

        def decide(b: core.Breaker, at: float) -> tuple[core.Breaker, core.Admission]:
            a = core.admit(b, at, self.policy, u, probe_id)
            return a.breaker, a

        a = await self._change(decide)
        if a is None or not a.allowed:
            return None if a is None else a.retry_at
        return Permit(now, probe_id if a.probe else None)

    async def admit(self) -> Permit:
        """A permit for one call, or raise ``BreakerOpen``."""
        got = await self.try_admit()
        if not isinstance(got, Permit):
            raise BreakerOpen(self.name, got)
        return got

    async def done(self, permit: Permit, failed: bool) -> None:
        """Report an admitted call's outcome (slow calls count as failures)."""
        now = self._clock().now()
        counts = core.classify(failed, now - permit.started, self.policy)
        if permit.probe_id is not None:
            pid, bad, u = permit.probe_id, counts.failures > 0, self._rng.random()
            await self._change(
                lambda b, at: (core.finish_probe(b, pid, bad, at, self.policy, u), None)
            )
            return
        self._pending = self._pending.then(counts)
        if self.scope == "process" or (counts.failures and self._trips(now)):
            # local; or a trip, which every process must learn of now (degraded: this one)
            await self.flush(local=self._degraded)
        elif self._flush_due(now):
            self._sync_in_background()

    def _trips(self, now: float) -> bool:
        """Whether the pending outcomes trip this process's copy of a closed breaker."""
        tripped = core.record(self._state, self._pending, now, self.policy, 0.0)
        return self._state.state is State.CLOSED and tripped.state is not State.CLOSED

    async def cancel(self, permit: Permit) -> None:
        """Give back an unused permit (a probe that found nothing to do)."""
        if permit.probe_id is not None:
            pid = permit.probe_id
            await self._change(lambda b, at: (core.cancel_probe(b, pid), None))

    def _flush_due(self, now: float) -> bool:
        if self._pending.calls == 0:
            return False
        return self.scope == "process" or now - self._flushed_at >= FLUSH_EVERY

    def _sync_in_background(self) -> asyncio.Task[None]:
        """Flush and refresh in a task of its own (one at a time), never awaited by a call."""
        if self._syncing is None or self._syncing.done():
            self._syncing = asyncio.ensure_future(self._sync_quietly())
        return self._syncing

    async def _sync_shared(self) -> None:
        """Wait for a sync: the one in flight, if any (concurrent callers share one)."""
        await asyncio.shield(self._sync_in_background())

    async def _sync_quietly(self) -> None:
        try:
            await self._sync()
        except Exception:  # the store's failures degrade in _change; anything else is a bug
            log.exception("event=breaker.sync_failed breaker=%s", self.name)

    async def _sync(self) -> None:
        """Merge the pending outcomes (if any) and read the shared state, in one step."""
        if self._pending.calls:
            await self.flush()
        else:
            u = self._rng.random()
            await self._change(lambda b, at: (core.expire(b, at, self.policy, u), None))

    async def settle(self) -> None:
        """Wait for the background flush, then merge what is still pending (closing)."""
        if self._syncing is not None:
            await asyncio.gather(self._syncing, return_exceptions=True)
        if self._pending.calls:
            await self.flush()

    async def flush(self, local: bool = False) -> None:
        """Merge the locally counted outcomes into the (shared, unless ``local``) state now."""
        self._flushed_at = self._clock().now()
        pending, self._pending = self._pending, Counts()
        u = self._rng.random()

        def merge(b: core.Breaker, at: float) -> tuple[core.Breaker, None]:
            return core.record(b, pending, at, self.policy, u), None

        await (self._apply_locally(merge) if local else self._change(merge))

    # --- state changes ---------------------------------------------------------------

    async def _change(self, decide: Decide[T]) -> T | None:
        """Apply a decision to the state: locally, or by compare-and-set in the store."""
        if self.scope == "process":
            return await self._apply_locally(decide)
        try:
            return await self._change_shared(decide)
        except StoreError as exc:
            if not self._degraded:
                log.warning(
                    "event=breaker.degraded breaker=%s scope=process error=%s", self.name, exc
                )
            self._degraded = True
            return await self._apply_locally(decide)

    async def _apply_locally(self, decide: Decide[T]) -> T:
        now = self._clock().now()
        old = self._state
        new, out = decide(old, now)
        self._keep(new, now)
        await self._announce(old, new)
        return out

    async def _announce(self, old: core.Breaker, new: core.Breaker) -> None:
        """Tell ``on_change`` of a transition this process made (once, whatever the scope:
        with a shared state only the compare-and-set that made it announces it)."""
        if self.on_change is None or old.state is new.state:
            return
        try:
            await self.on_change(self, old, new)
        except Exception:  # an announcement must never break the guarded call
            log.exception("event=breaker.announce_failed breaker=%s", self.name)

    async def _change_shared(self, decide: Decide[T]) -> T | None:
        store = self._store()
        for _ in range(CAS_ATTEMPTS):
            rec = await store.get_state(self.key)
            b = core.from_dict(json.loads(rec.value)) if rec else core.Breaker()
            now = self._clock().now()
            new, out = decide(b, now)
            if new != b:
                value = json.dumps(core.to_dict(new))
                op = CompareAndSet(self.key, rec.version if rec else None, value)
                if not (await store.apply([op]))[0].ok:
                    continue  # another process changed it: decide again on its state
                await self._announce(b, new)
            if self._degraded:
                log.warning("event=breaker.recovered breaker=%s scope=global", self.name)
                self._degraded = False
            self._keep(new, now)
            return out
        return None

    def _keep(self, new: core.Breaker, now: float) -> None:
        old, self._state, self._fetched_at = self._state, new, now
        if old.state is not new.state:
            log.warning(
                "event=breaker.%s breaker=%s reason=%s open_until=%s",
                new.state.value,
                self.name,
                json.dumps(new.reason),
                iso_ms(new.open_until),
            )
            events.emit(
                "breaker.changed",
                "",
                breaker=self.name,
                state=new.state.value,
                previous=old.state.value,
                reason=new.reason,
            )

    async def refresh(self) -> core.Breaker:
        """Read the shared state now (and merge pending outcomes)."""
        self._fetched_at = float("-inf")
        await self._sync()
        return self._state

    async def force(self, state: State, by: str = "api") -> core.Breaker:
        """Manual override: ``State.OPEN`` isolates, ``State.CLOSED`` resets; records who/when."""
        when = iso_ms(self._clock().now())
        reason = f"forced {state.value} by {by} at {when}"
        await self._change(lambda b, at: (core.force(b, state, at, reason), None))
        return self._state

    # --- the three ways to guard a call ----------------------------------------------

    def failed(self, exc: BaseException | None, result: Any = None) -> bool:
        """Whether an outcome counts as a failure of the dependency."""
        if exc is not None:
            return isinstance(exc, self.failure_on) and not isinstance(exc, BreakerOpen)
        return self.failed_result is not None and bool(self.failed_result(result))

    async def call(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Call ``fn(*args, **kwargs)`` through the breaker (awaiting what it returns if needed)."""
        permit = await self.admit()
        try:
            if injection.injector is not None:  # a chaos fault fails the guarded call
                await injection.injector.strike(f"breaker:{self.name}")
            result = fn(*args, **kwargs)
            if inspect.isawaitable(result):
                result = await result
        except BaseException as exc:
            await self.done(permit, self.failed(exc))
            raise
        await self.done(permit, self.failed(None, result))
        return result

    def __call__(self, fn: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
        """``@breaker`` on an async function."""
        if not inspect.iscoroutinefunction(fn):
            raise InvalidAttribute("fn", fn, "an async function (use breaker.call for others)")

        @functools.wraps(fn)
        async def guarded(*args: Any, **kwargs: Any) -> T:
            result: T = await self.call(fn, *args, **kwargs)
            return result

        return guarded

    async def __aenter__(self) -> CircuitBreaker:
        permit = await self.admit()
        self._calls.set((permit, self._calls.get()))  # a stack per task: nesting works
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        permit, rest = self._calls.get()
        self._calls.set(rest)
        await self.done(permit, self.failed(exc))


def iso_ms(t: float) -> str:
    """An epoch time as ISO 8601 UTC to the millisecond (log lines and reasons)."""
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds")
