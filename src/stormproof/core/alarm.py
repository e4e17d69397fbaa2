"""Alarms: the metric selector, the limits and the OK/ALARM state machine, all pure.

An alarm watches one metric of one object (``"dlq_depth:orders-dlq"``) and goes to ALARM
once the value has stayed above ``threshold`` for ``for_`` seconds, back to OK as soon as
an evaluation sees it at or below the threshold (AWS CloudWatch also wants N datapoints to
recover; one is enough here, so a recovered queue is announced at the next evaluation).

Counter metrics (``throttles``, ``executions_failed``) are evaluated as their increase over
the alarm's ``window`` (the samples of the counter's total kept in the alarm's state).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from stormproof.errors import InvalidAttribute

OK, ALARM = "OK", "ALARM"
# metric -> the kind of object it is about
GAUGES = {
    "dlq_depth": "queue",  # visible + in flight + delayed messages of a queue
    "queue_depth": "queue",
    "oldest_age": "queue",  # seconds since the oldest message was sent
    "breaker_open": "breaker",  # 1 while open or half-open, else 0
    "iterator_age": "stream",  # seconds the slowest shard's consumer is behind
}
COUNTERS = {
    "throttles": "function",  # invocations refused for concurrency (increase in window)
    "executions_failed": "machine",  # executions FAILED, TIMED_OUT or ABORTED (idem)
    "dead_lettered": "queue",  # messages moved from the queue to its DLQ (idem)
}
METRICS = {**GAUGES, **COUNTERS}
MAX_FOR = 86_400.0
MIN_WINDOW, MAX_WINDOW = 10.0, 86_400.0


@dataclass(frozen=True)
class Selector:
    """What an alarm watches: a metric of one object (``metric:object``)."""

    metric: str
    subject: str

    @property
    def kind(self) -> str:
        """The kind of object the metric is about (queue, breaker, function, ...)."""
        return METRICS[self.metric]

    @property
    def counter(self) -> bool:
        """Whether the metric is a counter (evaluated as its increase over the window)."""
        return self.metric in COUNTERS

    def __str__(self) -> str:
        return f"{self.metric}:{self.subject}"


def parse_selector(text: Any) -> Selector:
    """``"dlq_depth:orders-dlq"`` as a :class:`Selector`; InvalidAttribute names the field."""
    metric, sep, subject = text.partition(":") if isinstance(text, str) else ("", "", "")
    if not sep or metric not in METRICS or not subject.strip():
        raise InvalidAttribute(
            "metric", text, f"'<metric>:<object>' with metric one of {', '.join(sorted(METRICS))}"
        )
    return Selector(metric, subject)


@dataclass(frozen=True)
class Rule:
    """When an alarm fires: value > ``threshold`` for ``for_`` seconds (counters: their
    increase over ``window`` seconds)."""

    selector: Selector
    threshold: float
    for_: float = 0.0
    window: float = 60.0


def rule(metric: Any, threshold: Any, for_: Any = 0.0, window: Any = 60.0) -> Rule:
    """A validated :class:`Rule` (every limit checked, the error naming field and range)."""
    selector = parse_selector(metric)
    _number("threshold", threshold, 0.0, float("inf"), ">= 0")
    _number("for_", for_, 0.0, MAX_FOR, f"0-{MAX_FOR:g} seconds")
    _number("window", window, MIN_WINDOW, MAX_WINDOW, f"{MIN_WINDOW:g}-{MAX_WINDOW:g} seconds")
    return Rule(selector, float(threshold), float(for_), float(window))


def _number(field: str, value: Any, low: float, high: float, allowed: str) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and low <= value <= high
    if not ok:
        raise InvalidAttribute(field, value, allowed)


@dataclass(frozen=True)
class AlarmState:
    """An alarm's state as stored: OK or ALARM, since when, the last value and, for a
    counter, the ``(time, total)`` samples of its window."""

    state: str = OK
    changed_at: float = 0.0
    breaching_since: float | None = None
    value: float = 0.0
    reason: str = "not evaluated yet"
    samples: tuple[tuple[float, float], ...] = ()

    def as_json(self) -> dict[str, Any]:
        """The stored form."""
        return {
            "state": self.state,
            "changed_at": self.changed_at,
            "value": self.value,
            "breaching_since": self.breaching_since,
            "reason": self.reason,
            "samples": [list(s) for s in self.samples],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AlarmState:
        """The state read back from :meth:`as_json`."""
        samples = tuple((float(t), float(v)) for t, v in data.get("samples", ()))
        return cls(
            data["state"],
            data["changed_at"],
            data.get("breaching_since"),
            data.get("value", 0.0),
            data.get("reason", ""),
            samples,
        )


def increase(
    samples: tuple[tuple[float, float], ...], total: float, now: float, window: float
) -> tuple[float, tuple[tuple[float, float], ...]]:
    """A counter's increase over the last ``window`` s and the samples to keep.

    The baseline is the newest sample at least ``window`` old (else the oldest kept); a
    total below the previous one (a reset) counts from zero.
    """
    kept = tuple(s for s in samples if s[0] >= now - window)
    older = [s for s in samples if s[0] < now - window]
    base = older[-1] if older else (kept[0] if kept else (now, total))
    history = ((base,) if older else ()) + kept
    rise = total - base[1] if total >= base[1] else total
    return max(0.0, rise), (*history, (now, total))


def evaluate(r: Rule, state: AlarmState, value: float, now: float) -> AlarmState:
    """The next state after observing ``value`` at ``now`` (a pure step)."""
    breaching = value > r.threshold
    since = (
        (state.breaching_since if state.breaching_since is not None else now) if breaching else None
    )
    what = f"{r.selector} = {value:g}"
    if state.state == OK and breaching and now - (since or now) >= r.for_:
        reason = f"{what} > {r.threshold:g}" + (f" for {r.for_:g} s" if r.for_ else "")
        return replace(
            state, state=ALARM, changed_at=now, breaching_since=since, value=value, reason=reason
        )
    if state.state == ALARM and not breaching:
        return replace(
            state,
            state=OK,
            changed_at=now,
            breaching_since=None,
            value=value,
            reason=f"{what} <= {r.threshold:g}",
        )
    return replace(state, breaching_since=since, value=value)


def changed(old: AlarmState, new: AlarmState) -> bool:
    """Whether a step changed the state (a notification and an event are due)."""
    return old.state != new.state
