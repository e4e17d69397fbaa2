"""The stormproof exception tree.

Every exception carries its facts as fields, not only as a formatted string::

    StormproofError
    ├── InvalidAttribute (ValueError)        field, value, allowed
    │   ├── NestingTooDeep                   field, limit
    │   └── ValidationError                  field, value, allowed (a fault, an experiment file)
    ├── MissingParameter (ValueError)        field
    ├── BatchRequestInvalid (ValueError)     code
    ├── MessageTooLarge (ValueError)         size, limit
    ├── InvalidMessageContents (ValueError)  position
    ├── InvalidPattern (ValueError)          reason
    ├── InvalidEvent (ValueError)            reason
    ├── InvalidDefinition (ValueError)       problems: list[(json_path, message)]
    ├── QueueDoesNotExist (LookupError)      name
    ├── TransactionError                     error, cause (SqlError, TransactionTimeout,
    │                                        SqlConditionFailed: statement, expected, rows)
    ├── QueueAlreadyExists                   name
    ├── ReceiptHandleIsInvalid               receipt_handle
    ├── MessageNotInflight                   receipt_handle
    ├── RedriveTaskConflict                  queue
    ├── RedriveTaskNotFound (LookupError)    queue
    ├── StaleLease                           (a unit of work named a lease it no longer holds)
    ├── Throttled                            name, retry_after
    ├── BreakerOpen                          name, retry_at
    ├── FunctionError                        error_type, error_message
    ├── ExecutionAlreadyExists               name
    ├── StateMachineDoesNotExist (LookupError)  name
    ├── ExecutionDoesNotExist (LookupError)  arn
    ├── TaskDoesNotExist (LookupError)       token
    ├── ExecutionNotRedrivable               arn, status
    ├── InjectedFault                        fault_id, target, action, status (chaos)
    └── StoreError                           (a storage driver failure, translated)
        └── StoreUnavailable                 (the store cannot be reached)

Driver exceptions (``sqlite3``, ``psycopg``) never escape ``stormproof.storage``: they are
translated into ``StoreError`` there.
"""

from __future__ import annotations

import reprlib
from typing import Any


def safe_repr(value: Any) -> str:
    """``repr(value)``, or a shortened one when it would recurse too deep (a value nested
    thousands of levels) or fails."""
    try:
        return repr(value)
    except (RecursionError, ValueError):
        return reprlib.repr(value)


class StormproofError(Exception):
    """Root of every error stormproof raises on purpose."""


class InvalidAttribute(StormproofError, ValueError):
    """A value is outside its documented range or of the wrong kind.

    ``field`` is the Python keyword name, ``value`` the offending value and
    ``allowed`` a human-readable description of what is accepted.
    """

    def __init__(self, field: str, value: Any, allowed: str) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(f"invalid {field}={safe_repr(value)}: allowed {allowed}")


class ValidationError(InvalidAttribute):
    """A declared document (a chaos fault, an experiment file) has a field out of range."""


class NestingTooDeep(InvalidAttribute):
    """A JSON document nests arrays and objects deeper than ``limit`` levels.

    ``value`` is a description, not the document (whose repr would recurse as deep).
    """

    def __init__(self, field: str, limit: int) -> None:
        self.limit = limit
        super().__init__(
            field,
            f"<a document nested more than {limit} levels>",
            f"at most {limit} levels of nested arrays and objects",
        )


class MissingParameter(StormproofError, ValueError):
    """A required parameter was not given (e.g. a FIFO send without ``group_id``)."""

    def __init__(self, field: str, message: str | None = None) -> None:
        self.field = field
        super().__init__(message or f"missing required parameter {field}")


class BatchRequestInvalid(StormproofError, ValueError):
    """A whole batch request is malformed.

    ``code`` is one of ``EmptyBatchRequest``, ``TooManyEntriesInBatchRequest``,
    ``BatchEntryIdsNotDistinct``, ``BatchRequestTooLong``, ``InvalidBatchEntryId``.
    """

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(f"{code}: {message}")


class MessageTooLarge(StormproofError, ValueError):
    """A message body (with its attributes) is larger than the queue allows."""

    def __init__(self, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        super().__init__(f"message of {size} bytes is larger than the limit of {limit} bytes")


class InvalidMessageContents(StormproofError, ValueError):
    """A body holds a character SQS does not allow (see the SQS character rule)."""

    def __init__(self, position: int, char: str) -> None:
        self.position = position
        self.char = char
        super().__init__(
            f"message body has a character SQS does not allow at position {position}: "
            f"U+{ord(char):04X}; allowed are #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF"
        )


class InvalidPattern(StormproofError, ValueError):
    """An event pattern is not valid; the message reads like AWS's."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"Event pattern is not valid. Reason: {reason}")


class InvalidEvent(StormproofError, ValueError):
    """An event is not valid JSON or lacks the envelope fields required."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class InvalidDefinition(StormproofError, ValueError):
    """A state-machine definition has problems; ``problems`` lists ``(json_path, message)``."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        lines = "; ".join(f"{path}: {msg}" for path, msg in problems)
        super().__init__(f"invalid state machine definition: {lines}")


class QueueDoesNotExist(StormproofError, LookupError):
    """The named queue does not exist in the store."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"queue {name!r} does not exist")


class QueueAlreadyExists(StormproofError):
    """A queue exists with attributes that cannot change (e.g. FIFO-ness)."""

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        super().__init__(message)


class QueueInUse(StormproofError):
    """A queue cannot be deleted: it is a dead-letter target or used by a mapping, bus
    target or destination (``uses`` names each, e.g. ``"dead-letter queue of 'orders'"``)."""

    def __init__(self, name: str, uses: list[str]) -> None:
        self.name = name
        self.uses = uses
        super().__init__(
            f"queue {name!r} is in use: {'; '.join(uses)}"
            " (detach it first, or delete with force to detach its source queues)"
        )


class ReceiptHandleIsInvalid(StormproofError):
    """The receipt handle is malformed, or the message was received again since."""

    def __init__(self, receipt_handle: str, reason: str = "") -> None:
        self.receipt_handle = receipt_handle
        super().__init__(f"receipt handle is invalid{': ' + reason if reason else ''}")


class MessageNotInflight(StormproofError):
    """``change_visibility`` was called for a message that is not in flight."""

    def __init__(self, receipt_handle: str) -> None:
        self.receipt_handle = receipt_handle
        super().__init__("message is not in flight")


class RedriveTaskConflict(StormproofError):
    """A redrive task is already active for this queue (one at a time, as in SQS)."""

    def __init__(self, queue: str) -> None:
        self.queue = queue
        super().__init__(f"a redrive task is already running for queue {queue!r}")


class RedriveTaskNotFound(StormproofError, LookupError):
    """No redrive task (or not this one) exists for the queue."""

    def __init__(self, queue: str, message: str | None = None) -> None:
        self.queue = queue
        super().__init__(message or f"no redrive task for queue {queue!r}")


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


class ExecutionAlreadyExists(StormproofError):
    """An execution with this name exists (or existed) for the state machine."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"execution {name!r} already exists")


class StoreError(StormproofError):
    """A storage driver failure, translated at the storage boundary.

    ``cause`` names the kind of failure when it is known (``disk full``, ``read-only``,
    ``I/O error``, ``corrupt``, ``locked``, ``timeout``, ``unreachable``), else None.
    """

    def __init__(self, message: str, *, cause: str | None = None) -> None:
        self.cause = cause
        super().__init__(message)


class StoreUnavailable(StoreError):
    """The store cannot be reached (connection refused or lost)."""


class StateMachineDoesNotExist(StormproofError, LookupError):
    """No state machine of that name is declared or stored."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"state machine {name!r} does not exist")


class ExecutionDoesNotExist(StormproofError, LookupError):
    """No execution with that ARN (or machine and name)."""

    def __init__(self, arn: str) -> None:
        self.arn = arn
        super().__init__(f"execution {arn!r} does not exist")


class TaskDoesNotExist(StormproofError, LookupError):
    """A task token names no task that is waiting for its outcome (AWS: TaskDoesNotExist)."""

    def __init__(self, token: str) -> None:
        self.token = token
        super().__init__(f"no task is waiting for the token {token!r}")


class ExecutionNotRedrivable(StormproofError):
    """Only FAILED, TIMED_OUT and ABORTED executions can be redriven."""

    def __init__(self, arn: str, status: str) -> None:
        self.arn = arn
        self.status = status
        super().__init__(
            f"execution {arn!r} is {status}: only FAILED, TIMED_OUT and ABORTED executions redrive"
        )


# --- the front door (HTTP status codes are mapped in stormproof.http.problems) --------


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


# --- the runtime's own misuse and lookups (each also its old builtin, so callers that
# caught RuntimeError/LookupError/TypeError keep working) ------------------------------


class NotOpen(StormproofError, RuntimeError):
    """``what`` (``"app"`` or ``"store"``) is used before it is opened or after it closed."""

    def __init__(self, what: str, hint: str = "") -> None:
        self.what = what
        super().__init__(f"the {what} is not open" + (f": {hint}" if hint else ""))


class AppNotOpen(NotOpen):
    """The app is used before ``async with app:`` (or ``app.open()``) or after it closed."""

    def __init__(self) -> None:
        super().__init__("app", "use 'async with app:'")


class SyncInsideEventLoop(StormproofError, RuntimeError):
    """A ``*_sync`` method was called from inside a running event loop: await instead."""

    def __init__(self) -> None:
        super().__init__("the *_sync methods are for code outside asyncio: await instead")


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


class InvalidHandler(InvalidAttribute, TypeError):
    """A handler of the wrong kind for its option (``field``), e.g. ``async def`` with
    ``isolation='process'``."""


class TransactionError(StormproofError):
    """A transaction function's failure that has an ASL error name (``error``, ``cause``)."""

    error = "Sql.Error"

    def __init__(self, cause: str) -> None:
        self.cause = cause
        super().__init__(f"{self.error}: {cause}")


class SqlError(TransactionError):
    """A statement of a transaction function failed (the transaction rolls back)."""


class TransactionTimeout(TransactionError):
    """A transaction function overran its time budget (``budget`` seconds); rolled back."""

    error = "States.Timeout"

    def __init__(self, budget: float) -> None:
        self.budget = budget
        super().__init__(f"the transaction ran past its budget of {budget:g} s")


class SqlConditionFailed(TransactionError):
    """``sql:execute`` touched ``rows`` rows where ``expected`` were declared (``ExpectRows``)."""

    error = "Sql.ConditionFailed"

    def __init__(self, statement: str, expected: int, rows: int) -> None:
        self.statement, self.expected, self.rows = statement, expected, rows
        super().__init__(f"statement {statement!r} affected {rows} rows, expected {expected}")


class InjectedFault(StormproofError):
    """A fault injected on purpose by ``stormproof.chaos`` (never raised with chaos off).

    ``status`` is the HTTP status a route, HTTP target or webhook answers (503, 429), or
    None; ``action`` is the fault's action (``error``, ``throttle``, ``drop``...).
    """

    def __init__(self, fault_id: str, target: str, action: str, status: int | None = None):
        self.fault_id = fault_id
        self.target = target
        self.action = action
        self.status = status
        shown = f" (status {status})" if status is not None else ""
        super().__init__(f"injected {action} fault {fault_id} on {target}{shown}")
