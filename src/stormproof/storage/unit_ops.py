"""Units of work and the small programs beside them (state records, slots, queue rows)."""

from __future__ import annotations

from collections.abc import Sequence

from stormproof.core.queue_rules import QueueAttributes
from stormproof.errors import StaleLease
from stormproof.storage import queue_ops
from stormproof.storage.base import (
    AcquireSlots,
    ChangeVisibility,
    CompareAndSet,
    Delete,
    DeleteState,
    Enqueue,
    EntryStatus,
    ExtendSlots,
    Operation,
    OpResult,
    QueueCounts,
    ReleaseSlots,
    StateRecord,
    StoredQueue,
)
from stormproof.storage.program import Dialect, Program, Row, Stmt

_BUILTIN = (
    Enqueue,
    Delete,
    ChangeVisibility,
    CompareAndSet,
    DeleteState,
    AcquireSlots,
    ExtendSlots,
    ReleaseSlots,
)


def apply(d: Dialect, ops: Sequence[Operation], atomic: bool) -> Program[list[OpResult]]:
    """Run every operation; in an atomic unit a stale lease raises (rolling all back)."""
    results: list[OpResult] = []
    for index, op in enumerate(ops):
        result = yield from _one(d, op)
        if atomic and _stale(op, result):
            raise StaleLease(f"operation {index} ({type(op).__name__}) holds a stale lease", index)
        results.append(result)
    return results


def _stale(op: Operation, result: OpResult) -> bool:
    if isinstance(op, AcquireSlots | ReleaseSlots | Enqueue):
        return False
    if isinstance(op, _BUILTIN):
        return not result.ok
    return op.is_stale(result)


def _one(d: Dialect, op: Operation) -> Program[OpResult]:
    if isinstance(op, Enqueue):
        return (yield from queue_ops.enqueue(d, op))
    if isinstance(op, Delete):
        return (yield from queue_ops.delete(d, op))
    if isinstance(op, ChangeVisibility):
        return (yield from queue_ops.change_visibility(d, op))
    if isinstance(op, CompareAndSet):
        return (yield from compare_and_set(op))
    if isinstance(op, DeleteState):
        rows = yield Stmt("state_delete", {"key": op.key, "expected": op.expected_version})
        return OpResult([EntryStatus.OK if rows else EntryStatus.STALE])
    if isinstance(op, AcquireSlots | ExtendSlots | ReleaseSlots):
        return (yield from _slots(op))
    return (yield from op.program(d))


def compare_and_set(op: CompareAndSet) -> Program[OpResult]:
    """Insert (expected None) or update at the expected version; else report it stale."""
    if op.expected_version is None:
        rows = yield Stmt("cas_insert", {"key": op.key, "value": op.value})
    else:
        rows = yield Stmt(
            "cas_update", {"key": op.key, "value": op.value, "expected": op.expected_version}
        )
    if not rows:
        return OpResult([EntryStatus.STALE])
    return OpResult([EntryStatus.OK], [int(rows[0][0])])


def _slots(op: AcquireSlots | ExtendSlots | ReleaseSlots) -> Program[OpResult]:
    if isinstance(op, AcquireSlots):
        return (yield from acquire_slots(op))
    if isinstance(op, ExtendSlots):
        rows = yield Stmt(
            "slots_extend",
            {"name": op.name, "holder": op.holder, "slots": list(op.slots), "ttl": op.ttl},
        )
        kept = {r[0] for r in rows}
        return OpResult(
            [EntryStatus.OK if s in kept else EntryStatus.STALE for s in op.slots], sorted(kept)
        )
    yield Stmt("slots_release", {"name": op.name, "holder": op.holder, "slots": list(op.slots)})
    return OpResult([EntryStatus.OK] * len(op.slots))


def acquire_slots(op: AcquireSlots) -> Program[OpResult]:
    """Grant up to ``count`` free (or expired) slots below ``limit``; rows are made lazily."""
    params = {
        "name": op.name,
        "limit": op.limit,
        "holder": op.holder,
        "count": op.count,
        "ttl": op.ttl,
    }
    if op.count <= 0 or op.limit <= 0:
        return OpResult([], [])
    rows = yield Stmt("slots_acquire", params)
    if len(rows) < op.count:
        yield Stmt("slots_ensure", {"name": op.name, "limit": op.limit})
        more = yield Stmt("slots_acquire", {**params, "count": op.count - len(rows)})
        rows = [*rows, *more]
    granted = sorted(int(r[0]) for r in rows)
    return OpResult([EntryStatus.OK] * len(granted), list(granted))


# --- single-purpose programs --------------------------------------------------------


def _queue(row: Row) -> StoredQueue:
    return StoredQueue(row[0], QueueAttributes.from_json(row[1]), row[2], row[3])


def put_queue(name: str, attrs: QueueAttributes) -> Program[StoredQueue]:
    """Create or replace a queue row."""
    rows = yield Stmt("queue_put", {"name": name, "attributes": attrs.to_json()})
    return _queue(rows[0])


def get_queue(name: str) -> Program[StoredQueue | None]:
    """A queue row, or None."""
    rows = yield Stmt("queue_get", {"name": name})
    return _queue(rows[0]) if rows else None


def list_queues() -> Program[list[StoredQueue]]:
    """Every queue row, by name."""
    rows = yield Stmt("queue_list")
    return [_queue(r) for r in rows]


def delete_queue(name: str) -> Program[bool]:
    """Drop a queue with its messages, de-duplication ids and groups."""
    rows = yield Stmt("queue_delete", {"name": name})
    yield from purge(name)
    return bool(rows)


def purge(queue: str) -> Program[int]:
    """Remove every message of a queue (and its FIFO bookkeeping)."""
    rows = yield Stmt("purge", {"queue": queue})
    yield Stmt("dedup_purge", {"queue": queue})
    yield Stmt("groups_purge", {"queue": queue})
    return int(rows[0][0])


def counts(queue: str) -> Program[QueueCounts]:
    """Visible, in-flight and delayed counts, the oldest enqueue time and the store's now."""
    rows = yield Stmt("counts", {"queue": queue})
    visible, in_flight, delayed, oldest, now = rows[0]
    return QueueCounts(int(visible), int(in_flight), int(delayed), oldest, float(now))


def expire(queue: str, retention: float) -> Program[int]:
    """Delete expired messages and de-duplication ids, and empty FIFO groups."""
    rows = yield Stmt("expire", {"queue": queue, "retention": retention})
    yield Stmt("dedup_expire", {"queue": queue})
    yield Stmt("groups_expire", {"queue": queue})
    return int(rows[0][0])


def next_visible_in(queue: str) -> Program[float | None]:
    """Seconds until the earliest hidden message becomes visible, if any."""
    rows = yield Stmt("next_visible", {"queue": queue})
    return None if rows[0][0] is None else float(rows[0][0])


def slots_in_use() -> Program[dict[str, int]]:
    """Leased, unexpired slots per slot pool."""
    rows = yield Stmt("slots_in_use")
    return {str(r[0]): int(r[1]) for r in rows}


def now() -> Program[float]:
    """The store's clock."""
    rows = yield Stmt("now")
    return float(rows[0][0])


def _record(row: Row) -> StateRecord:
    return StateRecord(row[0], int(row[1]), row[2], float(row[3]))


def get_state(key: str) -> Program[StateRecord | None]:
    """One state record."""
    rows = yield Stmt("state_get", {"key": key})
    return _record(rows[0]) if rows else None


def list_states(prefix: str) -> Program[list[StateRecord]]:
    """State records under a key prefix."""
    rows = yield Stmt("state_list", {"lo": prefix, "hi": prefix + "\U0010ffff"})
    return [_record(r) for r in rows]
