"""Queue operations as programs (see :mod:`stormproof.storage.program`)."""

from __future__ import annotations

import dataclasses
import json
import logging
import secrets
from collections.abc import Sequence
from typing import Any

from stormproof.core import trace_context
from stormproof.core.queue_rules import MAX_VISIBILITY, QueueAttributes
from stormproof.storage.base import (
    ChangeVisibility,
    ClaimedRow,
    Delete,
    Enqueue,
    EntryStatus,
    MoveResult,
    OpResult,
)
from stormproof.storage.message_ids import new_message_ids
from stormproof.storage.program import Dialect, Notify, Program, Row, Stmt

# Bounded so a queue full of over-received messages cannot hold the writer for long.
_MAX_CLAIM_ROUNDS = 8
ORIGINAL_ID_ATTRIBUTE = "stormproof.OriginalMessageId"
log = logging.getLogger("stormproof.queues")

# Column positions of the rows the queries return (sql/<dialect>/queries.sql); claimed
# rows are named by turning them into ClaimedRow at once.
# fifo_ready_groups: (group_id,); next_visible and queue_size: one value.
_FIRST = 0
# dedup_lookup: (dedup_id, message_id)
_DEDUP_ID, _DEDUP_MESSAGE_ID = 0, 1
# fifo_group_head(s): (id, group_id, inflight, ready)
_HEAD_ID, _HEAD_GROUP, _HEAD_INFLIGHT, _HEAD_READY = 0, 1, 2, 3
# delete_leased: (id,); lease_rows: (id, receipt, inflight, held)
_LEASE_ID, _LEASE_RECEIPT, _LEASE_INFLIGHT, _LEASE_HELD = 0, 1, 2, 3
# redrive_select: (id, source_queue, group_id, attributes, message_id)
_MOVE_ID, _MOVE_SOURCE, _MOVE_GROUP, _MOVE_ATTRIBUTES, _MOVE_MESSAGE_ID = 0, 1, 2, 3, 4
# queues_named: (name, attributes)
_QUEUE_NAME, _QUEUE_ATTRIBUTES = 0, 1


def enqueue(d: Dialect, op: Enqueue) -> Program[OpResult]:
    """Insert messages; FIFO de-duplication returns the original message id."""
    ids = list(op.ids)
    seen: dict[str, str] = {}
    dedup_ids = [m.dedup_id for m in op.messages if m.dedup_id]
    if dedup_ids:
        rows = yield Stmt("dedup_lookup", {"queue": op.queue, "dedup_ids": dedup_ids})
        seen = {r[_DEDUP_ID]: r[_DEDUP_MESSAGE_ID] for r in rows}
    inserts: list[dict[str, Any]] = []
    dedup_rows: list[dict[str, Any]] = []
    for i, m in enumerate(op.messages):
        if m.dedup_id is not None:
            if m.dedup_id in seen:
                ids[i] = seen[m.dedup_id]
                continue
            seen[m.dedup_id] = ids[i]
            dedup_rows.append(
                {
                    "queue": op.queue,
                    "dedup_id": m.dedup_id,
                    "message_id": ids[i],
                    "window": op.dedup_window,
                }
            )
        inserts.append(
            {
                "queue": op.queue,
                "message_id": ids[i],
                "body": m.body,
                "attributes": trace_context.stamp(m.attributes, op.trace),
                "group_id": m.group_id,
                "dedup_id": m.dedup_id,
                "delay": m.delay,
            }
        )
    if dedup_rows:
        yield Stmt("dedup_insert", dedup_rows, many=True)
    if inserts:
        groups = sorted({p["group_id"] for p in inserts if p["group_id"] is not None})
        if op.fifo and groups:
            yield Stmt(
                "group_insert", [{"queue": op.queue, "group_id": g} for g in groups], many=True
            )
        yield Stmt("enqueue", inserts, many=True)
        # Delayed messages wake receivers too: they re-plan their nap around the new delay.
        yield Notify(op.queue, len(inserts))
    return OpResult([EntryStatus.OK] * len(ids), list(ids))


def _to_claimed(row: Row, token: str) -> ClaimedRow:
    return ClaimedRow(
        rowid=row[0],
        message_id=row[1],
        body=row[2],
        attributes=row[3],
        group_id=row[4],
        dedup_id=row[5],
        sent_at=row[6],
        first_received_at=row[7],
        receive_count=row[8],
        token=token,
    )


def claim(
    d: Dialect,
    queue: str,
    attrs: QueueAttributes,
    max_messages: int,
    vt: float,
    moved: list[ClaimedRow] | None = None,
) -> Program[list[ClaimedRow]]:
    """Lease visible messages; those received more than ``max_receive_count`` go to the DLQ
    (and, when ``moved`` is given, are appended to it)."""
    token = secrets.token_hex(8)
    out: list[ClaimedRow] = []
    for _ in range(_MAX_CLAIM_ROUNDS):
        want = max_messages - len(out)
        params = {"queue": queue, "n": want, "vt": vt, "token": token, "retention": attrs.retention}
        if attrs.fifo:
            raw = yield from _claim_fifo(d, params)
        else:
            raw = yield Stmt("claim_standard", params)
        rows = [_to_claimed(r, token) for r in raw]
        limit = attrs.max_receive_count if attrs.dead_letter else None
        over = [r for r in rows if limit is not None and r.receive_count > limit]
        out.extend(r for r in rows if not (limit is not None and r.receive_count > limit))
        if over and not (yield Stmt("queue_get", {"name": attrs.dead_letter})):
            # Moving rows under a queue that does not exist would hide them from every view:
            # they stay (and are delivered) in their own queue until the DLQ exists again.
            log.warning(
                "event=queue.dlq_missing queue=%s dlq=%s messages=%d kept in the source queue",
                queue,
                attrs.dead_letter,
                len(over),
            )
            out.extend(over)
            over = []
        if over:
            if moved is not None:
                moved.extend(dataclasses.replace(r, token="") for r in over)
            yield Stmt(
                "move_to_dlq",
                {
                    "queue": queue,
                    "dlq": attrs.dead_letter,
                    "ids": [r.rowid for r in over],
                    "reset": attrs.fifo,
                },
            )
            if attrs.fifo:
                groups = sorted({r.group_id for r in over if r.group_id is not None})
                yield Stmt(
                    "group_insert",
                    [{"queue": attrs.dead_letter, "group_id": g} for g in groups],
                    many=True,
                )
            yield Notify(str(attrs.dead_letter), len(over))
        if not over or len(out) >= max_messages:
            break
    out.sort(key=lambda r: r.rowid)
    return out


def receive(
    d: Dialect,
    queue: str,
    attrs: QueueAttributes,
    max_messages: int,
    vt: float,
    moved: list[ClaimedRow] | None = None,
) -> Program[tuple[list[ClaimedRow], float | None]]:
    """Claim; when nothing is visible, also say in how many seconds something will be."""
    rows = yield from claim(d, queue, attrs, max_messages, vt, moved)
    if rows:
        return rows, None
    soonest = yield Stmt("next_visible", {"queue": queue})
    seconds = soonest[0][_FIRST]
    return rows, None if seconds is None else float(seconds)


def _claim_fifo(d: Dialect, params: dict[str, Any]) -> Program[list[Row]]:
    ready = yield Stmt("fifo_ready_groups", {"queue": params["queue"], "n": params["n"]})
    groups = [r[_FIRST] for r in ready]
    if not groups:
        return []
    heads: list[Row] = []
    base = {"queue": params["queue"], "n": params["n"], "retention": params["retention"]}
    if d.lateral:
        heads = yield Stmt("fifo_group_heads", {**base, "groups": groups})
    else:
        for group in groups:
            heads.extend((yield Stmt("fifo_group_head", {**base, "group_id": group})))
    ids = select_fifo(heads, params["n"])
    if not ids:
        return []
    rows = yield Stmt("claim_ids", {**params, "ids": ids})
    return rows


def select_fifo(heads: Sequence[Row], limit: int) -> list[int]:
    """Pick message ids from group heads ``(id, group, inflight, ready)`` in id order.

    A group with a message in flight gives nothing; otherwise its ready messages are taken
    as a prefix (stopping at the first one not yet visible), so order within a group holds.
    """
    by_group: dict[str, list[Row]] = {}
    for row in sorted(heads, key=lambda r: r[_HEAD_ID]):
        by_group.setdefault(row[_HEAD_GROUP], []).append(row)
    picked: list[int] = []
    for rows in by_group.values():
        if any(r[_HEAD_INFLIGHT] for r in rows):
            continue
        for row in rows:
            if not row[_HEAD_READY]:
                break
            picked.append(row[_HEAD_ID])
    return sorted(picked)[:limit]


def delete(d: Dialect, op: Delete) -> Program[OpResult]:
    """Delete by lease; a stale lease (received again since) deletes nothing."""
    leases = list(op.leases)
    rows = yield Stmt(
        "delete_leased",
        {
            "queue": op.queue,
            "ids": [ls.rowid for ls in leases],
            "keys": [f"{ls.rowid}:{ls.token}" for ls in leases],
        },
    )
    deleted = {r[_LEASE_ID] for r in rows}
    missing = [ls.rowid for ls in leases if ls.rowid not in deleted]
    present: set[int] = set()
    if missing:
        rows = yield Stmt("lease_rows", {"queue": op.queue, "ids": missing})
        present = {r[_LEASE_ID] for r in rows}
    statuses = [
        EntryStatus.OK
        if ls.rowid in deleted
        else EntryStatus.STALE
        if ls.rowid in present
        else EntryStatus.GONE
        for ls in leases
    ]
    return OpResult(statuses)


def change_visibility(d: Dialect, op: ChangeVisibility) -> Program[OpResult]:
    """Make each leased message visible ``timeout`` seconds from now, if still in flight."""
    ids = [ls.rowid for ls in op.leases]
    rows = yield Stmt("lease_rows", {"queue": op.queue, "ids": ids})
    found = {r[_LEASE_ID]: r for r in rows}
    statuses: list[EntryStatus] = []
    updates: list[dict[str, Any]] = []
    for lease, timeout in zip(op.leases, op.timeouts, strict=True):
        row = found.get(lease.rowid)
        if row is None:
            statuses.append(EntryStatus.GONE)
        elif row[_LEASE_RECEIPT] != lease.token:
            statuses.append(EntryStatus.STALE)
        elif not row[_LEASE_INFLIGHT]:
            statuses.append(EntryStatus.NOT_IN_FLIGHT)
        elif row[_LEASE_HELD] + timeout > MAX_VISIBILITY:
            statuses.append(EntryStatus.TOO_LONG)
        else:
            statuses.append(EntryStatus.OK)
            updates.append({"id": lease.rowid, "token": lease.token, "timeout": timeout})
    if updates:
        yield Stmt("set_visibility", updates, many=True)
        released = sum(1 for u in updates if u["timeout"] == 0)
        if released:
            yield Notify(op.queue, released)
    return OpResult(statuses)


def move_messages(
    d: Dialect,
    source: str,
    destination: str | None,
    limit: int,
    ids: Sequence[str] | None = None,
) -> Program[MoveResult]:
    """Move DLQ messages back to their source queue (or ``destination``), starting fresh;
    only those with the message ids ``ids`` when given (in flight ones stay)."""
    params: dict[str, Any] = {"queue": source, "n": limit, "anywhere": destination is not None}
    if ids is None:
        rows = yield Stmt("redrive_select", params)
    else:
        rows = yield Stmt("redrive_select_ids", {**params, "ids": list(ids)})
    targets = {destination} if destination else {r[_MOVE_SOURCE] for r in rows if r[_MOVE_SOURCE]}
    known = yield Stmt("queues_named", {"names": sorted(targets)})
    fifo = {r[_QUEUE_NAME]: QueueAttributes.from_json(r[_QUEUE_ATTRIBUTES]).fifo for r in known}
    moves: list[dict[str, Any]] = []
    for row in rows:
        dest = destination or row[_MOVE_SOURCE]
        if dest not in fifo:
            continue
        attrs = json.loads(row[_MOVE_ATTRIBUTES]) if row[_MOVE_ATTRIBUTES] else {}
        attrs[ORIGINAL_ID_ATTRIBUTE] = ["String", row[_MOVE_MESSAGE_ID]]
        moves.append(
            {
                "id": row[_MOVE_ID],
                "dest": dest,
                "new_id": new_message_ids(1)[0],
                "attributes": json.dumps(attrs, separators=(",", ":")),
                "group_id": row[_MOVE_GROUP],
            }
        )
    if moves:
        yield Stmt(
            "redrive_move",
            [{k: v for k, v in m.items() if k != "group_id"} for m in moves],
            many=True,
        )
        groups = [
            {"queue": m["dest"], "group_id": m["group_id"]}
            for m in moves
            if fifo[m["dest"]] and m["group_id"] is not None
        ]
        if groups:
            yield Stmt("group_insert", groups, many=True)
        for dest in sorted({m["dest"] for m in moves}):
            yield Notify(dest, sum(1 for m in moves if m["dest"] == dest))
    left = yield Stmt("queue_size", {"queue": source})
    stranded = len(rows) - len(moves)
    return MoveResult(moved=len(moves), remaining=int(left[0][_FIRST]), unmovable=stranded)
