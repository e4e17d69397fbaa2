"""Property: arbitrary JSON-ish values and strings given to the public validation entry
points raise only StormproofError subclasses (issue 12 item 5), never a bare Python error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stormproof import App, machines
from stormproof.errors import StormproofError
from stormproof.patterns import compile as compile_pattern

SETTINGS = settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
scalars = (
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.binary(max_size=8)
)
values = st.recursive(
    scalars,
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
    max_leaves=20,
)


def _nest(depth: int) -> Any:
    value: Any = 0
    for _ in range(depth):
        value = {"a": value} if depth % 2 else [value]
    return value


deep = st.integers(60, 3000).map(_nest)
anything = values | deep | st.text()


def only_stormproof(call: Any) -> None:
    try:
        call()
    except StormproofError:
        pass


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    path: Path = tmp_path_factory.mktemp("props") / "s.db"
    app = App("props", f"sqlite:///{path}")
    app.queue("q")
    app.queue("f.fifo", content_based_deduplication=True)
    app.bus("default")
    app.run_sync(app.list_queues())  # opens the app on its loop thread
    yield app
    app.close_sync()


@SETTINGS
@given(
    name=anything,
    options=st.dictionaries(
        st.sampled_from(
            [
                "visibility_timeout",
                "delay",
                "retention",
                "dead_letter",
                "redrive_allow",
                "max_receive_count",
                "fifo",
                "content_based_deduplication",
                "dedup_window",
                "max_message_size",
                "receive_wait",
            ]
        ),
        anything,
        max_size=3,
    ),
)
def test_queue_declarations(tmp_path: Path, name: Any, options: dict[str, Any]) -> None:
    app = App("t", f"sqlite:///{tmp_path}/never-opened.db")
    only_stormproof(lambda: app.queue(name, **options))


@SETTINGS
@given(bus=anything, rule=anything, pattern=anything, schedule=anything)
def test_bus_and_rule_declarations(
    tmp_path: Path, bus: Any, rule: Any, pattern: Any, schedule: Any
) -> None:
    app = App("t", f"sqlite:///{tmp_path}/never-opened.db")
    only_stormproof(lambda: app.bus(bus))
    only_stormproof(lambda: app.bus().rule(rule, pattern=pattern))
    only_stormproof(lambda: app.bus().rule("r", schedule=schedule))
    only_stormproof(lambda: app.bus().archive(rule, pattern=pattern, retention=schedule))


@SETTINGS
@given(body=anything, delay=anything, attributes=anything, group=anything, dedup=anything)
def test_send(app: App, body: Any, delay: Any, attributes: Any, group: Any, dedup: Any) -> None:
    q = app.run_sync(app.get_queue("q"))
    fifo = app.run_sync(app.get_queue("f.fifo"))
    only_stormproof(lambda: q.send_sync(body, delay=delay, attributes=attributes))
    only_stormproof(lambda: fifo.send_sync(body, group_id=group, dedup_id=dedup))
    only_stormproof(lambda: app.run_sync(q.send_batch([{"id": group, "body": body}])))


@SETTINGS
@given(
    entries=anything,
    entry=st.fixed_dictionaries(
        {},
        optional={
            "source": anything,
            "detail_type": anything,
            "detail": anything,
            "resources": anything,
            "time": anything,
        },
    ),
)
def test_put_events(app: App, entries: Any, entry: dict[str, Any]) -> None:
    bus = app.bus("default")
    only_stormproof(lambda: bus.put_events_sync(entries))
    only_stormproof(lambda: bus.put_events_sync([entry]))


@SETTINGS
@given(pattern=anything | st.text().map(lambda t: '{"a":' + t))
def test_pattern_compile(pattern: Any) -> None:
    only_stormproof(lambda: compile_pattern(pattern))


@SETTINGS
@given(definition=anything | st.binary() | st.text().map(lambda t: '{"StartAt":' + t))
def test_asl_validate(definition: Any) -> None:
    only_stormproof(lambda: machines.validate(definition))
