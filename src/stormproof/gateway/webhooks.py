"""Webhook delivery: a consumer of the internal ``stormproof-webhooks`` queue.

Each message is one delivery, enqueued by :class:`~stormproof.storage.request_ops.UpdateRequest`
in the transaction that finished its request. A delivery is POSTed with Standard
Webhooks headers (``webhook-id`` is the message id, stable across retries so receivers
de-duplicate); the verdict (:mod:`stormproof.core.webhook_retry`) deletes it, hides it
until its next attempt, or moves it with its last status and error to
``stormproof-webhooks-dlq`` (redrive that queue to retry). A ``410 Gone`` disables the
endpoint. With ``settings.webhook_breaker`` (one breaker for every callback URL), an open
breaker leaves deliveries in the queue: the claimed message is replaced by a copy delayed
to the breaker's ``retry_at`` that keeps its webhook id and attempt count.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from stormproof.core import queue_rules as rules
from stormproof.core.webhook_retry import after_attempt
from stormproof.engine import injection, tracing
from stormproof.engine.breakers import Permit
from stormproof.errors import InvalidAttribute, StaleLease
from stormproof.gateway.routes import ApiSettings
from stormproof.storage.base import (
    ChangeVisibility,
    ClaimedRow,
    CompareAndSet,
    Delete,
    Enqueue,
    Lease,
)
from stormproof.storage.request_ops import WEBHOOK_DLQ, WEBHOOK_QUEUE
from stormproof.webhooks import sign

if TYPE_CHECKING:
    import httpx

    from stormproof.gateway.host import GatewayHost

log = logging.getLogger("stormproof.webhooks")
DISABLED_PREFIX = "webhook-disabled:"
BATCH = 16
VISIBILITY = 60.0


async def declare_queues(app: GatewayHost) -> None:
    """Create the delivery queue and its DLQ (idempotent)."""
    await app.create_queue(WEBHOOK_DLQ, retention=14 * 86_400)
    await app.create_queue(WEBHOOK_QUEUE, visibility_timeout=VISIBILITY, retention=14 * 86_400)


class WebhookDispatcher:
    """Claims deliveries and POSTs them until stopped."""

    def __init__(self, app: GatewayHost, settings: ApiSettings, rng: random.Random | None = None):
        if not settings.webhook_secrets:
            raise InvalidAttribute("webhook_secrets", [], "at least one 'whsec_...' secret")
        self.app = app
        self.settings = settings
        self.rng = rng or random.Random()
        self.stopping = asyncio.Event()

    async def run(self) -> None:
        """Deliver until :meth:`stop`."""
        import httpx

        async with httpx.AsyncClient(timeout=self.settings.webhook_timeout) as client:
            while not self.stopping.is_set():
                mark = self.app.store.wake_mark([WEBHOOK_QUEUE])  # no lost wake-up
                if not await self.poll_once(client):
                    await self.app.store.wait([WEBHOOK_QUEUE], 1.0, since=mark)

    def stop(self) -> None:
        """Finish the current batch and return."""
        self.stopping.set()

    async def poll_once(self, client: httpx.AsyncClient) -> int:
        """Claim and attempt one batch; returns how many were attempted."""
        attrs = self.app.attributes_of(WEBHOOK_QUEUE)
        rows = await self.app.store.claim(WEBHOOK_QUEUE, attrs, BATCH, VISIBILITY)
        await asyncio.gather(*(self._traced(client, row) for row in rows))
        return len(rows)

    async def _traced(self, client: httpx.AsyncClient, row: ClaimedRow) -> None:
        with tracing.processing_rows(WEBHOOK_QUEUE, [row]):
            await self._attempt(client, row)

    async def _attempt(self, client: httpx.AsyncClient, row: ClaimedRow) -> None:
        event = json.loads(row.body)
        breaker = self.settings.webhook_breaker
        permit = await breaker.try_admit() if breaker is not None else None
        if breaker is not None and not isinstance(permit, Permit):
            await self._pause(row, event, permit)
            return
        url = str(event.pop("callback_url"))
        route = str(event.pop("route", ""))  # the front-door route (chaos: webhook:PATH)
        webhook_id = str(event.pop("webhook_id", row.message_id))  # kept across pauses
        attempt = int(event.pop("tries", 0)) + row.receive_count
        body = json.dumps(event, separators=(",", ":")).encode()
        status, error = await self._deliver(client, url, webhook_id, body, route)
        if isinstance(permit, Permit):
            await breaker.done(permit, status is None or status == 429 or status >= 500)
        verdict = after_attempt(attempt, status, self.settings.webhook_schedule, self.rng)
        lease = Lease(row.rowid, row.token)
        log.info(
            "event=webhook.attempt id=%s attempt=%d status=%s verdict=%s",
            webhook_id,
            attempt,
            status,
            verdict.action,
        )
        if verdict.action == "delivered":
            ops: list[Any] = [Delete(WEBHOOK_QUEUE, [lease])]
        elif verdict.action == "retry":
            ops = [ChangeVisibility(WEBHOOK_QUEUE, [lease], [verdict.delay])]
        else:
            ops = self._dead_letter_ops((webhook_id, attempt), lease, url, event, status, error)
            if verdict.action == "disable":
                ops.append(CompareAndSet(DISABLED_PREFIX + url, None, json.dumps({"status": 410})))
        try:
            await self.app.store.apply(ops, atomic=verdict.action != "disable")
        except StaleLease:
            log.warning("event=webhook.lease_lost id=%s", row.message_id)

    async def _deliver(
        self, client: httpx.AsyncClient, url: str, msg_id: str, body: bytes, route: str
    ) -> tuple[int | None, str | None]:
        import httpx

        injector = injection.injector
        hit = None if injector is None else await injector.caught(f"webhook:{route}")
        if hit is not None:  # a chaos fault: as if the receiver answered it (None: unreachable)
            return getattr(hit, "status", None), f"{type(hit).__name__}: {hit}"

        if await self.app.store.get_state(DISABLED_PREFIX + url) is not None:
            return 410, "endpoint disabled after 410 Gone"
        headers = sign(self.settings.webhook_secrets, msg_id, body)
        headers["content-type"] = "application/json"
        tracing.add_header(headers, urlsplit(url).netloc)
        try:
            response = await client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"
        return response.status_code, None if response.is_success else response.text[:200]

    async def _pause(self, row: ClaimedRow, event: dict[str, Any], retry_at: float | None) -> None:
        """The breaker is open: replace the delivery by a copy delayed to ``retry_at``; this
        receive was no attempt."""
        now = self.app.clock.now()
        delay = min(float(rules.MAX_DELAY), max(1.0, (retry_at or now + 1.0) - now))
        event.setdefault("webhook_id", row.message_id)
        event["tries"] = int(event.get("tries", 0)) + row.receive_count - 1
        attrs = self.app.attributes_of(WEBHOOK_QUEUE)
        msg = rules.prepare_message(attrs, json.dumps(event, separators=(",", ":")), delay)
        ops: list[Any] = [Delete(WEBHOOK_QUEUE, [Lease(row.rowid, row.token)])]
        ops.append(Enqueue(WEBHOOK_QUEUE, [msg]))
        try:
            await self.app.store.apply(ops, atomic=True)
        except StaleLease:
            log.warning("event=webhook.lease_lost id=%s", row.message_id)
        log.info("event=webhook.paused id=%s delay=%.3f reason=breaker", event["webhook_id"], delay)

    def _dead_letter_ops(
        self,
        who: tuple[str, int],
        lease: Lease,
        url: str,
        event: dict[str, Any],
        status: int | None,
        error: str | None,
    ) -> list[Any]:
        record = {
            "webhook_id": who[0],
            "callback_url": url,
            "event": event,
            "attempts": who[1],
            "last_status": status,
            "last_error": error,
        }
        attrs = self.app.attributes_of(WEBHOOK_DLQ)
        msg = rules.prepare_message(attrs, json.dumps(record))
        return [Delete(WEBHOOK_QUEUE, [lease]), Enqueue(WEBHOOK_DLQ, [msg])]
