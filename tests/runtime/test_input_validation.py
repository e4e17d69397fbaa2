"""Issue 12 items 4 and 5 at the API: every validated name refuses a trailing newline,
reserved prefixes, NaN/Infinity, self-DLQs, depth limits, and inputs that used to end in a
non-stormproof exception."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from stormproof import App, machines
from stormproof.bus.targets import Target
from stormproof.core import json_limits
from stormproof.errors import (
    BatchRequestInvalid,
    InvalidAttribute,
    InvalidDefinition,
    InvalidPattern,
    NestingTooDeep,
)
from stormproof.patterns import compile as compile_pattern
from stormproof.testing import FakeClock

NL = "\n"


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def nested_dict(depth: int) -> Any:
    value: Any = ["x"]
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.fixture
async def app(store_url: str) -> AsyncIterator[App]:
    app = App("t", store_url, clock=FakeClock())
    app.queue("q")
    app.queue("f.fifo")

    @app.function
    def work(event: Any, context: Any) -> None:
        return None

    async with app:
        yield app


# --- item 4: names match as a whole ------------------------------------------------


def test_a_queue_name_with_a_trailing_newline_is_refused(tmp_path: Path) -> None:
    app = App("t", f"sqlite:///{tmp_path}/s.db")
    with pytest.raises(InvalidAttribute) as info:
        app.queue("orders" + NL)
    assert info.value.field == "name"
    with pytest.raises(InvalidAttribute):
        app.queue("orders.fifo" + NL)


def test_redrive_allow_source_names_are_validated_like_queue_names(tmp_path: Path) -> None:
    app = App("t", f"sqlite:///{tmp_path}/s.db")
    with pytest.raises(InvalidAttribute) as info:
        app.queue("dlq", redrive_allow=["orders" + NL])
    assert (info.value.field, info.value.value) == ("redrive_allow", "orders" + NL)
    app.queue("dlq", redrive_allow=["orders"])


@pytest.mark.parametrize(
    "declare",
    [
        lambda app: app.bus("b" + NL),
        lambda app: app.bus().rule("r" + NL, pattern={"source": ["s"]}),
        lambda app: app.bus().archive("a" + NL),
        lambda app: app.state_machine(
            "m" + NL, {"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}
        ),
        lambda app: app.function(name="f" + NL)(lambda e, c: None),
        lambda app: Target(app.queue("q"), id="t" + NL),
    ],
    ids=["bus", "rule", "archive", "machine", "function", "target-id"],
)
def test_other_names_with_a_trailing_newline_are_refused(tmp_path: Path, declare: Any) -> None:
    app = App("t", f"sqlite:///{tmp_path}/s.db")
    with pytest.raises(InvalidAttribute) as info:
        declare(app)
    assert info.value.value.endswith(NL)


async def test_attribute_names_group_dedup_and_entry_ids_refuse_a_newline(app: App) -> None:
    q, fifo = await app.get_queue("q"), await app.get_queue("f.fifo")
    with pytest.raises(InvalidAttribute, match="attributes"):
        await q.send("x", attributes={"a" + NL: "v"})
    with pytest.raises(InvalidAttribute) as group:
        await fifo.send("x", group_id="g" + NL, dedup_id="d")
    assert group.value.field == "group_id"
    with pytest.raises(InvalidAttribute) as dedup:
        await fifo.send("x", group_id="g", dedup_id="d" + NL)
    assert dedup.value.field == "dedup_id"
    with pytest.raises(BatchRequestInvalid) as batch:
        await q.send_batch([{"id": "e" + NL, "body": "x"}])
    assert batch.value.code == "InvalidBatchEntryId"


# --- item 4: reserved prefixes -----------------------------------------------------


@pytest.mark.parametrize("name", ["_fn-work", "_bus-default", "_sfn-steps"])
def test_user_queues_may_not_take_a_reserved_prefix(tmp_path: Path, name: str) -> None:
    app = App("t", f"sqlite:///{tmp_path}/s.db")
    with pytest.raises(InvalidAttribute, match="reserved") as info:
        app.queue(name, visibility_timeout=0, retention=60)
    assert info.value.field == "name"


async def test_the_runtime_still_creates_its_internal_queues(app: App) -> None:
    bus = app.bus("default")
    bus.rule("r", pattern={"source": ["s"]}, targets=[Target(app.functions.get("work"))])
    await bus.put_events([{"source": "s", "detail_type": "t", "detail": {}}])
    queues = set(await app.list_queues())
    assert {"_fn-work", "_bus-default"} <= queues
    with pytest.raises(InvalidAttribute, match="reserved"):
        await app.create_queue("_fn-work", visibility_timeout=0)
    with pytest.raises(InvalidAttribute, match="reserved"):
        await app.update_queue("_fn-work", visibility_timeout=0)
    assert app.attributes_of("_fn-work").visibility_timeout > 0


def test_buses_rules_and_mappings_may_not_take_a_reserved_prefix(tmp_path: Path) -> None:
    app = App("t", f"sqlite:///{tmp_path}/s.db")
    with pytest.raises(InvalidAttribute, match="reserved"):
        app.bus("_bus-x")
    with pytest.raises(InvalidAttribute, match="reserved"):
        app.bus().rule("_sfn-x", pattern={"source": ["s"]})

    @app.function
    def steal(event: Any, context: Any) -> None:
        return None

    with pytest.raises(InvalidAttribute, match="reserved"):
        app.consume("_fn-steal", steal)


# --- item 4: NaN, Infinity and self-DLQs ---------------------------------------------


@pytest.mark.parametrize("body", [{"x": float("nan")}, [float("inf")], -float("inf")])
async def test_bodies_with_nan_or_infinity_are_refused(app: App, body: Any) -> None:
    with pytest.raises(InvalidAttribute) as info:
        await (await app.get_queue("q")).send(body)
    assert info.value.field == "body"


async def test_numbers_that_are_not_finite_are_refused_in_attributes(app: App) -> None:
    with pytest.raises(InvalidAttribute, match="finite"):
        await (await app.get_queue("q")).send("x", attributes={"n": float("nan")})


async def test_async_invocation_events_and_execution_input_refuse_nan(app: App) -> None:
    with pytest.raises(InvalidAttribute) as event:
        await app.functions.get("work").invoke_async({"x": float("nan")})
    assert event.value.field == "event"


async def test_execution_input_refuses_nan_and_depth(store_url: str) -> None:
    app = App("t", store_url, clock=FakeClock())
    app.state_machine("m", {"StartAt": "A", "States": {"A": {"Type": "Succeed"}}})
    async with app:
        with pytest.raises(InvalidAttribute) as info:
            await app.start_execution("m", {"x": float("inf")})
        assert info.value.field == "input"
        with pytest.raises(NestingTooDeep):
            await app.start_execution("m", nested(5000))


def test_a_queue_cannot_be_its_own_dead_letter_queue(tmp_path: Path) -> None:
    app = App("t", f"sqlite:///{tmp_path}/s.db")
    with pytest.raises(InvalidAttribute, match="its own DLQ") as info:
        app.queue("orders", dead_letter="orders")
    assert info.value.field == "dead_letter"


async def test_update_queue_cannot_make_a_queue_its_own_dlq(app: App) -> None:
    with pytest.raises(InvalidAttribute, match="its own DLQ"):
        await app.update_queue("q", dead_letter="q")


# --- item 5: depth limits and other inputs that ended in tracebacks ------------------


async def test_a_body_nested_5000_deep_is_refused(app: App) -> None:
    with pytest.raises(NestingTooDeep) as info:
        await (await app.get_queue("q")).send(nested(5000))
    assert (info.value.field, info.value.limit) == ("body", json_limits.MAX_DEPTH)


def test_a_pattern_nested_1500_deep_is_refused() -> None:
    with pytest.raises(InvalidPattern, match="nested more than 64"):
        compile_pattern(nested_dict(1500))
    with pytest.raises(InvalidPattern):
        compile_pattern('{"a":' + "[" * 3000 + "]" * 3000 + "}")


def test_asl_text_with_3000_nested_arrays_is_refused() -> None:
    text = '{"StartAt":"A","States":{"A":{"Type":"Pass","Result":' + "[" * 3000
    text += "]" * 3000 + ',"End":true}}}'
    with pytest.raises(InvalidDefinition, match="nests more than 64"):
        machines.validate(text)
    deep = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": nested(5000), "End": True}}}
    with pytest.raises(InvalidDefinition, match="nests more than 64 levels"):
        machines.validate(deep)


@pytest.mark.parametrize("definition", ["a\x00b", b"\xff\xfe{", "/nonexistent/def.json"])
def test_unreadable_definitions_are_invalid_definitions(definition: Any) -> None:
    with pytest.raises(InvalidDefinition):
        machines.validate(definition)


def test_a_definition_file_that_is_not_utf8_is_an_invalid_definition(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(b'{"StartAt": "\xff"}')
    with pytest.raises(InvalidDefinition, match="cannot read"):
        machines.validate(path)


@pytest.mark.parametrize("time", [1e20, -1e20, float("nan"), float("inf")])
async def test_put_events_with_a_time_out_of_range_fails_that_entry(app: App, time: float) -> None:
    entries = [
        {"source": "s", "detail_type": "t", "detail": {}, "time": time},
        {"source": "s", "detail_type": "t", "detail": {}},
    ]
    result = await app.bus().put_events(entries)
    assert result.entries[0].error_code == "InvalidArgument"
    assert "Time" in (result.entries[0].error_message or "")
    assert result.entries[1].event_id is not None


async def test_put_events_with_resources_not_a_list_fails_that_entry(app: App) -> None:
    entry = {"source": "s", "detail_type": "t", "detail": {}, "resources": 5}
    result = await app.bus().put_events([entry])
    assert result.entries[0].error_code == "InvalidArgument"
