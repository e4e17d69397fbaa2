"""A mapping's ``max_message_age``: stale messages are shed, not processed late.

``app.consume(q, fn, max_message_age=60, stale_to=late_queue)`` moves a claimed message
older than 60 s (from its send) to ``late_queue`` in the same unit of work that deletes it
from ``q`` (nothing is lost, nothing is doubled); ``stale_to=None`` with
``drop_stale=True`` drops it. Either way a log line ``event=batch.shed`` names the
messages, and the consumer's ``shed`` counter (the metric) grows. Shedding burns no
invocation and no receive beyond the claim that found the message stale.
"""

from __future__ import annotations

import logging
from typing import Any

from stormproof.core import shedding
from stormproof.core.queue_rules import OutgoingMessage
from stormproof.engine.runtime import Runtime
from stormproof.errors import InvalidAttribute
from stormproof.queues.queue import Queue
from stormproof.storage.base import ClaimedRow, Delete, Enqueue, Lease, Operation

log = logging.getLogger("stormproof.functions.shedding")


def shedding_options(options: dict[str, Any]) -> dict[str, Any]:
    """Pop and validate ``max_message_age``, ``stale_to`` and ``drop_stale``."""
    age = shedding.check_max_age(options.pop("max_message_age", None))
    to = options.pop("stale_to", None)
    drop = options.pop("drop_stale", False)
    if not isinstance(drop, bool):
        raise InvalidAttribute("drop_stale", drop, "True or False")
    name = to.name if isinstance(to, Queue) else to
    if name is not None and (not isinstance(name, str) or not name):
        raise InvalidAttribute("stale_to", to, "a Queue, a queue name or None")
    if age is not None and name is None and not drop:
        # accepted data is never lost by default: dropping must be asked for
        raise InvalidAttribute("stale_to", None, "a queue for stale messages, or drop_stale=True")
    if age is None and (name is not None or drop):
        raise InvalidAttribute("max_message_age", None, "seconds, with stale_to or drop_stale")
    return {"max_message_age": age, "stale_to": name}


def _moved(row: ClaimedRow, fifo: bool) -> OutgoingMessage:
    size = len(row.body.encode()) + len(row.attributes or "")
    group = row.group_id if fifo else None
    dedup = (row.dedup_id or row.message_id) if fifo else None
    return OutgoingMessage(row.body, row.attributes, 0.0, group, dedup, size)


async def shed(
    app: Runtime, queue: str, max_age: float | None, to: str | None, rows: list[ClaimedRow]
) -> tuple[list[ClaimedRow], list[ClaimedRow]]:
    """Split claimed rows into (fresh, shed); the shed ones are moved or dropped now."""
    now = app.clock.now()
    old = [r for r in rows if shedding.stale(r.sent_at, now, max_age)]
    if not old:
        return rows, []
    ops: list[Operation] = []
    if to is not None:
        attrs = app.attributes_of(to)
        msgs = [_moved(r, attrs.fifo) for r in old]
        ops.append(Enqueue(to, msgs, attrs.dedup_window, attrs.fifo))
    ops.append(Delete(queue, [Lease(r.rowid, r.token) for r in old]))
    await app.store.apply(ops, atomic=True)  # moved and deleted together, or neither
    ages = ",".join(f"{now - r.sent_at:.1f}" for r in old)
    log.warning(
        "event=batch.shed queue=%s to=%s reason=max_message_age max_message_age=%g "
        "message_ids=%s ages=%s",
        queue,
        to or "(dropped)",
        max_age,
        ",".join(r.message_id for r in old),
        ages,
        extra={"stormproof": {"event": "batch.shed", "queue": queue, "to": to, "count": len(old)}},
    )
    keep = {r.rowid for r in old}
    return [r for r in rows if r.rowid not in keep], old
