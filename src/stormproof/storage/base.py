"""The ``Store`` protocol, its records and its typed units of work.

A write is a *unit of work*: a list of operations applied in one transaction. Operations
that act on a leased message carry its lease (row id + receipt token). Each operation
reports a status per entry; in an ``atomic`` unit any stale lease rolls the whole unit
back and raises :class:`~stormproof.errors.StaleLease`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, TypeVar, runtime_checkable

from stormproof.core import trace_context
from stormproof.core.queue_rules import OutgoingMessage, QueueAttributes
from stormproof.storage.message_ids import new_message_ids
from stormproof.storage.program import Dialect, Program

T = TypeVar("T")


class EntryStatus(StrEnum):
    """Outcome of one entry of a lease operation."""

    OK = "ok"
    STALE = "stale"  # received again since this lease was issued
    NOT_IN_FLIGHT = "not_in_flight"  # lease expired (for change_visibility)
    GONE = "gone"  # the message no longer exists
    TOO_LONG = "too_long"  # would keep a message hidden past 12 h from its receive


@dataclass(frozen=True)
class Lease:
    """A claim on one message: its row id and the receipt token of that receive."""

    rowid: int
    token: str


@dataclass(frozen=True)
class StoredQueue:
    """A queue row."""

    name: str
    attributes: QueueAttributes
    created_at: float
    updated_at: float


@dataclass(frozen=True)
class ClaimedRow:
    """A message as one receive returned it."""

    rowid: int
    message_id: str
    body: str
    attributes: str | None
    group_id: str | None
    dedup_id: str | None
    sent_at: float
    first_received_at: float
    receive_count: int
    token: str


@dataclass(frozen=True)
class QueueCounts:
    """Counts for ``Queue.stats``."""

    visible: int
    in_flight: int
    delayed: int
    oldest_enqueued_at: float | None
    now: float


@dataclass(frozen=True)
class StateRecord:
    """A small compare-and-set state record."""

    key: str
    version: int
    value: str
    updated_at: float


# --- operations of a unit of work -------------------------------------------------


@dataclass(frozen=True)
class Enqueue:
    """Insert messages; FIFO de-duplication within ``dedup_window`` returns the original id."""

    queue: str
    messages: Sequence[OutgoingMessage]
    dedup_window: float = 300
    fifo: bool = False
    # The trace context the messages carry: the running work's (core.trace_context), taken
    # when the operation is built, on the caller's task (the store may apply it elsewhere).
    trace: str | None = None
    # The messages' ids, drawn once when the operation is built: a unit retried after a
    # lost COMMIT reply (a server restart) stores the same ids again, so a message stored
    # twice is one message id delivered twice, which consumers recognise as a redelivery.
    ids: tuple[str, ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        carrier = trace_context.carrier()
        if carrier is not None and self.trace is None:
            object.__setattr__(self, "trace", carrier.outgoing(self.queue, len(self.messages)))
        if len(self.ids) != len(self.messages):
            object.__setattr__(self, "ids", tuple(new_message_ids(len(self.messages))))


@dataclass(frozen=True)
class Delete:
    """Delete leased messages (a gone message counts as deleted)."""

    queue: str
    leases: Sequence[Lease]


@dataclass(frozen=True)
class ChangeVisibility:
    """Set each leased message visible ``timeouts[i]`` seconds from now."""

    queue: str
    leases: Sequence[Lease]
    timeouts: Sequence[float]


@dataclass(frozen=True)
class CompareAndSet:
    """Write a state record if its version is ``expected_version`` (None: must not exist)."""

    key: str
    expected_version: int | None
    value: str


@dataclass(frozen=True)
class DeleteState:
    """Delete a state record if its version matches (None: unconditionally)."""

    key: str
    expected_version: int | None = None


@dataclass(frozen=True)
class AcquireSlots:
    """Lease up to ``count`` of ``limit`` slots of a named semaphore for ``ttl`` seconds."""

    name: str
    limit: int
    holder: str
    count: int
    ttl: float


@dataclass(frozen=True)
class ExtendSlots:
    """Extend slots the holder has; slots it lost are reported stale."""

    name: str
    holder: str
    slots: Sequence[int]
    ttl: float


@dataclass(frozen=True)
class ReleaseSlots:
    """Give slots back."""

    name: str
    holder: str
    slots: Sequence[int]


class CustomOperation(Protocol):
    """An operation a feature defines in a storage module of its own.

    ``program`` returns the program that applies it; in an atomic unit, ``is_stale``
    decides from its result whether the whole unit must roll back.
    """

    def program(self, dialect: Dialect) -> Program[OpResult]:
        """The statements that apply this operation."""
        ...

    def is_stale(self, result: OpResult) -> bool:
        """Whether the result means the unit acted on something it no longer holds."""
        ...


Operation = (
    Enqueue
    | Delete
    | ChangeVisibility
    | CompareAndSet
    | DeleteState
    | AcquireSlots
    | ExtendSlots
    | ReleaseSlots
    | CustomOperation
)


@dataclass(frozen=True)
class OpResult:
    """Per-operation result: statuses per entry and values (message ids, versions, slots)."""

    statuses: list[EntryStatus] = field(default_factory=list)
    values: list[object] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every entry succeeded."""
        return all(s is EntryStatus.OK for s in self.statuses)


@dataclass(frozen=True)
class MoveResult:
    """Messages moved by one redrive step."""

    moved: int
    remaining: int
    unmovable: int = 0  # messages with no source queue to return to


@runtime_checkable
class Store(Protocol):
    """What the runtime needs from a durable store (SQLite or PostgreSQL)."""

    url: str
    # Called after commit with (queue, dlq, rows moved) when a claim dead-letters messages.
    on_dead_lettered: Callable[[str, str, Sequence[ClaimedRow]], None] | None

    async def open(self) -> None:
        """Connect and apply pending migrations."""

    async def close(self) -> None:
        """Release every connection and thread."""

    async def now(self) -> float:
        """The store's clock (the database's on PostgreSQL), in epoch seconds."""

    async def run(self, factory: Callable[[], Program[T]]) -> T:
        """Run a storage program (see ``storage.program``) in one transaction."""

    async def apply(self, ops: Sequence[Operation], *, atomic: bool = False) -> list[OpResult]:
        """Apply a unit of work in one transaction."""

    async def claim(
        self, queue: str, attrs: QueueAttributes, max_messages: int, visibility_timeout: float
    ) -> list[ClaimedRow]:
        """Lease up to ``max_messages`` visible messages; over-received ones go to the DLQ."""

    async def claim_or_next(
        self, queue: str, attrs: QueueAttributes, max_messages: int, visibility_timeout: float
    ) -> tuple[list[ClaimedRow], float | None]:
        """``claim``; when it finds nothing, also the seconds until a message becomes visible."""

    async def next_visible_in(self, queue: str) -> float | None:
        """Seconds until the earliest hidden message of the queue becomes visible, if any."""

    async def slots_in_use(self) -> dict[str, int]:
        """Leased slots per slot pool (``fn:<function>``, ``esm:<mapping>``, ``limit:...``)."""

    def wake_mark(self, queues: Sequence[str]) -> int:
        """A mark of the wake-ups of ``queues`` that found no waiter, for ``wait(since=)``.

        Take it before a claim: a wake-up landing between an empty claim and the wait
        (when no waiter is registered yet) then ends the wait at once instead of being lost.
        """

    async def wait(
        self, queues: Sequence[str], timeout: float, *, since: int | None = None
    ) -> None:
        """Return when any of the queues may have a new visible message, or after timeout
        (at once if a wake-up found no waiter since the mark ``since`` was taken)."""

    async def put_queue(self, name: str, attrs: QueueAttributes) -> StoredQueue:
        """Create or replace a queue's attributes."""

    async def get_queue(self, name: str) -> StoredQueue | None:
        """A queue, or None."""

    async def list_queues(self) -> list[StoredQueue]:
        """Every queue, by name."""

    async def delete_queue(self, name: str) -> bool:
        """Drop a queue and its messages; False if it did not exist."""

    async def purge(self, queue: str) -> int:
        """Delete every message of a queue, delayed and in-flight ones included."""

    async def counts(self, queue: str) -> QueueCounts:
        """Visible, in-flight and delayed counts."""

    async def expire(self, queue: str, retention: float) -> int:
        """Delete messages older than ``retention`` (by their enqueue time)."""

    async def move_messages(
        self, source: str, destination: str | None, limit: int, ids: Sequence[str] | None = None
    ) -> MoveResult:
        """Move up to ``limit`` messages from a DLQ back to their source (or ``destination``);
        with ``ids``, only the visible messages having those message ids."""

    async def get_state(self, key: str) -> StateRecord | None:
        """A state record, or None."""

    async def list_states(self, prefix: str) -> list[StateRecord]:
        """State records whose key starts with ``prefix``."""
