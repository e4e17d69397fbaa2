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

The tree is split by family into ``root``, ``validation``, ``queues``, ``invocations``,
``machines``, ``front_door`` and ``runtime``; import every name from ``stormproof.errors``.

Driver exceptions (``sqlite3``, ``psycopg``) never escape ``stormproof.storage``: they are
translated into ``StoreError`` there.
"""

from __future__ import annotations

from stormproof.errors.front_door import (
    Forbidden,
    IdempotencyKeyMissing,
    IdempotencyKeyReused,
    IntegrationTimeout,
    PayloadInvalid,
    PayloadTooLarge,
    QuotaExceeded,
    RequestNotFound,
    RequestRejected,
    TooManyRequests,
    WebhookVerificationError,
)
from stormproof.errors.invocations import (
    BreakerOpen,
    FunctionError,
    FunctionNotFound,
    IdempotencyInProgress,
    IdempotencyPayloadMismatch,
    ReplayNotFound,
    StaleLease,
    Throttled,
)
from stormproof.errors.machines import (
    ExecutionAlreadyExists,
    ExecutionDoesNotExist,
    ExecutionNotRedrivable,
    SqlConditionFailed,
    SqlError,
    StateMachineDoesNotExist,
    TaskDoesNotExist,
    TransactionError,
    TransactionTimeout,
)
from stormproof.errors.queues import (
    BatchRequestInvalid,
    InvalidMessageContents,
    MessageNotInflight,
    MessageTooLarge,
    QueueAlreadyExists,
    QueueDoesNotExist,
    QueueInUse,
    ReceiptHandleIsInvalid,
    RedriveTaskConflict,
    RedriveTaskNotFound,
)
from stormproof.errors.root import StormproofError, safe_repr
from stormproof.errors.runtime import (
    AppNotOpen,
    InjectedFault,
    NotOpen,
    StoreError,
    StoreUnavailable,
    SyncInsideEventLoop,
)
from stormproof.errors.validation import (
    InvalidAttribute,
    InvalidDefinition,
    InvalidEvent,
    InvalidHandler,
    InvalidPattern,
    MissingParameter,
    NestingTooDeep,
    ValidationError,
)

__all__ = [
    "AppNotOpen",
    "BatchRequestInvalid",
    "BreakerOpen",
    "ExecutionAlreadyExists",
    "ExecutionDoesNotExist",
    "ExecutionNotRedrivable",
    "Forbidden",
    "FunctionError",
    "FunctionNotFound",
    "IdempotencyInProgress",
    "IdempotencyKeyMissing",
    "IdempotencyKeyReused",
    "IdempotencyPayloadMismatch",
    "InjectedFault",
    "IntegrationTimeout",
    "InvalidAttribute",
    "InvalidDefinition",
    "InvalidEvent",
    "InvalidHandler",
    "InvalidMessageContents",
    "InvalidPattern",
    "MessageNotInflight",
    "MessageTooLarge",
    "MissingParameter",
    "NestingTooDeep",
    "NotOpen",
    "PayloadInvalid",
    "PayloadTooLarge",
    "QueueAlreadyExists",
    "QueueDoesNotExist",
    "QueueInUse",
    "QuotaExceeded",
    "ReceiptHandleIsInvalid",
    "RedriveTaskConflict",
    "RedriveTaskNotFound",
    "ReplayNotFound",
    "RequestNotFound",
    "RequestRejected",
    "SqlConditionFailed",
    "SqlError",
    "StaleLease",
    "StateMachineDoesNotExist",
    "StoreError",
    "StoreUnavailable",
    "StormproofError",
    "SyncInsideEventLoop",
    "TaskDoesNotExist",
    "Throttled",
    "TooManyRequests",
    "TransactionError",
    "TransactionTimeout",
    "ValidationError",
    "WebhookVerificationError",
    "safe_repr",
]

# The families are modules for their size only: every error still reads, pickles and
# reprs as stormproof.errors.X, as it did when this was one module.
for _name in __all__:
    _value = globals()[_name]
    if isinstance(_value, type):
        _value.__module__ = __name__
del _name, _value
