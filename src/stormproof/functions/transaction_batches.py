"""A mapping whose handler is a transaction function: the deletion commits with the writes.

The batch's handler runs inside the unit of work that deletes the batch's messages, so a
handler's writes and the messages' deletion commit together: a crash before the commit
leaves no write and the messages reappear; after it, the writes hold and the messages are
gone. An at-least-once queue gives an exactly-once effect. A handler that raises rolls
back and its messages reappear after their visibility timeout (then the DLQ, as usual).
With ``report_batch_item_failures`` the handler's ``batchItemFailures`` keep those
messages (the others are deleted, in the same transaction). A deleted message that came
through the front door marks its request ``succeeded`` in that transaction too.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from typing import Any

from stormproof.core.batch_response import BatchItem, decide_batch
from stormproof.errors import StaleLease, StoreError
from stormproof.functions.mappings import EventSourceMapping, Record
from stormproof.functions.transactions import TransactionFunction
from stormproof.storage.base import ClaimedRow, Delete, Lease, Operation, Store
from stormproof.storage.request_ops import outcome_ops, request_of
from stormproof.storage.transaction_ops import AlreadyCommitted

log = logging.getLogger("stormproof.functions.mapping_consumer")


async def run_batch(
    store: Store,
    mapping: EventSourceMapping,
    fn: TransactionFunction,
    rows: Sequence[ClaimedRow],
    records: list[Record],
    now: float,
) -> bool:
    """Run the batch in one transaction with its deletions (and, for messages from the
    front door, their requests' ``succeeded`` at ``now``); whether it committed."""
    unit = fn.bind({"Records": records}).op(functools.partial(_deletions, mapping, rows, now))
    try:
        async with fn.capacity(own=False):  # the mapping's consumer holds the function's slots
            await store.apply([unit], atomic=True)
    except AlreadyCommitted:
        return True  # a lost COMMIT: the first run's writes and deletions hold
    except StaleLease:
        log.warning("event=batch.lease_lost function=%s queue=%s", fn.name, mapping.queue)
        return False
    except StoreError:
        raise
    except Exception as exc:  # the handler's failure: rolled back, the messages reappear
        log.warning(
            "event=batch.failed function=%s queue=%s error_type=%s",
            fn.name,
            mapping.queue,
            type(exc).__name__,
        )
        return False
    return True


def _deletions(
    mapping: EventSourceMapping, rows: Sequence[ClaimedRow], now: float, response: Any
) -> list[Operation]:
    """What commits with the handler's writes, given its response: the deletion of the
    messages it did not return as failures, and their requests' ``succeeded``."""
    decision = decide_batch(
        [BatchItem(r.message_id, r.group_id) for r in rows],
        raised=False,
        response=response,
        report_batch_item_failures=mapping.report_batch_item_failures,
        fifo=mapping.fifo,
    )
    done = set(decision.delete)
    gone = [r for r in rows if r.message_id in done]
    if not gone:
        return []
    finished = [
        op for r in gone if (rid := request_of(r)) for op in outcome_ops(rid, "succeeded", now)
    ]
    return [Delete(mapping.queue, [Lease(r.rowid, r.token) for r in gone]), *finished]
