"""Bring a request record up to date with its work before answering a status query.

Queues and functions push their outcome into the record (see ``UpdateRequest``). State
machine executions are not edited to report back; their record is refreshed here, from
the execution's status, when someone asks (and then stored, so webhooks fire and the
record outlives the execution).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stormproof.errors import ExecutionDoesNotExist
from stormproof.storage.request_ops import FINAL, RequestRecord, UpdateRequest

if TYPE_CHECKING:
    from stormproof.gateway.host import GatewayHost

_STATES = {"RUNNING": "running", "PENDING_REDRIVE": "running", "SUCCEEDED": "succeeded"}


async def refresh(app: GatewayHost, record: RequestRecord) -> RequestRecord:
    """The record, with a state machine target's current execution status applied."""
    arn = record.target.get("execution_arn")
    if record.state in FINAL or not arn:
        return record
    try:
        info = await app.describe_execution(str(arn))
    except ExecutionDoesNotExist:
        return record
    state = _STATES.get(info.status, "failed")
    if state == record.state:
        return record
    now = app.clock.now()
    if state == "succeeded":
        op = UpdateRequest(record.id, state, now, result=info.output)
    elif state == "failed":
        op = UpdateRequest(record.id, state, now, error={"error": info.error, "cause": info.cause})
    else:
        op = UpdateRequest(record.id, state, now)
    await app.store.apply([op])
    record.state, record.updated = state, now
    record.result = op.result
    record.error = op.error
    return record
