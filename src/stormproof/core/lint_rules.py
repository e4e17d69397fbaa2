"""Lint rules SP107-SP115: retries, timeouts, Task retries, limits, bus loops, streams and
transaction functions (the rules SP101-SP106 are in :mod:`stormproof.core.lint`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from stormproof.core.lint_specs import ERROR, WARNING, AppSpec, Finding

# Lambda's async retries wait about 60 s then 120 s, +-10 % (core.retry).
ASYNC_WAITS = (66.0, 132.0)
DELIVERY_BASE, DELIVERY_CAP = 1.0, 300.0  # EventBridge: 1 s doubling, capped at 5 minutes
TRANSIENT = frozenset(
    {
        "States.ALL",
        "States.TaskFailed",
        "Lambda.ServiceException",
        "Lambda.TooManyRequestsException",
        "Lambda.SdkClientException",
    }
)

Rule = Callable[[AppSpec], Iterator[Finding]]


def async_retry_span(timeout: float, retries: int) -> float:
    """Seconds an async invocation needs for every run and wait (longest waits)."""
    return timeout * (retries + 1) + sum(ASYNC_WAITS[:retries])


def delivery_retry_span(retries: int) -> float:
    """Seconds a bus target's retries take when each waits its ceiling (full jitter)."""
    return float(sum(min(DELIVERY_CAP, DELIVERY_BASE * 2.0**k) for k in range(retries)))


def _retries_outlast_age(app: AppSpec) -> Iterator[Finding]:
    consumers = {m.function for m in app.mappings}
    for fn in app.functions.values():
        span = async_retry_span(fn.timeout, fn.max_retry_attempts)
        if fn.name not in consumers and fn.max_retry_attempts and span > fn.max_event_age:
            yield Finding(
                "SP107",
                WARNING,
                f"function:{fn.name}",
                f"{fn.max_retry_attempts} async retries take up to {span:g} s "
                f"but max_event_age is {fn.max_event_age:g} s: the last retries "
                "never run",
                f"set max_event_age >= {span:g} or fewer max_retry_attempts",
            )
    for t in app.targets:
        span = delivery_retry_span(t.max_retry_attempts)
        if span > t.max_event_age:
            yield Finding(
                "SP107",
                WARNING,
                f"rule:{t.bus}/{t.rule}",
                f"target {t.kind}:{t.name}: {t.max_retry_attempts} retries take up "
                f"to {span:g} s but max_event_age is {t.max_event_age:g} s",
                f"set max_event_age >= {min(span, 86_400):g} or fewer max_retry_attempts",
            )


def _route_timeouts(app: AppSpec) -> Iterator[Finding]:
    for r in app.routes:
        fn = app.functions.get(r.function or "")
        if fn is not None and fn.timeout > r.timeout:
            yield Finding(
                "SP108",
                WARNING,
                f"route:{r.method} {r.path}",
                f"the route waits {r.timeout:g} s for function {fn.name!r}, which "
                f"may run {fn.timeout:g} s: callers get 504 while it still runs",
                f"set the function's timeout <= {r.timeout:g}, or make the route "
                "storage-first (POST, 202)",
            )


def _tasks(states: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every Task state, nested ones (Parallel branches, Map processors) included."""
    for name, state in states.items():
        if not isinstance(state, Mapping):
            continue
        if state.get("Type") == "Task":
            yield name, state
        inner = [state.get("Iterator"), state.get("ItemProcessor"), *state.get("Branches", ())]
        for sub in inner:
            if isinstance(sub, Mapping) and isinstance(sub.get("States"), Mapping):
                yield from _tasks(sub["States"])


def _task_retries(app: AppSpec) -> Iterator[Finding]:
    for machine, definition in sorted(app.machines.items()):
        bare = []
        for name, task in _tasks(definition.get("States", {})):
            covered = {e for r in task.get("Retry", ()) for e in r.get("ErrorEquals", ())}
            if not covered & TRANSIENT:
                bare.append(name)
        if bare:
            yield Finding(
                "SP109",
                WARNING,
                f"machine:{machine}",
                f"Task state(s) {', '.join(map(repr, bare))} have no Retry on "
                "transient errors: one blip fails the execution",
                'add "Retry": [{"ErrorEquals": ["States.TaskFailed"], '
                '"IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 2, '
                '"JitterStrategy": "FULL"}]',
            )


def _unprotected_consumers(app: AppSpec) -> Iterator[Finding]:
    protected = {m.function: m for m in app.mappings if m.breaker or m.limit}
    for m in app.mappings:
        guard = protected.get(m.function)
        if guard is not None and not (m.breaker or m.limit):
            what = f"breaker {guard.breaker!r}" if guard.breaker else f"limit {guard.limit!r}"
            yield Finding(
                "SP110",
                WARNING,
                f"mapping:{m.queue}:{m.function}",
                f"function {m.function!r} calls a limited dependency (mapping "
                f"{guard.queue!r} guards it with {what}) but this mapping has "
                "neither breaker nor limit",
                f"pass breaker= or limit= as mapping {guard.queue!r} does",
            )


def _unbounded_concurrency(app: AppSpec) -> Iterator[Finding]:
    for m in app.mappings:
        fn = app.functions.get(m.function)
        if fn is None or fn.concurrency is None:
            continue
        if m.max_concurrency is None or m.max_concurrency > fn.concurrency:
            shown = "unbounded" if m.max_concurrency is None else f"{m.max_concurrency}"
            yield Finding(
                "SP111",
                WARNING,
                f"mapping:{m.queue}:{m.function}",
                f"max_concurrency {shown} against function {fn.name!r} reserved "
                f"concurrency {fn.concurrency}: the extra batches are throttled "
                "and count as receives (dead-lettering healthy messages)",
                f"set max_concurrency <= {fn.concurrency}",
            )


def _bus_loops(app: AppSpec) -> Iterator[Finding]:
    edges: dict[str, set[str]] = {}
    for t in app.targets:
        if t.kind == "bus":
            edges.setdefault(t.bus, set()).add(t.name)
    for t in sorted(app.targets, key=lambda t: (t.bus, t.rule)):
        if t.kind == "bus" and _reaches(edges, t.name, t.bus):
            via = "itself" if t.name == t.bus else f"bus {t.name!r}, which leads back"
            yield Finding(
                "SP112",
                WARNING,
                f"rule:{t.bus}/{t.rule}",
                f"rule re-publishes to {via}: an event it matches can loop for ever",
                "narrow the pattern so re-published events do not match "
                "(e.g. by source), or target another bus",
            )


def _reaches(edges: Mapping[str, set[str]], start: str, goal: str) -> bool:
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        if node == goal:
            return True
        if node not in seen:
            seen.add(node)
            todo.extend(edges.get(node, ()))
    return False


def _stream_poison(app: AppSpec) -> Iterator[Finding]:
    for s in app.stream_mappings:
        if s.max_retry_attempts == -1 and s.max_record_age == -1:
            yield Finding(
                "SP113",
                WARNING,
                f"stream_mapping:{s.stream}->{s.function}",
                "max_retry_attempts=-1 and no max_record_age: a poison record "
                "blocks its shard for the stream's whole retention",
                "set max_retry_attempts (e.g. 3), max_record_age, and "
                "bisect_on_error with an on_failure destination",
            )


def _async_transactions(app: AppSpec) -> Iterator[Finding]:
    for t in app.transactions:
        if t.is_async:
            yield Finding(
                "SP114",
                ERROR,
                f"transaction:{t.name}",
                "transaction function is async (behind a wrapper): it would run "
                "outside the step's transaction, and its coroutine never awaited",
                "declare it with a plain def (db, event)",
            )


# Clients whose calls go over the network: inside a transaction they hold the store's
# transaction (the SQLite writer, a PostgreSQL row lock) for a round trip to elsewhere.
HTTP_CLIENTS = ("httpx", "requests", "aiohttp", "urllib.request", "urllib3", "http.client")


def http_clients(imports: tuple[str, ...]) -> list[str]:
    """The HTTP client modules among ``imports`` (a client's submodules count as it)."""
    found = {c for name in imports for c in HTTP_CLIENTS if name == c or name.startswith(c + ".")}
    return sorted(found)


def _networked_transactions(app: AppSpec) -> Iterator[Finding]:
    for t in app.transactions:
        clients = http_clients(t.imports)
        if clients:
            yield Finding(
                "SP115",
                WARNING,
                f"transaction:{t.name}",
                f"transaction function's module imports {', '.join(clients)}: a "
                "network call inside it holds the store's transaction for the "
                "call's whole round trip",
                "make the call in a plain Task before or after the transaction "
                "step (or silence SP115 if the client is not used in it)",
            )


RULES: tuple[Rule, ...] = (
    _retries_outlast_age,
    _route_timeouts,
    _task_retries,
    _unprotected_consumers,
    _unbounded_concurrency,
    _bus_loops,
    _stream_poison,
    _async_transactions,
    _networked_transactions,
)
