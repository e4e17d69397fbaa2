"""What the built-in alarms watch, read from an app's declarations.

Telemetry sits below the queues, functions and breakers it reads, so the app is duck-typed
here: these functions use only the attributes every ``App`` has.
"""

from __future__ import annotations

from typing import Any

from stormproof.core.queue_rules import QueueAttributes


def dead_letter_queues(app: Any) -> list[str]:
    """Every dead-letter queue of a declared queue, and every function's and stream
    mapping's on-failure queue."""
    found = set()
    for handle in app.queues._declared.values():
        attrs = QueueAttributes(fifo=handle.fifo).merged(handle.changes)
        if attrs.dead_letter:
            found.add(attrs.dead_letter)
    owners = [*app.functions, *app.stream_mappings]  # their on_failure destinations
    for owner in owners:
        dest = getattr(owner, "on_failure", None)
        if dest is not None and getattr(dest, "kind", None) == "queue":
            found.add(dest.name)
    return sorted(found)


def global_breakers(app: Any) -> list[str]:
    """Every breaker whose state is shared through the store (``scope="global"``)."""
    return sorted(n for n, b in app.breakers.breakers.items() if b.scope == "global")


def consumers_of(app: Any) -> dict[str, str]:
    """Queue -> the function consuming it (its mapping)."""
    return {m.queue: m.function.name for m in app.functions.mappings}
