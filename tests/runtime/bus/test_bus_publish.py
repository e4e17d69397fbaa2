"""Publishing on both stores: PutEvents validation, the envelope, fan-out, atomicity."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stormproof import App, Target
from stormproof.bus.events import ACCOUNT, REGION
from stormproof.errors import InvalidAttribute, InvalidPattern
from stormproof.testing import FakeClock

ENTRY = {"source": "shop", "detail_type": "order", "detail": {"total": 250}}


def _app(store_url: str) -> App:
    app = App("bus-test", store_url, clock=FakeClock(), consume=True)
    app.buses.background = False
    return app


async def test_put_events_fans_out_to_queue_targets_with_the_aws_envelope(store_url: str) -> None:
    app = _app(store_url)
    big, every = app.queue("big"), app.queue("every")
    bus = app.bus("default")
    bus.rule("big", pattern={"detail": {"total": [{"numeric": [">", 100]}]}}, targets=[Target(big)])
    bus.rule("every", pattern={"source": ["shop"]}, targets=[Target(every, input_path="$.detail")])
    async with app:
        result = await bus.put_events(
            [
                ENTRY,
                {
                    **ENTRY,
                    "detail": {"total": 5},
                    "resources": ["r1"],
                    "time": "2024-01-01T12:00:00Z",
                },
            ]
        )
        assert result.failed_entry_count == 0
        got = [json.loads(m.body) for m in await big.receive(10)]
        assert len(got) == 1
        event = got[0]
        assert set(event) == {
            "version",
            "id",
            "detail-type",
            "source",
            "account",
            "time",
            "region",
            "resources",
            "detail",
        }
        assert event["id"] == result.entries[0].event_id
        assert (event["account"], event["region"], event["version"]) == (ACCOUNT, REGION, "0")
        assert event["detail-type"] == "order" and event["detail"] == {"total": 250}
        details = sorted(json.loads(m.body)["total"] for m in await every.receive(10))
        assert details == [5, 250]


async def test_per_entry_errors_and_whole_request_errors(store_url: str) -> None:
    app = _app(store_url)
    q = app.queue("q")
    bus = app.bus("default")
    bus.rule("all", pattern={"source": [{"prefix": ""}]}, targets=[Target(q)])
    async with app:
        result = await bus.put_events(
            [
                ENTRY,
                {"source": "shop", "detail": {}},
                {**ENTRY, "detail": "[1]"},
                {**ENTRY, "source": "aws.s3"},
            ]
        )
        codes = [e.error_code for e in result.entries]
        assert codes == [
            None,
            "InvalidArgument",
            "MalformedDetail",
            "NotAuthorizedForSourceException",
        ]
        assert result.failed_entry_count == 3
        assert "DetailType" in str(result.entries[1].error_message)
        for bad in (
            [],
            [ENTRY] * 11,
            [{**ENTRY, "detail": {"x": "a" * 300_000}}],
            [{"source": "shop"}],
        ):
            with pytest.raises(InvalidAttribute) as info:
                await bus.put_events(bad)
            assert info.value.field == "entries"
        assert (await q.stats()).total == 1  # nothing stored for the rejected requests


async def test_function_target_is_an_async_invocation_in_the_same_transaction(
    store_url: str,
) -> None:
    app = _app(store_url)

    @app.function
    def handler(event: Any, context: Any) -> None:
        return None

    bus = app.bus("default")
    bus.rule("fn", pattern={"source": ["shop"]}, targets=[Target(handler, input_path="$.detail")])
    async with app:
        await bus.put_events([ENTRY])
        internal = await app.get_queue(handler.queue_name)
        [msg] = await internal.receive(10)
        assert json.loads(msg.body)["event"] == {"total": 250}


def test_definitions_are_validated_when_made(tmp_path: Any) -> None:
    app = App("defs", f"sqlite:///{tmp_path}/x.db", consume=True)
    q, fifo = app.queue("q"), app.queue("f.fifo")
    bus = app.bus("default")
    cases: list[tuple[Any, str]] = [
        (lambda: Target(q, max_retry_attempts=186), "max_retry_attempts"),
        (lambda: Target(q, max_event_age=59), "max_event_age"),
        (lambda: Target(q, dead_letter=fifo), "dead_letter"),
        (lambda: Target(fifo), "destination"),
        (lambda: Target(object()), "destination"),
        (lambda: Target(q, input="{not json"), "input"),
        (lambda: Target(q, input="1", input_path="$.a"), "input_path"),
        (lambda: Target(bus, input_path="$.detail"), "input"),
        (lambda: bus.rule("r", pattern={"a": ["b"]}, targets=[Target(q)] * 6), "targets"),
        (lambda: bus.rule("bad name!", pattern={"a": ["b"]}), "name"),
        (lambda: bus.rule("r"), "pattern"),
        (lambda: bus.rule("r", schedule="rate(5 minute)"), "schedule"),
        (lambda: app.http_target("ftp://x"), "url"),
        (lambda: app.http_target("http://x", rate=301), "rate"),
        (lambda: app.http_target("http://x", method="TRACE"), "method"),
        (lambda: app.http_target("http://x", headers={"A": "b\r\nc"}), "headers"),
        (lambda: app.bus("no.dots"), "name"),
        (lambda: bus.archive("a", retention=10), "retention"),
    ]
    for make, field in cases:
        with pytest.raises(InvalidAttribute) as info:
            make()
        assert info.value.field == field, (field, info.value)
    with pytest.raises(InvalidPattern):
        bus.rule("r", pattern={"a": [{"numeric": ["<", "x"]}]})
    assert bus.rules == {}


async def test_a_destination_that_cannot_take_the_message_is_dead_lettered_at_once(
    store_url: str,
) -> None:
    app = _app(store_url)
    tiny, dlq = app.queue("tiny", max_message_size=1024), app.queue("dlq")
    bus = app.bus("default")
    bus.rule("r", pattern={"source": ["shop"]}, targets=[Target(tiny, dead_letter=dlq)])
    async with app:
        await bus.put_events([{**ENTRY, "detail": {"blob": "x" * 2000}}])
        assert (await tiny.stats()).total == 0
        [msg] = await dlq.receive(1)
        assert msg.attributes["ERROR_CODE"] == "NO_RESOURCE"
        assert msg.attributes["RETRY_ATTEMPTS"] == "0"
        assert msg.attributes["RULE_ARN"] == "stormproof:events:rule/default/r"


async def test_archive_and_catalog_are_written_with_the_event(store_url: str) -> None:
    app = _app(store_url)
    q = app.queue("q")
    bus = app.bus("default")
    bus.rule("r", pattern={"source": ["shop"]}, targets=[Target(q)])
    bus.archive("shop-only", pattern={"source": ["shop"]})
    bus.archive("everything")
    async with app:
        await bus.put_events([ENTRY, {**ENTRY, "source": "bank"}])
        assert dict(await app.buses.archive_stats()).keys() == {"shop-only", "everything"}
        stats = await app.buses.archive_stats()
        assert stats["shop-only"][0] == 1 and stats["everything"][0] == 2
        [spec] = await app.buses.catalog()
        assert spec["name"] == "default" and spec["rules"][0]["targets"][0]["kind"] == "queue"
    # Another process without the code publishes through the stored catalog.
    other = _app(store_url)
    async with other:
        loaded = await other.buses.get("default")
        assert not loaded.declared
        await loaded.put_events([ENTRY])
        assert (await (await other.get_queue("q")).stats()).total == 2


@pytest.mark.parametrize("template", ['"<name"', '{"n": "<name "}', "<aws.events.rule-name"])
def test_an_unclosed_placeholder_is_refused_when_the_target_is_defined(
    tmp_path: Any, template: str
) -> None:
    app = App("unclosed", f"sqlite:///{tmp_path}/x.db")
    q = app.queue("q")
    spec = {"InputPathsMap": {"name": "$.detail.name"}, "InputTemplate": template}
    with pytest.raises(InvalidAttribute) as info:
        Target(q, input_transformer=spec)
    assert info.value.field == "input_template" and template in str(info.value)
    assert Target(q, input_transformer={**spec, "InputTemplate": '"<name>"'}).input_transformer
