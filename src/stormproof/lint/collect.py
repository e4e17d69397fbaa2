"""Read an app's declared definitions into the pure specs the lint rules take."""

from __future__ import annotations

import ast
import inspect
import sys

from stormproof.app import App
from stormproof.core import lint
from stormproof.core.queue_rules import QueueAttributes
from stormproof.functions.function import Function


def _name(value: object) -> str | None:
    return getattr(value, "name", None)


def _functions(app: App) -> dict[str, lint.FunctionSpec]:
    return {
        fn.name: lint.FunctionSpec(
            fn.name,
            fn.timeout,
            _name(fn.on_failure),
            fn.concurrency,
            fn.policy.max_retry_attempts,
            fn.policy.max_event_age,
        )
        for fn in app.functions
    }


def _targets(app: App) -> tuple[lint.TargetSpec, ...]:
    return tuple(
        lint.TargetSpec(
            bus.name, rule.name, t.kind, t.name, t.policy.max_retry_attempts, t.policy.max_event_age
        )
        for bus in app.buses.buses.values()
        for rule in bus.rules.values()
        for t in rule.targets
    )


def _routes(app: App) -> tuple[lint.RouteSpec, ...]:
    if app._api is None:
        return ()
    return tuple(
        lint.RouteSpec(
            "GET", r.path, r.timeout, r.handler.name if isinstance(r.handler, Function) else None
        )
        for r in app._api.gets.values()
    )


def _is_async(handler: object) -> bool:
    """A coroutine function, also behind ``functools.wraps`` wrappers."""
    return inspect.iscoroutinefunction(inspect.unwrap(handler))  # type: ignore[arg-type]


def _imports(handler: object) -> tuple[str, ...]:
    """The modules the handler's module imports, read from its source (``import a.b``,
    ``from a import b`` as ``a`` and ``a.b``); nothing when the source cannot be read."""
    module = sys.modules.get(getattr(inspect.unwrap(handler), "__module__", "") or "")  # type: ignore[arg-type]
    try:
        tree = ast.parse(inspect.getsource(module)) if module is not None else None
    except (OSError, TypeError, SyntaxError):
        tree = None
    names: set[str] = set()
    for node in ast.walk(tree) if tree is not None else ():
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return tuple(sorted(names))


def _queues(app: App) -> dict[str, lint.QueueSpec]:
    """Each declared queue's attributes, SQS defaults merged in."""
    queues = {}
    for name, handle in app.queues._declared.items():
        attrs = QueueAttributes(fifo=handle.fifo).merged(handle.changes)
        queues[name] = lint.QueueSpec(
            name,
            attrs.visibility_timeout,
            attrs.retention,
            attrs.dead_letter,
            attrs.max_receive_count,
        )
    return queues


def _mappings(app: App) -> tuple[lint.MappingSpec, ...]:
    """Each queue mapping: its window, concurrency and the breaker and limit it names."""
    return tuple(
        lint.MappingSpec(
            m.queue,
            m.function.name,
            m.batch_window,
            m.max_concurrency,
            _name(m.breaker),
            _name(m.limit),
        )
        for m in app.functions.mappings
    )


def spec_of(app: App) -> lint.AppSpec:
    """The app's declarations as lint specs (nothing read from the store)."""
    streams = tuple(
        lint.StreamMappingSpec(
            s.stream.name, s.function.name, s.max_retry_attempts, s.max_record_age
        )
        for s in app.stream_mappings
    )
    transactions = tuple(
        lint.TransactionSpec(t.name, _is_async(t.handler), _imports(t.handler))
        for t in app.functions.transactions.by_name.values()
    )
    machines = {m.name: m.definition for m in app.executions.machines}
    return lint.AppSpec(
        _queues(app),
        _functions(app),
        _mappings(app),
        app.lint_silenced,
        _targets(app),
        _routes(app),
        machines,
        streams,
        transactions,
    )


def lint_app(app: App) -> list[lint.Finding]:
    """Every unsilenced finding for ``app``, errors first."""
    return lint.lint(spec_of(app))
