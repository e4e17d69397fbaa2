"""Reserve Payment and Refund Payment: calls to the third-party payment API.

The machine hands each charge to the ``payments`` queue with a task token
(``sqs:sendMessage.waitForTaskToken``); :func:`charge` consumes it behind the shared
breaker and the global rate limit, so while the API is down the charges wait in the queue
(claims pause) instead of burning retries, and drain once the breaker closes.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from examples.booking.settings import payment_url


class PaymentUnavailable(Exception):
    """The payment API did not answer, or answered 429/5xx: try again later."""


class PaymentDeclined(Exception):
    """The payment API refused the card (402): compensate, do not retry."""


_client: httpx.AsyncClient | None = None


def client() -> httpx.AsyncClient:
    """One keep-alive client per process (created on first use, inside the event loop)."""
    global _client
    if _client is None:
        _client = httpx.AsyncClient(base_url=payment_url(), timeout=1.5)
    return _client


async def post(path: str, body: dict[str, Any], key: str) -> dict[str, Any]:
    """POST to the payment API with an idempotency key; raise on anything but 2xx/402."""
    try:
        answer = await client().post(path, json=body, headers={"Idempotency-Key": key})
    except httpx.HTTPError as exc:
        raise PaymentUnavailable(f"{path}: {type(exc).__name__}") from exc
    if answer.status_code == 402:
        raise PaymentDeclined(answer.text)
    if answer.status_code >= 300:
        raise PaymentUnavailable(f"{path}: HTTP {answer.status_code}")
    return dict(answer.json())


def body_of(record: dict[str, Any]) -> dict[str, Any]:
    """The charge request the machine sent (``MessageBody``)."""
    body = record["body"]
    return dict(json.loads(body) if isinstance(body, str) else body)
