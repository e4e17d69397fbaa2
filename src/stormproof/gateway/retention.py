"""The sweep of request records and idempotency keys past their retention.

Run on the app's maintenance loop (every few seconds, in every process with a front door;
concurrent sweeps only delete the same rows). A record's age is the time since it was last
written, by the store's clock: a finished request is kept ``request_retention`` after it
finished, and one still ``accepted`` that long after it was accepted. An idempotency key
goes ``idempotency_retention`` after it was stored; the front door already ignores an
expired key that the sweep has not reached yet.
"""

from __future__ import annotations

from functools import partial

from stormproof.gateway.idempotency import PREFIX as IDEMPOTENCY_PREFIX
from stormproof.gateway.routes import ApiSettings
from stormproof.storage.base import Store
from stormproof.storage.request_ops import PREFIX as REQUEST_PREFIX
from stormproof.storage.request_ops import sweep

BATCH = 1000  # rows per transaction, so a large backlog never holds the writer long


async def sweep_expired(store: Store, settings: ApiSettings) -> int:
    """Delete expired request records and idempotency keys; how many went."""
    total = 0
    for prefix, retention in (
        (REQUEST_PREFIX, settings.request_retention),
        (IDEMPOTENCY_PREFIX, settings.idempotency_retention),
    ):
        while True:
            gone = await store.run(partial(sweep, prefix, retention, BATCH))
            total += gone
            if gone < BATCH:
                break
    return total
