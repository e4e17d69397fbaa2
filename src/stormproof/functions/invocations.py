"""Asynchronous invocation: a durable queue per function, retries and destinations.

``fn.invoke_async(event)`` stores a :class:`Job` on the function's internal queue
(``_fn-<name>``) and returns its request id. A worker's :class:`InvocationConsumer` claims
jobs (after taking the function's concurrency, so throttled jobs simply wait) and runs each:

* success: the job is deleted, and the invocation record (condition ``Success``) goes to
  ``on_success``, in one transaction;
* a function error (or timeout): ``core.retry.decide_async`` answers a retry (the job is
  re-enqueued with the attempt counted and a delay of about 1 then 2 minutes, atomically
  with the delete) or a give-up (``RetriesExhausted``, ``EventAgeExceeded``): the record
  goes to ``on_failure``;
* an event older than ``max_event_age`` is not run again (``EventAgeExceeded``);
* a function with ``concurrency=0`` is throttled: its events go straight to ``on_failure``.

With no destination the record is only logged (AWS discards it too).
"""

from __future__ import annotations

import contextlib
import logging
import random
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from stormproof.core import queue_rules as rules
from stormproof.core.retry import (
    AsyncCondition,
    AsyncGiveUp,
    FunctionFailed,
    decide_async,
    invocation_record,
)
from stormproof.engine import events, log_lines, tracing
from stormproof.engine.consumer import QueueConsumer, leases_of
from stormproof.engine.destinations import Destination
from stormproof.engine.leases import Holding, LeaseKeeper
from stormproof.engine.runtime import Runtime
from stormproof.engine.slots import Permits, Ticket
from stormproof.errors import StaleLease, StormproofError
from stormproof.functions.function import Function
from stormproof.functions.jobs import Job, enqueue_job_op
from stormproof.functions.runners import Failed
from stormproof.storage.base import ClaimedRow, Delete, Operation
from stormproof.storage.request_ops import outcome_ops

log = logging.getLogger("stormproof.functions.invocations")


async def destination_ops(
    app: Runtime, dest: Destination | None, record: dict[str, Any], success: bool
) -> list[Operation]:
    """The operations delivering an invocation record (in the same unit of work); an event
    bus gets it as ``detail`` of a ``lambda`` event, as AWS sends it."""
    if dest is None:
        return []
    kind = "Success" if success else "Failure"
    return await dest.delivery_ops(
        record,
        app.clock.now(),
        source="lambda",
        detail_type=f"Lambda Function Invocation Result - {kind}",
    )


def error_payload(outcome: Failed) -> dict[str, Any]:
    """Lambda's error response payload."""
    return {"errorMessage": outcome.error_message, "errorType": outcome.error_type}


class InvocationConsumer(QueueConsumer):
    """Runs a function's async invocations from its internal queue."""

    def __init__(
        self,
        app: Runtime,
        keeper: LeaseKeeper,
        permits: Permits,
        function: Function,
        rng: random.Random | None = None,
    ) -> None:
        pool = function.slot_pool() if function.concurrency else None
        super().__init__(
            app,
            keeper,
            permits,
            function.queue_name,
            [pool] if pool is not None else [],
            unit_size=1,
            max_units=permits.total,
            rng=rng,
        )
        self.function = function

    def traced(self, rows: list[ClaimedRow]) -> AbstractContextManager[None]:
        """A retry is a new message (carrying the attempts made): its span says which run."""
        attempt = rows[0].receive_count
        if tracing.enabled():
            with contextlib.suppress(ValueError, KeyError, TypeError):
                attempt = Job.from_body(rows[0].body).attempts + 1
        return tracing.processing_rows(self.queue, rows, attempt)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.app.clock.now(), UTC)

    async def _process(self, rows: list[ClaimedRow], holding: Holding, ticket: Ticket) -> None:
        row = rows[0]
        fn = self.function
        try:
            job = Job.from_body(row.body)
        except (ValueError, KeyError, TypeError):
            log.error("event=invoke.malformed function=%s message_id=%s", fn.name, row.message_id)
            await self.keeper.delete(self.queue, leases_of(rows))
            return
        if fn.concurrency == 0:
            await self._give_up(row, job, AsyncCondition.RETRIES_EXHAUSTED, throttled=True)
            return
        if self.app.clock.now() - job.enqueued_at > fn.policy.max_event_age:
            await self._give_up(row, job, AsyncCondition.EVENT_AGE_EXCEEDED)
            return
        attempt = job.attempts + 1
        self._log("invoke.start", job, row, attempt)
        outcome = await fn.execute(
            job.event, request_id=job.request_id, attempt=attempt, ticket=ticket
        )
        if isinstance(outcome, Failed):
            await self._failed(row, job, outcome)
            return
        record = self._record(job, AsyncCondition.SUCCESS, attempt, outcome.result, None)
        dest = await destination_ops(self.app, fn.on_success, record, success=True)
        dest += outcome_ops(job.request_id, "succeeded", self.app.clock.now(), outcome.result)
        if not dest:
            await self.keeper.delete(self.queue, leases_of(rows))
        else:
            await self._commit(row, dest)
        self._log("invoke.success", job, row, attempt)

    async def _failed(self, row: ClaimedRow, job: Job, outcome: Failed) -> None:
        fn = self.function
        attempt = job.attempts + 1
        self._log("invoke.failure", job, row, attempt, error_type=outcome.error_type)
        failed_job = replace(job, attempts=attempt, error=error_payload(outcome))
        decision = decide_async(
            fn.policy,
            attempts=attempt,
            enqueued_at=datetime.fromtimestamp(job.enqueued_at, UTC),
            now=self._now(),
            outcome=FunctionFailed(outcome.error_type),
            throttle_count=0,
            rng=self.rng,
        )
        if isinstance(decision, AsyncGiveUp):
            await self._give_up(row, failed_job, decision.condition)
            return
        wait = min(decision.delay, float(rules.MAX_DELAY))
        await self._commit(row, [enqueue_job_op(self.app, self.queue, failed_job, wait)])
        self._log("invoke.retry_scheduled", job, row, attempt, delay=round(wait, 3))

    async def _give_up(
        self, row: ClaimedRow, job: Job, condition: AsyncCondition, throttled: bool = False
    ) -> None:
        record = self._failure_record(job, condition, throttled)
        try:
            dest = await destination_ops(self.app, self.function.on_failure, record, success=False)
        except StormproofError as exc:  # e.g. a record too large for the destination queue
            log.error(
                "event=invoke.destination_failed function=%s error=%s", self.function.name, exc
            )
            dest = []
        error = {"condition": condition.value, "error": record.get("responsePayload")}
        dest += outcome_ops(job.request_id, "failed", self.app.clock.now(), error=error)
        await self._commit(row, dest)
        target = getattr(self.function.on_failure, "name", None)
        events.emit(
            "invocation.dead_lettered",
            self.app.name,
            function=self.function.name,
            request_id=job.request_id,
            message_id=row.message_id,
            attempt=job.attempts,
            condition=condition.value,
            destination=target,
            event=job.event,
            error=record.get("responsePayload"),
            enqueued_at=job.enqueued_at,
        )
        self._log(
            "invoke.dead_lettered",
            job,
            row,
            job.attempts,
            condition=condition.value,
            destination=target,
        )

    def _failure_record(
        self, job: Job, condition: AsyncCondition, throttled: bool
    ) -> dict[str, Any]:
        """The on-failure record: the function's error, or (throttled) AWS's 429 payload."""
        if throttled:
            payload: Any = {
                "errorType": "TooManyRequestsException",
                "errorMessage": "Rate Exceeded.",
            }
            return self._record(job, condition, 0, payload, None, status=429)
        return self._record(job, condition, job.attempts, job.error, "Unhandled")

    def _record(
        self,
        job: Job,
        condition: AsyncCondition,
        count: int,
        payload: Any,
        function_error: str | None,
        status: int = 200,
    ) -> dict[str, Any]:
        return invocation_record(
            timestamp=self._now(),
            request_id=job.request_id,
            function_arn=self.function.arn,
            condition=condition.value,
            approximate_invoke_count=count,
            request_payload=job.event,
            response_payload=payload,
            status_code=status,
            function_error=function_error,
        )

    async def _commit(self, row: ClaimedRow, ops: list[Operation]) -> None:
        """Delete the job and apply ``ops`` in one transaction (nothing if the lease is lost)."""
        unit: list[Operation] = [Delete(self.queue, leases_of([row])), *ops]
        try:
            await self.app.store.apply(unit, atomic=True)
        except StaleLease:
            log.warning(
                "event=invoke.lease_lost function=%s message_id=%s",
                self.function.name,
                row.message_id,
            )

    def _log(self, event: str, job: Job, row: ClaimedRow, attempt: int, **extra: Any) -> None:
        fields = {
            "function": self.function.name,
            "request_id": job.request_id,
            "message_id": row.message_id,
            "attempt": attempt,
            **extra,
        }
        log_lines.log_event(log, event, fields)
