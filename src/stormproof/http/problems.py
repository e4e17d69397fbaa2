"""Exceptions to ``application/problem+json`` (RFC 9457) responses, in one table."""

from __future__ import annotations

import logging
import math
from typing import Any

from starlette.responses import JSONResponse

from stormproof.errors import (
    Forbidden,
    IdempotencyKeyMissing,
    IdempotencyKeyReused,
    InjectedFault,
    IntegrationTimeout,
    InvalidAttribute,
    PayloadInvalid,
    PayloadTooLarge,
    QuotaExceeded,
    RequestNotFound,
    RequestRejected,
    StormproofError,
    TooManyRequests,
)

log = logging.getLogger("stormproof.http")
TYPE_BASE = "https://stormproof.dev/problems/"
MEDIA_TYPE = "application/problem+json"

# Most specific first: the first matching class decides status and stable type.
TABLE: list[tuple[type[Exception], int, str, str]] = [
    (PayloadTooLarge, 413, "payload-too-large", "Payload too large"),
    (PayloadInvalid, 400, "payload-invalid", "Invalid request body"),
    (IdempotencyKeyMissing, 400, "idempotency-key-missing", "Idempotency key required"),
    (IdempotencyKeyReused, 422, "idempotency-key-reused", "Idempotency key reused"),
    (Forbidden, 403, "forbidden", "Forbidden"),
    (QuotaExceeded, 429, "quota-exceeded", "Quota exceeded"),
    (TooManyRequests, 429, "too-many-requests", "Too many requests"),
    (RequestNotFound, 404, "request-not-found", "No such request"),
    (IntegrationTimeout, 504, "integration-timeout", "Integration timeout"),
    (InvalidAttribute, 400, "invalid-attribute", "Invalid value"),
    (StormproofError, 500, "internal", "Internal error"),
]


def problem(status: int, kind: str, title: str, detail: str, **extra: Any) -> JSONResponse:
    """A problem+json response."""
    body = {"type": TYPE_BASE + kind, "title": title, "status": status, "detail": detail}
    return JSONResponse({**body, **extra}, status, media_type=MEDIA_TYPE)


def from_exception(exc: Exception) -> JSONResponse:
    """The response for an exception; unexpected ones are logged, never shown."""
    if isinstance(exc, InjectedFault):  # chaos: the fault's own status, logged as injected
        return problem(exc.status or 500, "injected-fault", "Injected fault", str(exc))
    row = next((r for r in TABLE if isinstance(exc, r[0])), None)
    if row is None:
        log.exception("event=http.unhandled", exc_info=exc)
        return problem(500, "internal", "Internal error", "the server failed to answer")
    _, status, kind, title = row
    extra: dict[str, Any] = {}
    if isinstance(exc, RequestRejected):
        extra = dict(exc.fields)
        detail = exc.detail
    elif isinstance(exc, InvalidAttribute):
        extra = {"errors": [{"field": exc.field, "message": f"allowed {exc.allowed}"}]}
        detail = str(exc)
    else:
        log.error("event=http.error error=%s", exc)
        detail = "the server failed to answer"
    response = problem(status, kind, title, detail, **extra)
    if isinstance(exc, TooManyRequests):
        response.headers["Retry-After"] = str(max(1, math.ceil(exc.fields["retry_after"])))
    return response
