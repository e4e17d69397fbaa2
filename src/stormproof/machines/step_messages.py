"""The messages that move executions: their queues and bodies.

A body names its execution (``e``) and may carry task outcomes (``w``), the time of the
timer that fired (``t``), or a control for a child execution: ``r`` (redrive it, or
re-point it, for the parent link given) and ``x`` (stop it if its parent still waits
under that request id). Timers are messages whose visibility is the wake-up time.
"""

from __future__ import annotations

from typing import Any

from stormproof.core import names
from stormproof.core.queue_rules import OutgoingMessage, QueueAttributes
from stormproof.machines.records import dumps
from stormproof.storage.base import Enqueue

STEPS_QUEUE = names.MACHINE_QUEUE_PREFIX + "steps"
TASKS_QUEUE = names.MACHINE_QUEUE_PREFIX + "tasks"
STEP_VISIBILITY = 30.0
#: Internal queues keep messages until consumed: a timer may lie years ahead.
INTERNAL = QueueAttributes(visibility_timeout=STEP_VISIBILITY, retention=1e12)


def message(body: dict[str, Any], delay: float = 0.0) -> OutgoingMessage:
    """An internal message (no SQS limits: a timer's delay may exceed 900 s)."""
    text = dumps(body)
    return OutgoingMessage(text, None, max(0.0, delay), None, None, len(text))


def step_op(arn: str, *, work: dict[str, Any] | None = None, delay: float = 0.0) -> Enqueue:
    """Enqueue a step of ``arn`` (with task outcomes ``work``), visible after ``delay``."""
    body: dict[str, Any] = {"e": arn}
    if work:
        body["w"] = work
    return Enqueue(STEPS_QUEUE, [message(body, delay)])


def control_op(arn: str, **control: Any) -> Enqueue:
    """Enqueue a control message (``r`` or ``x``) for the execution ``arn``."""
    return Enqueue(STEPS_QUEUE, [message({"e": arn, **control})])
