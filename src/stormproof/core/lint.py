"""Preflight lint rules: pure functions over an app's definitions (``stormproof lint APP``).

Each rule has a stable code (``SP1xx``), a severity and names the object, the numbers and
the fix. A finding is silenced per object with a reason (``app.silence(obj, code, why)``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from stormproof.core import lint_rules
from stormproof.core.lint_specs import (
    ERROR,
    WARNING,
    AppSpec,
    Finding,
    FunctionSpec,
    MappingSpec,
    QueueSpec,
    RouteSpec,
    StreamMappingSpec,
    TargetSpec,
    TransactionSpec,
)

__all__ = [
    "ERROR",
    "WARNING",
    "AppSpec",
    "Finding",
    "FunctionSpec",
    "MappingSpec",
    "QueueSpec",
    "RouteSpec",
    "StreamMappingSpec",
    "TargetSpec",
    "TransactionSpec",
    "lint",
]
VISIBILITY_FACTOR = 6  # AWS: visibility timeout at least 6x the function timeout
MIN_RECEIVE_COUNT = 5  # AWS: max receive count of at least 5 before dead-lettering


Rule = Callable[[AppSpec], Iterator[Finding]]


def _timeouts(app: AppSpec) -> Iterator[Finding]:
    for m in app.mappings:
        q, fn = app.queues.get(m.queue), app.functions.get(m.function)
        if q is None or fn is None:
            continue
        need = fn.timeout + m.batch_window
        advised = VISIBILITY_FACTOR * fn.timeout + m.batch_window
        if q.visibility_timeout < need:
            yield Finding(
                "SP101",
                ERROR,
                f"queue:{q.name}",
                f"visibility timeout {q.visibility_timeout:g} s < function "
                f"{fn.name!r} timeout {fn.timeout:g} s + batch window "
                f"{m.batch_window:g} s: messages reappear while still processed",
                f"set visibility_timeout >= {advised:g}",
            )
        elif q.visibility_timeout < VISIBILITY_FACTOR * fn.timeout:
            yield Finding(
                "SP102",
                WARNING,
                f"queue:{q.name}",
                f"visibility timeout {q.visibility_timeout:g} s < {VISIBILITY_FACTOR}x "
                f"function {fn.name!r} timeout {fn.timeout:g} s",
                f"set visibility_timeout >= {advised - m.batch_window:g}",
            )


def _dead_letters(app: AppSpec) -> Iterator[Finding]:
    for name in sorted({m.queue for m in app.mappings}):
        q = app.queues.get(name)
        if q is None:
            continue
        if q.dead_letter is None:
            yield Finding(
                "SP103",
                WARNING,
                f"queue:{name}",
                "consumed queue without a dead-letter queue: a poison message is "
                "retried until retention ends",
                "set dead_letter=... and max_receive_count=5 or more",
            )
            continue
        if q.max_receive_count < MIN_RECEIVE_COUNT:
            yield Finding(
                "SP104",
                WARNING,
                f"queue:{name}",
                f"max_receive_count {q.max_receive_count} < {MIN_RECEIVE_COUNT}: "
                "throttles and transient errors dead-letter healthy messages",
                f"set max_receive_count >= {MIN_RECEIVE_COUNT}",
            )
        dlq = app.queues.get(q.dead_letter)
        if dlq is not None and dlq.retention <= q.retention:
            yield Finding(
                "SP105",
                WARNING,
                f"queue:{dlq.name}",
                f"DLQ retention {dlq.retention:g} s <= source {name!r} retention "
                f"{q.retention:g} s: dead letters expire before anyone looks",
                f"set retention > {q.retention:g} (e.g. 1209600, 14 days)",
            )


def _async_failures(app: AppSpec) -> Iterator[Finding]:
    consumers = {m.function for m in app.mappings}
    for fn in app.functions.values():
        if fn.name not in consumers and fn.on_failure is None:
            yield Finding(
                "SP106",
                WARNING,
                f"function:{fn.name}",
                "function without an on-failure destination: a failed async "
                "invocation is dropped after its retries",
                "set on_failure=<queue or function>",
            )


RULES: tuple[Rule, ...] = (_timeouts, _dead_letters, _async_failures, *lint_rules.RULES)


def lint(app: AppSpec) -> list[Finding]:
    """Every finding of every rule, silenced ones left out, errors first."""
    found = [f for rule in RULES for f in rule(app) if f.code not in app.silenced.get(f.object, {})]
    return sorted(found, key=lambda f: (f.severity != ERROR, f.object, f.code))
