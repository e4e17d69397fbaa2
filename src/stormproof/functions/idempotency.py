"""Idempotent functions at run time: one state record per key, changed by compare-and-set.

The decisions are :mod:`stormproof.core.idempotency`'s. A call with a key takes the key's
record ``idem/<function>/<key hash>`` as an in-progress lease (created only if absent or
expired, so two processes never both run), runs, then stores the result as completed
(kept ``expires_after`` seconds) — or deletes the record if the handler failed, so a retry
runs again. A duplicate that finds a completed record gets the stored result without the
handler running; one that finds a live in-progress record fails with
``IdempotencyInProgress`` (the event's own retry comes back later); a different validated
payload fails with ``IdempotencyPayloadMismatch``. A holder that died (SIGKILL) leaves a
lease that runs out at the function's timeout (+ :data:`~stormproof.core.idempotency.GRACE`).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from stormproof.core import idempotency as core
from stormproof.core.idempotency import Idempotency, Verdict
from stormproof.engine.runtime import Runtime
from stormproof.functions.runners import Failed, Outcome, Succeeded
from stormproof.storage.base import CompareAndSet, DeleteState

log = logging.getLogger("stormproof.functions.idempotency")
ATTEMPTS = 10  # compare-and-set retries when another caller changes the record meanwhile
IN_PROGRESS = "IdempotencyInProgress"
MISMATCH = "IdempotencyPayloadMismatch"


async def run_once(
    app: Runtime,
    function: str,
    timeout: float,
    cfg: Idempotency,
    event: Any,
    execute: Callable[[], Awaitable[Outcome]],
) -> Outcome:
    """Run ``execute`` at most once per key of ``event``; replay a completed key's result."""
    key = core.key_of(cfg, event)
    if key is None:
        return await execute()  # no key in this event: an ordinary call
    sk, payload, holder = record_key(function, key), core.payload_of(cfg, event), uuid.uuid4().hex
    store = app.store
    for _ in range(ATTEMPTS):
        rec = await store.get_state(sk)
        record = json.loads(rec.value) if rec else None
        now = app.clock.now()
        verdict = core.decide(record, now, payload)
        if verdict is Verdict.REPLAY:
            log.info("event=idempotency.replay function=%s key=%s", function, key)
            return Succeeded(record["result"])  # type: ignore[index]
        if verdict is Verdict.MISMATCH:
            return Failed(MISMATCH, f"key {key} reused with another payload")
        if verdict is Verdict.IN_PROGRESS:
            return Failed(IN_PROGRESS, f"key {key} in progress until {record['until']}")  # type: ignore[index]
        lease = json.dumps(core.in_progress(now, timeout, payload, holder))
        if (await store.apply([CompareAndSet(sk, rec.version if rec else None, lease)]))[0].ok:
            break
    else:
        return Failed(IN_PROGRESS, f"key {key} contended")
    outcome = await execute()
    await _settle(app, sk, holder, cfg, payload, outcome)
    return outcome


async def _settle(
    app: Runtime, sk: str, holder: str, cfg: Idempotency, payload: str | None, outcome: Outcome
) -> None:
    """Store the result (success) or free the key (failure), if the lease is still ours."""
    rec = await app.store.get_state(sk)
    if rec is None or json.loads(rec.value).get("holder") != holder:
        return  # our lease ran out and another call took the key: its record stands
    if isinstance(outcome, Failed):
        await app.store.apply([DeleteState(sk, rec.version)])
        return
    value = _stored(app, cfg, payload, outcome.result)
    if value is None:
        await app.store.apply([DeleteState(sk, rec.version)])
        return
    await app.store.apply([CompareAndSet(sk, rec.version, value)])


def _stored(app: Runtime, cfg: Idempotency, payload: str | None, result: Any) -> str | None:
    try:
        return json.dumps(core.completed(app.clock.now(), cfg, payload, result))
    except (TypeError, ValueError):  # not JSON: cannot be replayed, so do not pretend
        log.warning("event=idempotency.unstorable_result result_type=%s", type(result).__name__)
        return None


def record_key(function: str, key: str) -> str:
    """The state record key of an idempotency key's (already hashed) record."""
    return f"idem/{function}/{key}"


def exception_for(function: str, outcome: Failed) -> Exception | None:
    """The error a synchronous caller gets for an idempotency refusal (None: not one)."""
    from stormproof.errors import IdempotencyInProgress, IdempotencyPayloadMismatch

    if outcome.error_type == IN_PROGRESS:
        return IdempotencyInProgress(function, outcome.error_message)
    if outcome.error_type == MISMATCH:
        return IdempotencyPayloadMismatch(function, outcome.error_message)
    return None
