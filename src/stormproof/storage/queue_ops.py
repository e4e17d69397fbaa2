"""Queue operations as programs (see :mod:`stormproof.storage.program`)."""

from __future__ import annotations

import json
import logging
import os
import secrets
from collections.abc import Sequence
from typing import Any

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
from stormproof.storage.program import Dialect, Notify, Program, Row, Stmt

# Bounded so a queue full of over-received messages cannot hold the writer for long.
_MAX_CLAIM_ROUNDS = 8
ORIGINAL_ID_ATTRIBUTE = "stormproof.OriginalMessageId"
log = logging.getLogger("stormproof.queues")


def new_message_ids(count: int) -> list[str]:
    """Random (version 4) UUIDs, from one read of the OS's random source."""
    h = os.urandom(16 * count).hex()
    return [
        f"{h[i : i + 8]}-{h[i + 8 : i + 12]}-4{h[i + 13 : i + 16]}-"
        f"{'89ab'[int(h[i + 16], 16) & 3]}{h[i + 17 : i + 20]}-{h[i + 20 : i + 32]}"
        for i in range(0, 32 * count, 32)
    ]


def enqueue(d: Dialect, op: Enqueue) -> Program[OpResult]:
    """Insert messages; FIFO de-duplication returns the original message id."""
    ids = new_message_ids(len(op.messages))
    seen: dict[str, str] = {}
    dedup_ids = [m.dedup_id for m in op.messages if m.dedup_id]
    if dedup_ids:
        rows = yield Stmt("dedup_lookup", {"queue": op.queue, "dedup_ids": dedup_ids})
        seen = {r[0]: r[1] for r in rows}
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
                "attributes": m.attributes,
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
    d: Dialect, queue: str, attrs: QueueAttributes, max_messages: int, vt: float
) -> Program[list[ClaimedRow]]:
    """Lease visible messages; those received more than ``max_receive_count`` go to the DLQ."""
    token = secrets.token_hex(8)
    out: list[Row] = []
    for _ in range(_MAX_CLAIM_ROUNDS):
        want = max_messages - len(out)
        params = {"queue": queue, "n": want, "vt": vt, "token": token, "retention": attrs.retention}
        if attrs.fifo:
            rows = yield from _claim_fifo(d, params)
        else:
            rows = yield Stmt("claim_standard", params)
        over = [r for r in rows if attrs.dead_letter and r[8] > attrs.max_receive_count]
        out.extend(r for r in rows if not (attrs.dead_letter and r[8] > attrs.max_receive_count))
        if over and not (yield Stmt("queue_get", {"name": attrs.dead_letter})):
            # Moving rows under a queue that does not exist would hide them from every view:
            # they stay (and are delivered) in their own queue until the DLQ exists again.
            log.warning(
                "event=queue.dlq_missing queue=%s dlq=%s messages=%d kept in the source queue",
                queue, attrs.dead_letter, len(over),
            )  # fmt: skip
            out.extend(over)
            over = []
        if over:
            yield Stmt(
                "move_to_dlq",
                {
                    "queue": queue,
                    "dlq": attrs.dead_letter,
                    "ids": [r[0] for r in over],
                    "reset": attrs.fifo,
                },
            )
            if attrs.fifo:
                groups = sorted({r[4] for r in over})
                yield Stmt(
                    "group_insert",
                    [{"queue": attrs.dead_letter, "group_id": g} for g in groups],
                    many=True,
                )
            yield Notify(str(attrs.dead_letter), len(over))
        if not over or len(out) >= max_messages:
            break
    out.sort(key=lambda r: r[0])
    return [_to_claimed(r, token) for r in out]


def receive(
    d: Dialect, queue: str, attrs: QueueAttributes, max_messages: int, vt: float
) -> Program[tuple[list[ClaimedRow], float | None]]:
    """Claim; when nothing is visible, also say in how many seconds something will be."""
    rows = yield from claim(d, queue, attrs, max_messages, vt)
    if rows:
        return rows, None
    soonest = yield Stmt("next_visible", {"queue": queue})
    return rows, None if soonest[0][0] is None else float(soonest[0][0])


def _claim_fifo(d: Dialect, params: dict[str, Any]) -> Program[list[Row]]:
    ready = yield Stmt("fifo_ready_groups", {"queue": params["queue"], "n": params["n"]})
    groups = [r[0] for r in ready]
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
    for row in sorted(heads, key=lambda r: r[0]):
        by_group.setdefault(row[1], []).append(row)
    picked: list[int] = []
    for rows in by_group.values():
        if any(r[2] for r in rows):
            continue
        for row in rows:
            if not row[3]:
                break
            picked.append(row[0])
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
    deleted = {r[0] for r in rows}
    missing = [ls.rowid for ls in leases if ls.rowid not in deleted]
    present: set[int] = set()
    if missing:
        rows = yield Stmt("lease_rows", {"queue": op.queue, "ids": missing})
        present = {r[0] for r in rows}
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
    found = {r[0]: r for r in rows}
    statuses: list[EntryStatus] = []
    updates: list[dict[str, Any]] = []
    for lease, timeout in zip(op.leases, op.timeouts, strict=True):
        row = found.get(lease.rowid)
        if row is None:
            statuses.append(EntryStatus.GONE)
        elif row[1] != lease.token:
            statuses.append(EntryStatus.STALE)
        elif not row[2]:
            statuses.append(EntryStatus.NOT_IN_FLIGHT)
        elif row[3] + timeout > MAX_VISIBILITY:
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
    d: Dialect, source: str, destination: str | None, limit: int
) -> Program[MoveResult]:
    """Move DLQ messages back to their source queue (or ``destination``), starting fresh."""
    rows = yield Stmt(
        "redrive_select", {"queue": source, "n": limit, "anywhere": destination is not None}
    )
    targets = {destination} if destination else {r[1] for r in rows if r[1]}
    known = yield Stmt("queues_named", {"names": sorted(targets)})
    fifo = {r[0]: QueueAttributes.from_json(r[1]).fifo for r in known}
    moves: list[dict[str, Any]] = []
    for row in rows:
        dest = destination or row[1]
        if dest not in fifo:
            continue
        attrs = json.loads(row[3]) if row[3] else {}
        attrs[ORIGINAL_ID_ATTRIBUTE] = ["String", row[4]]
        moves.append(
            {
                "id": row[0],
                "dest": dest,
                "new_id": new_message_ids(1)[0],
                "attributes": json.dumps(attrs, separators=(",", ":")),
                "group_id": row[2],
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
    return MoveResult(moved=len(moves), remaining=int(left[0][0]), unmovable=stranded)
