"""A queue still in use cannot be deleted, and a DLQ move never orphans a message (issue 11
item 4), on both stores."""

from __future__ import annotations

import logging
import subprocess
import sys
from typing import Any

import pytest

from stormproof import App
from stormproof.bus.targets import Target
from stormproof.errors import QueueDoesNotExist, QueueInUse
from stormproof.testing import FakeClock


async def test_deleting_a_live_dlq_is_refused_naming_its_sources(store_url: str) -> None:
    app = App("t", store_url, clock=FakeClock())
    app.queue("orders-dlq")
    app.queue("orders", dead_letter="orders-dlq", max_receive_count=1)
    app.queue("refunds", dead_letter="orders-dlq", max_receive_count=1)
    async with app:
        with pytest.raises(QueueInUse) as err:
            await app.delete_queue("orders-dlq")
        assert err.value.name == "orders-dlq"
        assert "'orders'" in str(err.value) and "'refunds'" in str(err.value)
        assert "orders-dlq" in await app.list_queues()
        with pytest.raises(QueueDoesNotExist):
            await app.delete_queue("nothing-here")


async def test_force_detaches_the_sources_first(store_url: str) -> None:
    app = App("t", store_url, clock=FakeClock())
    app.queue("orders-dlq")
    orders = app.queue("orders", dead_letter="orders-dlq", max_receive_count=1)
    async with app:
        await app.delete_queue("orders-dlq", force=True)
        assert "orders-dlq" not in await app.list_queues()
        assert (await app.get_queue("orders")).attributes.dead_letter is None
        await orders.send("kept")
        for _ in range(3):  # past max_receive_count: nowhere to go, so it stays
            got = await orders.receive(visibility_timeout=0)
            assert [m.body for m in got] == ["kept"]


async def test_dlq_move_to_a_missing_queue_keeps_the_message(
    store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = App("t", store_url, clock=FakeClock())
    app.queue("orders-dlq")
    orders = app.queue("orders", dead_letter="orders-dlq", max_receive_count=1)
    async with app:
        await orders.send("precious")
        assert len(await orders.receive(visibility_timeout=0)) == 1
        # Gone behind the registry's back (another process, an older version).
        assert await app.store.delete_queue("orders-dlq")
        with caplog.at_level(logging.WARNING, logger="stormproof.queues"):
            got = await orders.receive(visibility_timeout=0)
        assert [m.body for m in got] == ["precious"]
        assert "event=queue.dlq_missing" in caplog.text and "orders-dlq" in caplog.text
        assert (await app.store.counts("orders-dlq")).visible == 0
        assert (await orders.stats()).visible + (await orders.stats()).in_flight == 1


async def test_a_queue_a_mapping_destination_or_bus_target_uses_is_refused(
    store_url: str,
) -> None:
    app = App("t", store_url, clock=FakeClock())
    jobs = app.queue("jobs")
    done = app.queue("done")
    events = app.queue("events")
    target_dlq = app.queue("target-dlq")

    @app.function(on_success=done)
    async def work(event: Any, context: Any) -> None:
        return None

    app.consume(jobs, work)
    app.bus("default").rule(
        "all", pattern={"source": ["x"]}, targets=[Target(events, dead_letter=target_dlq)]
    )
    async with app:
        for name, use in [
            ("jobs", "mapping to function 'work'"),
            ("done", "on_success destination of function 'work'"),
            ("events", "target of rule 'all'"),
            ("target-dlq", "dead-letter queue of a target of rule 'all'"),
        ]:
            with pytest.raises(QueueInUse, match=use):
                await app.delete_queue(name)


def test_cli_delete_queue_refuses_then_forces(store_url: str) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "stormproof", "--store", store_url, "queues", *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)

    assert cli("create", "orders-dlq").returncode == 0
    made = cli("create", "orders", "--dead-letter", "orders-dlq")
    assert made.returncode == 0, made.stderr
    refused = cli("delete-queue", "orders-dlq")
    assert refused.returncode != 0
    assert "dead-letter queue of 'orders'" in refused.stderr, refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    forced = cli("delete-queue", "orders-dlq", "--force")
    assert forced.returncode == 0, forced.stderr
