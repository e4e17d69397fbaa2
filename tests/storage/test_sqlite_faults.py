"""A SQLite store under faults: full disk, immutable file, corrupt pages, a dead writer.

Each fault must give a clear ``StoreError`` naming its cause within seconds, never a
hang; calls fail fast while the cause lasts and succeed again once it is removed; what
was accepted stays, and the file's ``integrity_check`` stays ``ok``.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stormproof import App
from stormproof.errors import StoreError
from stormproof.storage import sqlite as sqlite_store
from stormproof.storage.program import Program
from stormproof.storage.sqlite import SqliteStore
from tests.support.faults import fill, small_tmpfs

QUICK = 5.0  # seconds within which a fault must surface as an error


def _integrity(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def _count(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM messages").fetchone()[0])


async def _fails_fast(coro: Any, cause: str) -> StoreError:
    started = time.monotonic()
    with pytest.raises(StoreError) as info:
        await asyncio.wait_for(coro, timeout=QUICK)
    assert time.monotonic() - started < QUICK
    assert info.value.cause == cause, info.value
    assert cause in str(info.value)
    return info.value


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 3 MiB tmpfs (needs root); the test is skipped loudly where it cannot be mounted."""
    with small_tmpfs(tmp_path) as mnt:
        yield mnt


async def test_full_disk_fails_fast_and_recovers(tmpfs: Path) -> None:
    db = tmpfs / "s.db"
    app = App("full", f"sqlite:///{db}")
    q = app.queue("work")
    accepted = []
    async with app:
        for i in range(5):
            accepted.append(await q.send(f"before {i}"))
        filler = fill(tmpfs)
        # The WAL may still have room: keep writing until the disk really is full.
        for _ in range(200):
            try:
                accepted.append(await asyncio.wait_for(q.send("x" * 60_000), QUICK))
            except StoreError as exc:
                assert exc.cause == "disk full", exc
                break
        else:
            pytest.fail("the store never ran out of space")
        for _ in range(3):  # while the disk is full, every call fails fast
            await _fails_fast(q.send("x" * 60_000), "disk full")
        filler.unlink()
        accepted.append(await asyncio.wait_for(q.send("after"), QUICK))  # recovers by itself
        assert (await asyncio.wait_for(q.stats(), QUICK)).visible == len(accepted)
    assert _integrity(db) == "ok"
    assert _count(db) == len(accepted)


@pytest.fixture
def immutable(tmp_path: Path) -> Iterator[list[Path]]:
    """Files made immutable with chattr +i (undone afterwards); skipped loudly if unsupported."""
    made: list[Path] = []
    probe = tmp_path / "probe"
    probe.touch()
    cmd = ["chattr", "+i", str(probe)]
    done = subprocess.run(cmd, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"!!! chattr +i unsupported here ({done.stderr.strip()}): test SKIPPED")
    subprocess.run(["chattr", "-i", str(probe)], check=True)
    try:
        yield made
    finally:
        for path in made:
            subprocess.run(["chattr", "-i", str(path)], check=False)


async def test_immutable_file_fails_fast_and_recovers(
    tmp_path: Path, immutable: list[Path]
) -> None:
    db = tmp_path / "s.db"
    app = App("ro", f"sqlite:///{db}")
    q = app.queue("work")
    async with app:
        first = await q.send("before")
        files = [db, Path(f"{db}-wal")]
        for path in files:
            subprocess.run(["chattr", "+i", str(path)], check=True)
            immutable.append(path)
        for _ in range(3):
            await _fails_fast(q.send("while read-only"), "read-only")
        for path in files:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        second = await asyncio.wait_for(q.send("after"), QUICK)
        got = await asyncio.wait_for(q.receive(max_messages=10), QUICK)
        assert {m.message_id for m in got} == {first, second}
    assert _integrity(db) == "ok"


async def test_corrupt_page_is_a_clear_error(tmp_path: Path) -> None:
    original = tmp_path / "s.db"
    app = App("c", f"sqlite:///{original}")
    q = app.queue("work")
    async with app:
        for i in range(300):
            await q.send(f"{i:04d} " + "y" * 1000)
    copy = tmp_path / "copy.db"
    shutil.copy(original, copy)
    with copy.open("r+b") as f:  # garbage over pages 3..40 of the copy
        f.seek(3 * 4096)
        f.write(bytes(range(256)) * 16 * 38)
    bad = App("c", f"sqlite:///{copy}")
    bq = bad.queue("work")

    async def use() -> None:
        async with bad:
            for _ in range(40):
                await bq.receive(max_messages=10)
            await bq.stats()

    await _fails_fast(use(), "corrupt")
    assert _integrity(original) == "ok"


def _boom() -> Program[None]:
    raise SystemExit("a bug inside the writer thread")


async def test_dead_writer_thread_is_reported_and_replaced(tmp_path: Path) -> None:
    store = SqliteStore(f"sqlite:///{tmp_path}/s.db")
    await store.open()
    try:
        started = time.monotonic()
        with pytest.raises(StoreError, match="died"):
            await asyncio.wait_for(store.run(_boom), QUICK)
        assert time.monotonic() - started < 3
        assert await asyncio.wait_for(store.now(), QUICK) > 0  # a new writer took over
    finally:
        await store.close()


async def test_calls_and_close_have_deadlines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_store, "SHUTDOWN_TIMEOUT", 1.0)
    db = tmp_path / "s.db"
    store = SqliteStore(f"sqlite:///{db}?deadline=1")
    await store.open()
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another connection holds the write lock
    try:
        await _fails_fast(store.now(), "timeout")
        started = time.monotonic()
        pending = asyncio.ensure_future(store.now())
        await asyncio.sleep(0.05)
        await asyncio.wait_for(store.close(), 3)
        assert time.monotonic() - started < 2.5
        with pytest.raises(StoreError):
            await asyncio.wait_for(pending, 1)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert _integrity(db) == "ok"
