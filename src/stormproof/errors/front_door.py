"""Errors of the front door (HTTP status codes are mapped in stormproof.http.problems)."""

from __future__ import annotations

from typing import Any

from stormproof.errors.root import StormproofError


class RequestRejected(StormproofError):
    """A front-door request refused before anything was stored."""

    def __init__(self, detail: str, **fields: Any) -> None:
        self.detail = detail
        self.fields = fields
        super().__init__(detail)


class PayloadInvalid(RequestRejected):
    """The body is not acceptable JSON, or violates the route's schema (``errors``)."""


class PayloadTooLarge(RequestRejected):
    """The body exceeds the route's size limit."""


class IdempotencyKeyMissing(RequestRejected):
    """The route requires an idempotency key and the request has none."""


class IdempotencyKeyReused(RequestRejected):
    """The idempotency key was used before with a different body."""


class TooManyRequests(RequestRejected):
    """A throttle refused the request; ``retry_after`` seconds until a token is free."""


class QuotaExceeded(TooManyRequests):
    """A usage plan's quota for the period is spent; ``reset`` is when it renews."""


class Forbidden(RequestRejected):
    """No valid API key for this route (missing, unknown, revoked or not scoped to it)."""


class RequestNotFound(RequestRejected, LookupError):
    """No request record with this id (or it expired)."""


class IntegrationTimeout(RequestRejected):
    """A synchronous route's handler overran its timeout (``request_id`` names it)."""


class WebhookVerificationError(StormproofError):
    """A webhook's signature or timestamp does not verify (``reason`` says which)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"webhook rejected: {reason}")
