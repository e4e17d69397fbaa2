"""The cost of the trace context on the hot path: building an enqueue and running a unit.

With tracing off (no tracer installed) an :class:`~stormproof.storage.base.Enqueue` costs
one context-variable read more than a plain record, and a consumer unit one more check
(plus a context-variable set when its message carries a context). The figures time those
sites per call; ``stormproof bench tracing`` compares them with a consumed message's time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from stormproof.core.queue_rules import OutgoingMessage
from stormproof.engine import tracing
from stormproof.storage.base import ClaimedRow, Enqueue

_MSG = OutgoingMessage("{}", None, 0.0, None, None, 2)
_TRACED = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@dataclass(frozen=True)
class _PlainEnqueue:  # the same record without the trace hook: the baseline
    queue: str
    messages: list[OutgoingMessage]
    dedup_window: float = 300
    fifo: bool = False
    trace: str | None = None


def _row(attributes: str | None) -> ClaimedRow:
    return ClaimedRow(1, "m-1", "{}", attributes, None, None, 0.0, 0.0, 1, "t")


def _timed(n: int, work: Callable[[], object]) -> float:
    started = time.perf_counter()
    for _ in range(n):
        work()
    return (time.perf_counter() - started) / n * 1e9


def _unit(rows: list[ClaimedRow]) -> Callable[[], object]:
    def run() -> None:
        with tracing.processing_rows("orders", rows):
            pass

    return run


def run(calls: int = 200_000) -> list[dict[str, float | str]]:
    """Nanoseconds per site: the enqueue hook over its baseline, and a unit's context."""
    messages = [_MSG]
    plain = _timed(calls, lambda: _PlainEnqueue("orders", messages))
    hooked = _timed(calls, lambda: Enqueue("orders", messages))
    return [
        {"site": "enqueue (hook over a plain record)", "ns_per_site": max(0.0, hooked - plain)},
        {"site": "unit, untraced message", "ns_per_site": _timed(calls, _unit([_row(None)]))},
        {
            "site": "unit, carried context",
            "ns_per_site": _timed(
                calls, _unit([_row('{"$traceparent":["String","' + _TRACED + '"]}')])
            ),
        },
    ]
