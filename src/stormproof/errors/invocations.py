"""Errors of running work: leases, throttles, breakers, idempotency, functions."""

from __future__ import annotations

from stormproof.errors.root import StormproofError


class StaleLease(StormproofError):
    """A unit of work acted on a lease it no longer holds; nothing of it was applied."""

    def __init__(self, message: str = "lease is stale", index: int | None = None) -> None:
        self.index = index
        super().__init__(message)


class Throttled(StormproofError):
    """A function's concurrency (or a rate limit) is exhausted."""

    def __init__(
        self, name: str, message: str | None = None, retry_after: float | None = None
    ) -> None:
        self.name = name
        self.retry_after = retry_after
        super().__init__(message or f"{name!r} is throttled")


class BreakerOpen(StormproofError):
    """A circuit breaker refused a call without making it; try again at ``retry_at``."""

    def __init__(self, name: str, retry_at: float | None) -> None:
        self.name = name
        self.retry_at = retry_at
        super().__init__(f"breaker {name!r} is open (retry at {retry_at})")


class IdempotencyInProgress(StormproofError):
    """An idempotent function is already running for this key (elsewhere); retry later."""

    def __init__(self, function: str, key: str, retry_at: float | None = None) -> None:
        self.function = function
        self.key = key
        self.retry_at = retry_at
        super().__init__(f"{function!r} is already running for idempotency key {key}")


class IdempotencyPayloadMismatch(StormproofError):
    """The same idempotency key came with a different validated payload."""

    def __init__(self, function: str, key: str) -> None:
        self.function = function
        self.key = key
        super().__init__(f"{function!r}: idempotency key {key} reused with another payload")


class FunctionError(StormproofError):
    """A function invocation failed; carries the error type and message."""

    def __init__(self, error_type: str, error_message: str) -> None:
        self.error_type = error_type
        self.error_message = error_message
        super().__init__(f"{error_type}: {error_message}")


class FunctionNotFound(StormproofError, LookupError):
    """No function of this ``name`` is defined on the app."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"no function named {name!r}")


class ReplayNotFound(StormproofError, LookupError):
    """No event-bus replay of this ``name``."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"replay {name!r} does not exist")
