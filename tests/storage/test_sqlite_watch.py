"""Another process's commit wakes an idle SQLite receiver through the WAL watch, not the
20 ms ``data_version`` poll: with the poll slowed to a minute, a message sent by a real
subprocess still reaches a waiting receiver (the wait's own cap is 5 s)."""

from __future__ import annotations

import asyncio
import sys
import textwrap
import threading
from asyncio.subprocess import PIPE
from pathlib import Path

import pytest

from stormproof import App
from stormproof.storage import sqlite_watch, sqlite_writer

pytestmark = pytest.mark.skipif(
    sqlite_watch._inotify() is None, reason="inotify is Linux-only (polling elsewhere)"
)

SEND = textwrap.dedent(
    """
    import asyncio, sys
    from stormproof import App

    async def main() -> None:
        app = App("watch", sys.argv[1])
        orders = app.queue("orders")
        async with app:
            print("ready", flush=True)
            sys.stdin.readline()  # sent when the receiver waits: start-up is not timed
            await orders.send("from another process")

    asyncio.run(main())
    """
)


async def test_another_process_commit_wakes_a_waiting_receiver(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_writer, "_IDLE_POLL", 60.0)
    url = f"sqlite:///{tmp_path}/watch.db"
    app = App("watch", url)
    orders = app.queue("orders")
    async with app:
        await orders.send("warm-up")
        assert [m.body for m in await orders.receive(max_messages=1)] == ["warm-up"]
        loop = asyncio.get_running_loop()
        sender = await asyncio.create_subprocess_exec(
            sys.executable, "-c", SEND, url, stdin=PIPE, stdout=PIPE
        )
        assert sender.stdin is not None and sender.stdout is not None
        assert await asyncio.wait_for(sender.stdout.readline(), 60) == b"ready\n"
        # The sender's own start-up commits wake the first wait: absorb that one.
        await app.store.wait(["orders"], timeout=1)
        waiting = loop.create_task(app.store.wait(["orders"], timeout=30))
        await asyncio.sleep(0.2)  # the receiver is waiting, the writer idle
        began = loop.time()
        sender.stdin.write(b"go\n")
        await asyncio.wait_for(waiting, 10)
        # The wait's cap is 5 s and the poll a minute: only the watch wakes it sooner.
        assert loop.time() - began < 2.5
        assert await asyncio.wait_for(sender.wait(), 60) == 0
        got = await orders.receive(max_messages=1)
        assert [m.body for m in got] == ["from another process"]


def test_no_watch_where_the_folder_is_missing(tmp_path: Path) -> None:
    watch = sqlite_watch.WalWatch(str(tmp_path / "gone" / "x.db"), lambda: None)
    assert watch.start() is False
    watch.stop()  # a watch that never started stops at once


def test_a_write_to_the_wal_is_noticed_and_the_watch_stops(tmp_path: Path) -> None:
    noticed = threading.Event()
    watch = sqlite_watch.WalWatch(str(tmp_path / "x.db"), noticed.set)
    assert watch.start() is True
    thread = watch._thread
    (tmp_path / "other.txt").write_bytes(b"not the WAL")
    (tmp_path / "x.db-wal").write_bytes(b"frame")
    assert noticed.wait(10)
    watch.stop()
    assert thread is not None and not thread.is_alive()
