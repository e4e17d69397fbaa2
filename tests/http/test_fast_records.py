"""The front door's hand-built texts equal the generic encoders' (issue 13's CPU budget):
the request record's JSON, a queue route's message, the coalesced send's message ids."""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import pytest

from stormproof import App
from stormproof.core import queue_rules
from stormproof.errors import InvalidMessageContents, MessageTooLarge, StaleLease
from stormproof.gateway.batcher import UnitBatcher, coalesce
from stormproof.gateway.work import _message, target_json
from stormproof.storage.base import CompareAndSet, Enqueue
from stormproof.storage.pg_pipeline import unit_mode
from stormproof.storage.request_ops import ATTRIBUTE, RequestRecord, is_request_id, new_request_id

TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.mark.parametrize(
    ("route", "now", "target", "callback", "trace"),
    [
        ("/orders", 1764806400.123456, {"kind": "queue", "name": "orders"}, None, None),
        ("/b\u00fcchungen", 12, {"kind": "function", "name": "f"}, 'https://x.test/h?a="1"', TRACE),
        (
            "/m",
            0.1,
            {"kind": "machine", "name": "m", "execution_arn": "arn:stormproof:m:\u00e9"},
            "http://h/\u2603",
            None,
        ),
    ],
)
def test_accepted_json_is_the_records_to_json(
    route: str, now: float, target: dict[str, Any], callback: str | None, trace: str | None
) -> None:
    request_id = new_request_id()
    record = RequestRecord(request_id, route, "accepted", now, now, target)
    record.callback_url, record.trace = callback, trace
    built = RequestRecord.accepted_json(
        request_id, json.dumps(route), now, target_json(target), callback, trace
    )
    assert built == record.to_json()
    assert RequestRecord.from_json(built) == record


def test_request_ids_are_distinct_and_well_formed() -> None:
    ids = [new_request_id() for _ in range(2000)]  # several refills of the pool
    assert len(set(ids)) == len(ids)
    assert all(is_request_id(i) and int(i[4:], 16) >= 0 for i in ids)


def test_a_forked_child_draws_ids_of_its_own() -> None:
    new_request_id()  # the pool now holds ids the child must not hand out
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report one id, then leave without running pytest's exit
        os.write(write, new_request_id().encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = os.read(read, 100).decode()
    os.close(read)
    assert is_request_id(child)
    parents = {new_request_id() for _ in range(300)}  # the rest of the pool, and more
    assert child not in parents


@pytest.mark.parametrize("body", ['{"item":"book","qty":1}', '"\u00e9t\u00e9"', "[]"])
def test_a_queue_routes_message_is_prepare_messages(body: str) -> None:
    attrs = queue_rules.QueueAttributes(delay=3)
    request_id = new_request_id()
    expected = queue_rules.prepare_message(attrs, body, None, {ATTRIBUTE: request_id})
    assert _message(attrs, body, request_id) == expected


def test_a_queue_routes_message_keeps_the_checks() -> None:
    attrs = queue_rules.QueueAttributes(max_message_size=1024)
    with pytest.raises(MessageTooLarge):
        _message(attrs, '"' + "x" * 1024 + '"', new_request_id())
    with pytest.raises(InvalidMessageContents):
        _message(attrs, '"\x01"', new_request_id())
    fifo = queue_rules.QueueAttributes(fifo=True, content_based_deduplication=True)
    request_id = new_request_id()
    message = _message(fifo, "{}", request_id)
    assert message.group_id == message.dedup_id == request_id


def test_a_coalesced_send_keeps_each_requests_message_id() -> None:
    msg = queue_rules.prepare_message(queue_rules.QueueAttributes(), "{}")
    units = [[CompareAndSet(f"k{i}", None, "v"), Enqueue("q", [msg])] for i in range(3)]
    merged = coalesce(units)
    sends = [op for op in merged if isinstance(op, Enqueue)]
    assert len(sends) == 1
    assert sends[0].ids == tuple(u[1].ids[0] for u in units)  # type: ignore[union-attr]


def test_a_front_door_group_is_one_batched_unit_on_postgresql() -> None:
    msg = queue_rules.prepare_message(queue_rules.QueueAttributes(), "{}")
    group = coalesce([[CompareAndSet(f"k{i}", None, "v"), Enqueue("q", [msg])] for i in range(8)])
    assert unit_mode(group, atomic=True) == "batched"  # BEGIN + both inserts, then COMMIT


async def test_a_taken_key_rolls_the_group_back_and_its_units_go_alone(store_url: str) -> None:
    app = App("fast", store_url)
    app.queue("q")
    async with app:
        attrs = app.attributes_of("q")
        await app.store.apply([CompareAndSet("k3", None, "first")])
        msg = queue_rules.prepare_message(attrs, "{}")
        units = [[CompareAndSet(f"k{i}", None, "v"), Enqueue("q", [msg])] for i in range(8)]
        batcher = UnitBatcher(lambda: app.store)
        outcomes = await asyncio.gather(*(batcher.apply(u) for u in units), return_exceptions=True)
        assert [type(o) for o in outcomes].count(StaleLease) == 1
        assert isinstance(outcomes[3], StaleLease)
        assert (await app.store.get_state("k3")).value == "first"  # type: ignore[union-attr]
        assert len(await app.store.claim("q", attrs, 10, 30.0)) == 7  # nothing of unit 3
