"""Read an app's declared definitions into the pure specs the lint rules take."""

from __future__ import annotations

from stormproof.app import App
from stormproof.core import lint
from stormproof.core.queue_rules import QueueAttributes


def spec_of(app: App) -> lint.AppSpec:
    """The app's queues, functions and mappings as declared (nothing read from the store)."""
    queues = {}
    for name, handle in app.queues._declared.items():
        attrs = QueueAttributes(fifo=handle.fifo).merged(handle.changes)
        queues[name] = lint.QueueSpec(name, attrs.visibility_timeout, attrs.retention,
                                      attrs.dead_letter, attrs.max_receive_count)  # fmt: skip
    functions = {
        fn.name: lint.FunctionSpec(fn.name, fn.timeout, getattr(fn.on_failure, "name", None))
        for fn in app.functions
    }
    mappings = tuple(
        lint.MappingSpec(m.queue, m.function.name, m.batch_window) for m in app.functions.mappings
    )
    return lint.AppSpec(queues, functions, mappings, app.lint_silenced)


def lint_app(app: App) -> list[lint.Finding]:
    """Every unsilenced finding for ``app``, errors first."""
    return lint.lint(spec_of(app))
