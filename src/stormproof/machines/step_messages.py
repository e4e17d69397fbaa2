"""The messages that move executions: their queues, bodies and control decisions.

This is the one description of the step wire format. A body is a JSON object whose keys
are one letter (bodies are stored and parsed on every step); use the names below:

========  =====  ==========================================================================
name      key    value
========  =====  ==========================================================================
EXECUTION ``e``  the execution's ARN (every body, on both queues)
WORK      ``w``  task outcomes by request id, for the step to consume
FIRED     ``t``  the ISO time of the timer that fired (a timer is a step message whose
                 visibility is the wake-up time)
RELINK    ``r``  control for a child execution: redrive it, or re-point it, for this
                 parent link
STOP      ``x``  control for a child execution: stop it if its parent still waits under
                 this request id
TASK      ``task``  on the tasks queue: the task request to run
========  =====  ==========================================================================

The controls claimed for one execution decide its :class:`Action`.
"""

from __future__ import annotations

import enum
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

EXECUTION = "e"
WORK = "w"
FIRED = "t"
RELINK = "r"
STOP = "x"
TASK = "task"


class Action(enum.StrEnum):
    """What a step does with the execution its claimed messages name."""

    STEP = "step"  # advance it
    SKIP = "skip"  # nothing: it is no longer running
    NOTIFY = "notify"  # it already closed: report its outcome to the (new) parent at once
    ABORT = "abort"  # its parent stopped waiting: abort it
    REDRIVE = "redrive"  # it failed and a parent asks again: redrive, then step


def message(body: dict[str, Any], delay: float = 0.0) -> OutgoingMessage:
    """An internal message (no SQS limits: a timer's delay may exceed 900 s)."""
    text = dumps(body)
    return OutgoingMessage(text, None, max(0.0, delay), None, None, len(text))


def step_op(arn: str, *, work: dict[str, Any] | None = None, delay: float = 0.0) -> Enqueue:
    """Enqueue a step of ``arn`` (with task outcomes ``work``), visible after ``delay``."""
    body: dict[str, Any] = {EXECUTION: arn}
    if work:
        body[WORK] = work
    return Enqueue(STEPS_QUEUE, [message(body, delay)])


def control_op(
    arn: str, *, relink: dict[str, Any] | None = None, stop: str | None = None
) -> Enqueue:
    """Enqueue a control message for the execution ``arn``: ``relink`` (a parent link,
    :data:`RELINK`) or ``stop`` (a request id, :data:`STOP`)."""
    body: dict[str, Any] = {EXECUTION: arn}
    if relink is not None:
        body[RELINK] = relink
    if stop is not None:
        body[STOP] = stop
    return Enqueue(STEPS_QUEUE, [message(body)])
