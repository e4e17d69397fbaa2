"""Circuit-breaker decisions: pure functions of (state, outcome, now, policy).

A breaker is CLOSED (calls flow; outcomes are counted in a sliding time window), OPEN
(calls are refused until ``open_until``) or HALF_OPEN (exactly ``half_open_calls`` probes
are admitted; their success closes it, any failure reopens it). A probe that never reports
expires ``probe_timeout`` seconds after it was admitted and counts as a failure, so a
breaker is never stuck half-open.

It trips when, in the last ``window`` seconds, at least ``minimum_calls`` calls were made
and the failed fraction reached ``failure_rate``; or after ``consecutive_failures`` failures
in a row. Each trip after the first, without a close in between, doubles the open time
(with up to :data:`JITTER` extra, drawn from the ``u`` argument) up to ``open_for_max``.

Outcomes reach the decision as :class:`Counts`, a summary of many calls, so a process can
count locally and merge its counts into the shared state now and then. The window is kept
as :data:`BUCKETS` time buckets, so the state stays small whatever the traffic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import StrEnum

from stormproof.errors import InvalidAttribute

BUCKETS = 20  # the sliding window is kept as this many time buckets
JITTER = 0.25  # a repeated trip's open time grows by up to this fraction at random


class State(StrEnum):
    """The three breaker states."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True)
class Policy:
    """When a breaker trips and how it recovers (validated by :func:`policy`)."""

    failure_rate: float = 0.5
    minimum_calls: int = 20
    window: float = 30.0
    consecutive_failures: int | None = None
    slow_call: float | None = None
    open_for: float = 30.0
    open_for_max: float = 300.0
    half_open_calls: int = 1
    probe_timeout: float = 60.0


def _check(ok: bool, field: str, value: object, allowed: str) -> None:
    if not ok:
        raise InvalidAttribute(field, value, allowed)


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def policy(**fields: object) -> Policy:
    """A validated :class:`Policy`; bad values raise ``InvalidAttribute`` naming the range."""
    p = Policy(**fields)  # type: ignore[arg-type]
    rate = p.failure_rate
    _check(_number(rate) and 0 < rate <= 1, "failure_rate", rate, "a number in (0, 1]")
    _check(
        _count(p.minimum_calls) and p.minimum_calls >= 1,
        "minimum_calls",
        p.minimum_calls,
        "an integer >= 1",
    )
    _check(_number(p.window) and p.window >= 1, "window", p.window, "seconds >= 1")
    n = p.consecutive_failures
    _check(n is None or (_count(n) and n >= 1), "consecutive_failures", n, "None or >= 1")
    s = p.slow_call
    _check(s is None or (_number(s) and s > 0), "slow_call", s, "None or seconds > 0")
    _check(_number(p.open_for) and p.open_for >= 1, "open_for", p.open_for, "seconds >= 1")
    _check(
        _number(p.open_for_max) and p.open_for_max >= p.open_for,
        "open_for_max",
        p.open_for_max,
        f"seconds >= open_for ({p.open_for})",
    )
    h = p.half_open_calls
    _check(_count(h) and 1 <= h <= 1000, "half_open_calls", h, "an integer from 1 to 1000")
    t = p.probe_timeout
    _check(_number(t) and t > 0, "probe_timeout", t, "seconds > 0")
    return p


@dataclass(frozen=True)
class Counts:
    """A summary of consecutive calls: how many, how many failed, how many at the end
    failed in a row (``tail``). Summaries merge: :meth:`then`."""

    calls: int = 0
    failures: int = 0
    tail: int = 0

    def then(self, later: Counts) -> Counts:
        """This summary followed by ``later``."""
        all_failed = later.calls == later.failures
        tail = self.tail + later.tail if all_failed else later.tail
        return Counts(self.calls + later.calls, self.failures + later.failures, tail)


SUCCESS = Counts(1, 0, 0)
FAILURE = Counts(1, 1, 1)


def classify(failed: bool, duration: float, p: Policy) -> Counts:
    """One call's counts: a slow call (over ``slow_call``) counts as a failure."""
    slow = p.slow_call is not None and duration > p.slow_call
    return FAILURE if failed or slow else SUCCESS


@dataclass(frozen=True)
class Breaker:
    """A breaker's whole state (JSON-able through :func:`to_dict`/:func:`from_dict`).

    ``buckets`` are ``(start, calls, failures)`` of the window; ``probes`` are
    ``(probe_id, expires_at)``; ``trips`` counts trips since the last close.
    """

    state: State = State.CLOSED
    open_until: float = 0.0
    trips: int = 0
    consecutive: int = 0
    buckets: tuple[tuple[float, int, int], ...] = ()
    probes: tuple[tuple[str, float], ...] = ()
    successes: int = 0  # successful probes of this half-open window
    reason: str = ""

    @property
    def calls(self) -> int:
        """Calls counted in the window."""
        return sum(b[1] for b in self.buckets)

    @property
    def failures(self) -> int:
        """Failures counted in the window."""
        return sum(b[2] for b in self.buckets)


@dataclass(frozen=True)
class Admission:
    """The answer to "may I call?": ``allowed``; ``probe`` when it is a half-open probe;
    ``retry_at`` when refused; ``breaker`` the state to keep."""

    allowed: bool
    breaker: Breaker
    probe: bool = False
    retry_at: float | None = None


def open_duration(trips: int, p: Policy, u: float) -> float:
    """Seconds open after the ``trips``-th trip in a row; ``u`` in [0, 1) draws the jitter."""
    if trips <= 1:
        return p.open_for
    grown = p.open_for * 2.0 ** min(trips - 1, 60) * (1 + JITTER * u)
    return min(p.open_for_max, grown)


def trip(b: Breaker, now: float, p: Policy, u: float, reason: str) -> Breaker:
    """Open the breaker (from any state)."""
    trips = b.trips + 1
    return Breaker(State.OPEN, now + open_duration(trips, p, u), trips, reason=reason)


def expire(b: Breaker, now: float, p: Policy, u: float) -> Breaker:
    """Apply the passing of time: a probe past its timeout reopens a half-open breaker."""
    if b.state is State.HALF_OPEN and any(exp <= now for _, exp in b.probes):
        return trip(b, now, p, u, "probe timed out")
    return b


def admit(b: Breaker, now: float, p: Policy, u: float, probe_id: str) -> Admission:
    """May a call go ahead now? A half-open admission holds probe ``probe_id``."""
    b = expire(b, now, p, u)
    if b.state is State.CLOSED:
        return Admission(True, b)
    if b.state is State.OPEN:
        if now < b.open_until:
            return Admission(False, b, retry_at=b.open_until)
        b = Breaker(State.HALF_OPEN, b.open_until, b.trips, reason="open time over")
    if len(b.probes) + b.successes >= p.half_open_calls:
        earliest = min((exp for _, exp in b.probes), default=now + p.probe_timeout)
        return Admission(False, b, retry_at=earliest)
    held = (*b.probes, (probe_id, now + p.probe_timeout))
    return Admission(True, replace(b, probes=held), probe=True)


def _window(b: Breaker, now: float, p: Policy, c: Counts) -> tuple[tuple[float, int, int], ...]:
    width = p.window / BUCKETS
    start = math.floor(now / width) * width
    kept = [x for x in b.buckets if x[0] > now - p.window]
    if kept and kept[-1][0] == start:
        s, calls, fails = kept.pop()
        kept.append((s, calls + c.calls, fails + c.failures))
    elif c.calls:
        kept.append((start, c.calls, c.failures))
    return tuple(kept)


def record(b: Breaker, c: Counts, now: float, p: Policy, u: float) -> Breaker:
    """Merge ordinary (non-probe) outcomes; may trip a closed breaker.

    Outcomes that arrive while open or half-open are of calls admitted before the trip:
    they change nothing (the probes decide).
    """
    b = expire(b, now, p, u)
    if b.state is not State.CLOSED or c.calls == 0:
        return b
    consecutive = b.consecutive + c.tail if c.calls == c.failures else c.tail
    b = replace(b, consecutive=consecutive, buckets=_window(b, now, p, c))
    if p.consecutive_failures is not None and consecutive >= p.consecutive_failures:
        return trip(b, now, p, u, f"{consecutive} consecutive failures")
    calls, failures = b.calls, b.failures
    if calls >= p.minimum_calls and failures >= p.failure_rate * calls:
        return trip(b, now, p, u, f"{failures} of {calls} calls failed in {p.window:g} s")
    return b


def finish_probe(
    b: Breaker, probe_id: str, failed: bool, now: float, p: Policy, u: float
) -> Breaker:
    """A probe reports: a failure reopens; ``half_open_calls`` successes close.

    A probe this state does not hold (expired, or from an earlier window) changes nothing.
    """
    b = expire(b, now, p, u)
    if b.state is not State.HALF_OPEN or probe_id not in {pid for pid, _ in b.probes}:
        return b
    if failed:
        return trip(b, now, p, u, "probe failed")
    left = tuple(x for x in b.probes if x[0] != probe_id)
    successes = b.successes + 1
    if successes >= p.half_open_calls:
        return Breaker(State.CLOSED, reason=f"{successes} probes succeeded")
    return replace(b, probes=left, successes=successes)


def cancel_probe(b: Breaker, probe_id: str) -> Breaker:
    """Give a probe permit back unused (the probe found nothing to do)."""
    return replace(b, probes=tuple(x for x in b.probes if x[0] != probe_id))


def force(
    b: Breaker, state: State, now: float, reason: str, hold: float = 10 * 365 * 86400
) -> Breaker:
    """A manual override: open (isolate, for ``hold`` seconds) or closed (reset)."""
    if state is State.OPEN:
        return Breaker(State.OPEN, now + hold, b.trips, reason=reason)
    return Breaker(State.CLOSED, reason=reason)


def to_dict(b: Breaker) -> dict[str, object]:
    """A JSON-able form of the state."""
    return {
        "state": b.state.value,
        "open_until": b.open_until,
        "trips": b.trips,
        "consecutive": b.consecutive,
        "buckets": [list(x) for x in b.buckets],
        "probes": [list(x) for x in b.probes],
        "successes": b.successes,
        "reason": b.reason,
    }


def from_dict(d: dict[str, object]) -> Breaker:
    """The state :func:`to_dict` wrote."""
    buckets = d.get("buckets") or []
    probes = d.get("probes") or []
    assert isinstance(buckets, list) and isinstance(probes, list)
    return Breaker(
        State(str(d.get("state", "closed"))),
        float(d.get("open_until", 0.0)),  # type: ignore[arg-type]
        int(d.get("trips", 0)),  # type: ignore[call-overload]
        int(d.get("consecutive", 0)),  # type: ignore[call-overload]
        tuple((float(s), int(n), int(f)) for s, n, f in buckets),
        tuple((str(i), float(e)) for i, e in probes),
        int(d.get("successes", 0)),  # type: ignore[call-overload]
        str(d.get("reason", "")),
    )
