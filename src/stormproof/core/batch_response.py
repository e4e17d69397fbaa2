"""What an SQS event-source mapping does with a finished batch, decided in pure code.

Lambda's rules (spec §2.2, "Partial batch response"), for a mapping with
``report_batch_item_failures=True``; the handler's return value is the response:

========================================================  =====================
Response                                                  Treated as
========================================================  =====================
``None``                                                  complete success
``{}`` (or a dict without ``batchItemFailures``)          complete success
``{"batchItemFailures": []}``                             complete success
``{"batchItemFailures": None}``                           complete success
``{"batchItemFailures": [{"itemIdentifier": id}, ...]}``  only those ids return
========================================================  =====================

========================================================  =====================
Response                                                  Treated as
========================================================  =====================
the handler raised (or timed out)                         complete failure
not a dict (a list, a string, a number, ...)              complete failure
``batchItemFailures`` not a list                          complete failure
an item that is not a dict                                complete failure
an item without the key ``itemIdentifier`` (wrong key)    complete failure
``itemIdentifier`` empty or ``None`` (or not a string)    complete failure
``itemIdentifier`` not a message id of the batch          complete failure
========================================================  =====================

Without ``report_batch_item_failures`` the response is ignored: a handler that returns
succeeds for the whole batch.

FIFO: when message *k* of a message group fails, the later messages of that group in the
batch are returned too, so nothing of the group runs before the failed one is retried.

Messages that "return" are not deleted: they become visible again when their lease runs
out (the queue's visibility timeout), and their receive count grows on the next receive.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

BATCH_ITEM_FAILURES: Final = "batchItemFailures"
ITEM_IDENTIFIER: Final = "itemIdentifier"


@dataclass(frozen=True)
class BatchItem:
    """What the decision needs to know of one message: its id and its FIFO group."""

    message_id: str
    group_id: str | None = None


@dataclass(frozen=True)
class InvalidResponse:
    """The response is malformed: the whole batch failed. ``reason`` says why."""

    reason: str


@dataclass(frozen=True)
class BatchDecision:
    """Which messages to delete and which return to the queue (both in batch order).

    ``outcome`` is ``success``, ``partial`` or ``failure``; ``reason`` explains a failure.
    """

    delete: tuple[str, ...]
    retry: tuple[str, ...]
    outcome: str
    reason: str = ""


def parse_response(response: Any, batch_ids: Sequence[str]) -> frozenset[str] | InvalidResponse:
    """The ids a partial batch response reports as failed, or why it is invalid."""
    if response is None:
        return frozenset()
    if not isinstance(response, Mapping):
        return InvalidResponse(f"the response is a {type(response).__name__}, not an object")
    items = response.get(BATCH_ITEM_FAILURES)
    if items is None:
        return frozenset()
    if not isinstance(items, list | tuple):
        return InvalidResponse(f"{BATCH_ITEM_FAILURES} is a {type(items).__name__}, not a list")
    known = set(batch_ids)
    failed: set[str] = set()
    for item in items:
        problem = _item_problem(item, known)
        if problem:
            return InvalidResponse(problem)
        failed.add(item[ITEM_IDENTIFIER])
    return frozenset(failed)


def _item_problem(item: Any, known: set[str]) -> str | None:
    if not isinstance(item, Mapping):
        return f"an item of {BATCH_ITEM_FAILURES} is a {type(item).__name__}, not an object"
    if ITEM_IDENTIFIER not in item:
        return f"an item has no {ITEM_IDENTIFIER} (keys: {sorted(map(str, item))})"
    ident = item[ITEM_IDENTIFIER]
    if ident is None or ident == "":
        return f"an item has an empty or null {ITEM_IDENTIFIER}"
    if not isinstance(ident, str) or ident not in known:
        return f"{ITEM_IDENTIFIER} {ident!r} is not a message id of the batch"
    return None


def fifo_returns(items: Sequence[BatchItem], failed: frozenset[str]) -> frozenset[str]:
    """Add to ``failed`` every later message of a group in which a message failed."""
    blocked: set[str] = set()
    out = set(failed)
    for item in items:
        if item.group_id is None:
            continue
        if item.group_id in blocked:
            out.add(item.message_id)
        elif item.message_id in failed:
            blocked.add(item.group_id)
    return frozenset(out)


def decide_batch(
    items: Sequence[BatchItem],
    *,
    raised: bool,
    response: Any = None,
    report_batch_item_failures: bool = False,
    fifo: bool = False,
) -> BatchDecision:
    """Decide the fate of each message of a finished batch (rules in the module docstring).

    ``raised`` is True when the handler raised or timed out; ``response`` is its return value.
    """
    ids = tuple(i.message_id for i in items)
    if raised:
        return BatchDecision((), ids, "failure", "the function failed")
    if not report_batch_item_failures:
        return BatchDecision(ids, (), "success")
    parsed = parse_response(response, ids)
    if isinstance(parsed, InvalidResponse):
        return BatchDecision((), ids, "failure", f"invalid batch response: {parsed.reason}")
    failed = fifo_returns(items, parsed) if fifo else parsed
    if not failed:
        return BatchDecision(ids, (), "success")
    delete = tuple(i for i in ids if i not in failed)
    retry = tuple(i for i in ids if i in failed)
    if not delete:
        return BatchDecision((), retry, "failure", "every message was reported failed")
    return BatchDecision(delete, retry, "partial")
