"""Errors of queues, their messages, receipts and redrive tasks (SQS's own names)."""

from __future__ import annotations

from stormproof.errors.root import StormproofError


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
