"""An experiment file, validated: the steady-state hypothesis, the load, the fault schedule,
the stop conditions and the recovery window.

Every limit is checked when the file is read (before anything runs), and an error names
the field by its path in the file, the value and the allowed range.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from stormproof.errors import InvalidAttribute
from stormproof.experiments.fields import Fields

MAX_DURATION = 3600.0  # an experiment is bounded: an hour of load at most
MAX_RATE = 5000.0  # messages, events or requests per second per load entry
MAX_FAULT_DURATION = 86400.0  # the chaos contract's bound
MAX_ITEMS = 32
PROBES = (
    "dlq_depth",
    "queue_depth",
    "oldest_message_age",
    "p99_latency",
    "error_rate",
    "breaker_closed",
    "custom",
    "reconciliation",
)
METRICS = ("lost", "duplicated", "dead_lettered", "dead_lettered_healthy")
LOADS = ("queue", "bus", "route", "stream")
ACTIONS = ("error", "latency", "timeout", "throttle", "drop", "crash")


@dataclass(frozen=True)
class Probe:
    """One measurement and its limit: it holds when ``value <= max`` (or the check passes)."""

    kind: str
    max: float = 0.0
    queue: str | None = None
    route: str | None = None
    breaker: str | None = None
    function: str | None = None
    metric: str | None = None
    name: str = ""

    def label(self) -> str:
        """A short human name: ``dlq_depth(orders-dlq) <= 0``."""
        if self.name:
            return self.name
        subject = self.queue or self.route or self.breaker or self.function or self.metric or ""
        limit = "" if self.kind in ("breaker_closed", "custom") else f" <= {self.max:g}"
        return f"{self.kind}({subject}){limit}" if subject else f"{self.kind}{limit}"


@dataclass(frozen=True)
class Load:
    """Traffic at ``rate`` per second from ``start`` for ``duration`` seconds."""

    kind: str
    target: str
    rate: float
    start: float
    duration: float
    body: dict[str, Any] = field(default_factory=dict)
    poison: tuple[int, ...] = ()  # the sequence numbers sent with "poison": true


@dataclass(frozen=True)
class FaultStep:
    """A fault (the chaos contract's dict form) injected at offset ``at``, again every
    ``every`` seconds until ``until`` when ``every`` is set."""

    at: float
    fault: dict[str, Any]
    every: float | None = None
    until: float | None = None


@dataclass(frozen=True)
class Workers:
    """Who consumes: in-process (``processes=0``) or that many ``stormproof worker``s."""

    processes: int = 0
    concurrency: int = 10


@dataclass(frozen=True)
class Experiment:
    """A validated experiment (see :func:`parse`)."""

    title: str
    duration: float
    recovery: float
    sample_interval: float
    window: float
    workers: Workers
    steady_state: tuple[Probe, ...]
    stop_conditions: tuple[Probe, ...]
    load: tuple[Load, ...]
    faults: tuple[FaultStep, ...]
    ledger_queue: str
    dead_letter: tuple[str, ...]
    watch_queues: tuple[str, ...]
    watch_breakers: tuple[str, ...]
    description: str = ""
    seed: int | None = None


def parse(data: Any) -> Experiment:
    """An :class:`Experiment` from the decoded file; raises InvalidAttribute."""
    f = Fields("", data)
    duration = f.number("duration", None, 0.0, MAX_DURATION, above=True)
    seed = f.raw("seed")
    if seed is not None:
        f.whole("seed", 0, 0, 2**63 - 1)
    ledger = Fields("ledger", f.mapping("ledger"))
    watch = Fields("watch", f.mapping("watch"))
    exp = Experiment(
        title=f.text("title"),
        description=str(f.raw("description", "") or ""),
        duration=duration,
        recovery=f.number("recovery", 30.0, 0.0, MAX_DURATION),
        sample_interval=f.number("sample_interval", 0.5, 0.05, 60.0),
        window=f.number("window", 5.0, 0.1, MAX_DURATION),
        workers=_workers(Fields("workers", f.mapping("workers"))),
        steady_state=_probes(f, "steady_state"),
        stop_conditions=_probes(f, "stop_conditions"),
        load=tuple(_load(Fields(f"load[{i}]", x), duration) for i, x in _each(f, "load")),
        faults=tuple(_step(Fields(f"faults[{i}]", x), duration) for i, x in _each(f, "faults")),
        ledger_queue=ledger.text("queue", "chaos-ledger", max_length=80),
        dead_letter=_names(ledger, "dead_letter"),
        watch_queues=_names(watch, "queues"),
        watch_breakers=_names(watch, "breakers"),
        seed=seed,
    )
    for part in (ledger, watch, f):
        part.done()
    return exp


def _each(f: Fields, key: str) -> list[tuple[int, Any]]:
    return list(enumerate(f.items(key, MAX_ITEMS)))


def _names(f: Fields, key: str) -> tuple[str, ...]:
    values = f.items(key, MAX_ITEMS)
    for i, v in enumerate(values):
        if not isinstance(v, str) or not v:
            raise InvalidAttribute(f"{f.name(key)}[{i}]", v, "a queue or breaker name")
    return tuple(values)


def _workers(f: Fields) -> Workers:
    w = Workers(f.whole("processes", 0, 0, 16), f.whole("concurrency", 10, 1, 1000))
    f.done()
    return w


def _probes(f: Fields, key: str) -> tuple[Probe, ...]:
    return tuple(_probe(Fields(f"{key}[{i}]", x)) for i, x in _each(f, key))


_SUBJECT = {
    "dlq_depth": "queue",
    "queue_depth": "queue",
    "oldest_message_age": "queue",
    "breaker_closed": "breaker",
    "custom": "function",
    "reconciliation": "metric",
}


def _probe(f: Fields) -> Probe:
    kind = f.choice("probe", PROBES)
    needs = _SUBJECT.get(kind)
    subject = {k: (f.text(k) if needs == k else None) for k in ("queue", "breaker", "function")}
    if kind in ("p99_latency", "error_rate"):
        subject["queue"] = None
    probe = Probe(
        kind=kind,
        max=f.number("max", 0.0, 0.0, 1e12) if needs not in ("breaker", "function") else 0.0,
        route=f.optional_text("route") if kind in ("p99_latency", "error_rate") else None,
        metric=f.choice("metric", METRICS) if kind == "reconciliation" else None,
        name=str(f.raw("name", "") or ""),
        **subject,
    )
    if kind == "error_rate" and probe.max > 1:
        raise InvalidAttribute(f.name("max"), probe.max, "a fraction from 0 to 1")
    if probe.function is not None and ":" not in probe.function and "." not in probe.function:
        raise InvalidAttribute(f.name("function"), probe.function, "a dotted path module:name")
    f.done()
    return probe


def _load(f: Fields, duration: float) -> Load:
    kind = f.choice("kind", LOADS)
    start = f.number("start", 0.0, 0.0, duration)
    load = Load(
        kind=kind,
        target=f.text("target"),
        rate=f.number("rate", None, 0.0, MAX_RATE, above=True),
        start=start,
        duration=f.number("duration", duration - start, 0.0, duration - start, above=True),
        body=f.mapping("body"),
        poison=_poison(f),
    )
    if kind == "route":
        method, _, path = load.target.partition(" ")
        if method not in ("POST", "GET", "PUT") or not path.startswith("/"):
            raise InvalidAttribute(f.name("target"), load.target, "'METHOD /path' of a route")
    f.done()
    return load


def _poison(f: Fields) -> tuple[int, ...]:
    values = f.items("poison", MAX_ITEMS)
    for i, v in enumerate(values):
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise InvalidAttribute(f"{f.name('poison')}[{i}]", v, "a message number >= 0")
    return tuple(values)


def _step(f: Fields, duration: float) -> FaultStep:
    at = f.number("at", 0.0, 0.0, duration)
    every = f.optional_number("every", 0.05, MAX_DURATION)
    until = f.optional_number("until", at, duration) if every is not None else None
    step = FaultStep(
        at=at, fault=_fault(Fields(f.name("fault"), f.raw("fault"))), every=every, until=until
    )
    f.done()
    return step


def _fault(f: Fields) -> dict[str, Any]:
    """The contract's dict form, its basic fields checked here so that ``--dry-run`` catches
    them without the chaos package; the rest is checked by ``Fault.from_dict`` on inject."""
    f.text("target")
    f.choice("action", ACTIONS)
    f.number("duration", None, 0.0, MAX_FAULT_DURATION, above=True)
    if f.has("probability"):
        f.number("probability", None, 0.0, 1.0)
    if f.has("start_after"):
        f.number("start_after", None, 0.0, MAX_FAULT_DURATION)
    return dict(f.data)
