"""Several receiving processes on one store: exclusivity, FIFO order, SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from stormproof import App

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def _spawn(url: str, queue: str, idle: float, vt: float, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.acceptance.procs.receiver",
            url,
            queue,
            str(idle),
            str(vt),
            *extra,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def _records(proc: subprocess.Popen[str], timeout: float = 90) -> list[dict[str, object]]:
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out[-2000:]
    return [r for r in map(json.loads, out.splitlines()) if "id" in r]


async def test_no_message_goes_to_two_receivers(store_url: str) -> None:
    app = App("t", store_url)
    q = app.queue("work", visibility_timeout=120)
    async with app:
        for start in range(0, 1500, 10):
            await q.send_batch([{"id": str(i), "body": str(i)} for i in range(start, start + 10)])
        procs = [_spawn(store_url, "work", 1.5, 120, "--no-delete") for _ in range(4)]
        seen = [r["id"] for p in procs for r in _records(p)]
        assert len(seen) == 1500
        assert len(set(seen)) == 1500, "a message was handed to two receivers in its lease"
        assert (await q.stats()).in_flight == 1500


async def test_fifo_groups_stay_ordered_across_processes(store_url: str) -> None:
    app = App("t", store_url)
    q = app.queue("work.fifo", visibility_timeout=120)
    groups, per_group = 12, 25
    async with app:
        for seq in range(per_group):
            await q.send_batch(
                [
                    {
                        "id": f"g{g}",
                        "body": f"{g}:{seq}",
                        "group_id": f"g{g}",
                        "dedup_id": f"{g}-{seq}",
                    }
                    for g in range(10)
                ]
            )
            await q.send_batch(
                [
                    {
                        "id": f"g{g}",
                        "body": f"{g}:{seq}",
                        "group_id": f"g{g}",
                        "dedup_id": f"{g}-{seq}",
                    }
                    for g in range(10, groups)
                ]
            )
        procs = [_spawn(store_url, "work.fifo", 1.5, 120) for _ in range(4)]
        records = [r for p in procs for r in _records(p)]
    assert len(records) == groups * per_group
    by_group: dict[str, list[tuple[float, int]]] = {}
    for r in records:
        g, seq = str(r["body"]).split(":")
        by_group.setdefault(g, []).append((float(r["t"]), int(seq)))  # type: ignore[arg-type]
    for g, items in by_group.items():
        seqs = [s for _, s in sorted(items)]
        assert seqs == list(range(per_group)), f"group {g} out of order: {seqs}"


async def test_killed_receiver_only_delays_its_messages(store_url: str) -> None:
    app = App("t", store_url)
    q = app.queue("work", visibility_timeout=2)
    async with app:
        for i in range(5):
            await q.send(f"m{i}")
        proc = _spawn(store_url, "work", 30, 2, "--no-delete")
        assert proc.stdout is not None
        taken = []
        while len(taken) < 5:
            line = json.loads(proc.stdout.readline())
            if "id" in line:
                taken.append(line["id"])
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        assert await q.receive(max_messages=10) == []
        back = await q.receive(max_messages=10, wait=10)
        back += await q.receive(max_messages=10, wait=1)
        assert sorted(m.message_id for m in back) == sorted(taken)
        assert all(m.receive_count == 2 for m in back)


SENDER = (
    "import asyncio, sys\n"
    "from stormproof import App\n"
    "async def main():\n"
    "    app = App('sender', sys.argv[1])\n"
    "    async with app:\n"
    "        await (await app.get_queue('work')).send('from another process')\n"
    "asyncio.run(main())\n"
)


async def test_long_poll_wakes_on_another_process_send(store_url: str) -> None:
    import asyncio
    import time

    app = App("t", store_url)
    q = app.queue("work")
    async with app:
        waiter = asyncio.create_task(q.receive(wait=20))
        await asyncio.sleep(0.2)
        started = time.monotonic()
        sender = await asyncio.create_subprocess_exec(sys.executable, "-c", SENDER, store_url)
        assert await sender.wait() == 0
        msgs = await asyncio.wait_for(waiter, timeout=15)
        assert [m.body for m in msgs] == ["from another process"]
        # Woken by the other process's commit, far before the 20 s long-poll ends.
        assert time.monotonic() - started < 10


def test_send_sync_outside_asyncio(store_url: str) -> None:
    app = App("t", store_url)
    q = app.queue("work")
    try:
        mid = q.send_sync({"from": "a thread without a loop"})
        assert app.run_sync(q.receive())[0].message_id == mid
    finally:
        app.close_sync()


def test_bus_and_function_sync_producers(store_url: str) -> None:
    from stormproof import Target

    app = App("t", store_url)
    sink = app.queue("sink")
    app.bus("default").rule("all", pattern={"source": ["shop"]}, targets=[Target(sink)])

    @app.function()
    def echo(event: object, context: object) -> object:
        return event

    try:
        result = app.bus("default").put_events_sync(
            [{"source": "shop", "detail_type": "t", "detail": {"a": 1}}]
        )
        assert result.failed_entry_count == 0
        assert echo.invoke_async_sync({"x": 1})
        assert len(app.run_sync(sink.receive(wait=5))) == 1
    finally:
        app.close_sync()
