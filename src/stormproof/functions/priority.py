"""A mapping's ``priority``: one mapping over several queues, the first drained first.

``app.consume([high, low], fn, priority=True)`` (or ``app.consume(high, fn,
priority=[high, low])``) runs one mapping whose consumer, each time it has capacity,
claims from ``high`` first and offers only the capacity left over to ``low``: while
``high`` has visible messages, ``low`` waits in its queue (untouched, no receive count
burned). The function, its concurrency, the mapping's ``max_concurrency``, breaker and
limit are shared by both queues. Strict priority: a ``high`` that never empties starves
``low`` (give ``low`` a ``max_message_age`` if stale low work should be shed, not done late).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from stormproof.core import queue_rules as rules
from stormproof.errors import InvalidAttribute
from stormproof.queues.queue import Queue

MAX_PRIORITY_QUEUES = 10
SHAPE = f"a list of 2 to {MAX_PRIORITY_QUEUES} distinct standard queues, highest first"


def priority_option(queue: Any, priority: Any) -> tuple[Queue | str, tuple[str, ...]]:
    """The mapping's first queue and the lower-priority queue names after it."""
    if isinstance(queue, list | tuple):
        if priority not in (None, True):
            raise InvalidAttribute("priority", priority, "True or None when queue is a list")
        order: Sequence[Any] = queue
    elif priority is None or priority is False:
        return queue, ()
    elif isinstance(priority, list | tuple):
        order = priority
        if not order or _name(order[0]) != _name(queue):
            raise InvalidAttribute("priority", priority, f"{SHAPE}, starting with {_name(queue)!r}")
    else:
        raise InvalidAttribute("priority", priority, SHAPE)
    names = [_name(q) for q in order]
    if not 2 <= len(names) <= MAX_PRIORITY_QUEUES or len(set(names)) != len(names):
        raise InvalidAttribute("priority", names, SHAPE)
    for q in order:
        fifo = q.fifo if isinstance(q, Queue) else rules.validate_queue_name(_name(q), None)
        if fifo:  # a FIFO queue's order is per group; mixing it with another has no meaning
            raise InvalidAttribute("priority", _name(q), SHAPE)
    return order[0], tuple(names[1:])


def _name(queue: Any) -> str:
    if isinstance(queue, Queue):
        return queue.name
    if isinstance(queue, str) and queue:
        return queue
    raise InvalidAttribute("priority", queue, SHAPE)
