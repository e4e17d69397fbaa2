"""SIGKILL storms against transaction functions (issue 19): exactly-once effects.

A flight has 100 seats and 150 booking executions run on two workers, which are killed
with SIGKILL at random moments (before, inside and after the transactions) and restarted.
Every booking's seat decrement commits in the step's own transaction, so at the end
exactly 100 bookings hold, 50 failed with ``NoSeatsLeft`` and were compensated once each,
and the seat count is 0 (a CHECK constraint keeps it from ever going below).
"""

from __future__ import annotations

import asyncio
import random
import signal
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from stormproof import App
from tests.acceptance.worker_procs import read_lines, spawn_worker, stop_gracefully

APP = "tests.acceptance.apps_transactions.booking_app:app"
INBOX_APP = "tests.acceptance.apps_transactions.inbox_app:app"
MESSAGES = 400
SEATS, BOOKINGS, KILLS = 100, 150, 12
WARMUP = 1.0  # seconds a respawned worker needs to import and open its app
START_GAP = 0.04  # seconds between starts: the 150 starts take about 6 s


def driver(url: str) -> App:
    """An app that reads the user's tables (it declares no machine: it runs no steps)."""
    app = App("driver", url)

    @app.transaction(name="tables")
    def tables(db: Any, event: Any) -> Any:
        return {
            "seats": db.execute("SELECT seats FROM flights WHERE id = 'F1'").fetchone()[0],
            "bookings": [r[0] for r in db.execute("SELECT booking FROM bookings")],
            "refunds": [r[0] for r in db.execute("SELECT booking FROM refunds")],
        }

    return app


async def _start_all(url: str) -> list[str]:
    async with App("starter", url) as app:
        deadline = time.monotonic() + 60
        while True:  # the worker stores the machine when it opens its app
            try:
                first = await app.start_execution("Book", _input(0), name="b0")
                break
            except LookupError:
                assert time.monotonic() < deadline, "the worker never stored the machine"
                await asyncio.sleep(0.1)
        rest = []
        for i in range(1, BOOKINGS):
            rest.append(await app.start_execution("Book", _input(i), name=f"b{i}"))
            # Paced, so the storm outlasts the work: a step runs its transaction in its own
            # unit, and 150 bookings started at once could all close before three kills.
            await asyncio.sleep(START_GAP)
        return [first, *rest]


def _input(i: int) -> dict[str, Any]:
    return {"flight_id": "F1", "booking": f"b{i}"}


async def _statuses(url: str, arns: list[str]) -> list[tuple[str, str | None]]:
    async with App("reader", url) as app:
        infos = [await app.describe_execution(arn) for arn in arns]
        return [(i.status, i.error) for i in infos]


async def _tables(url: str) -> dict[str, Any]:
    app = driver(url)
    async with app:
        result: dict[str, Any] = await app.functions.transactions.by_name["tables"].invoke()
        return result


def _storm(url: str, tmp_path: Path, workers: list[subprocess.Popen[bytes]]) -> list[str]:
    """Start the bookings from a thread while a random worker is killed every few tenths
    of a second, until every execution closed (or ``KILLS`` kills landed while some ran);
    the execution ARNs."""
    rng = random.Random(19)
    log, err = tmp_path / "calls.log", tmp_path / "worker.err"
    arns: list[str] = []
    starter = threading.Thread(target=lambda: arns.extend(asyncio.run(_start_all(url))))
    starter.start()
    landed = 0
    deadline = time.monotonic() + 240
    while landed < KILLS:
        time.sleep(rng.uniform(0.05, 0.3))
        if not starter.is_alive() and not _running(url, arns):
            break
        landed += 1
        victim = rng.randrange(len(workers))
        workers[victim].send_signal(signal.SIGKILL)
        workers[victim].wait()
        workers[victim] = spawn_worker(APP, url, 4, log, err)
        time.sleep(WARMUP)  # let it start working, so the next kill lands mid-work
    print(f"kills landed while executions ran: {landed}")
    assert landed >= 3, "the storm ended before it could kill"
    starter.join(120)
    while _running(url, arns):
        assert time.monotonic() < deadline, err.read_text()[-2000:]
        time.sleep(0.5)
    return arns


def _running(url: str, arns: list[str]) -> int:
    return sum(s == "RUNNING" for s, _ in asyncio.run(_statuses(url, arns)))


@pytest.mark.slow
def test_sigkill_storm_books_each_seat_exactly_once(store_url: str, tmp_path: Path) -> None:
    log, err = tmp_path / "calls.log", tmp_path / "worker.err"
    workers = [spawn_worker(APP, store_url, 4, log, err) for _ in range(2)]
    try:
        arns = _storm(store_url, tmp_path, workers)
    finally:
        stop_gracefully(workers)
    statuses = Counter(asyncio.run(_statuses(store_url, arns)))
    assert len(arns) == BOOKINGS
    assert statuses == {("SUCCEEDED", None): SEATS, ("FAILED", "NoSeatsLeft"): BOOKINGS - SEATS}
    tables = asyncio.run(_tables(store_url))
    assert tables["seats"] == 0
    bookings, refunds = Counter(tables["bookings"]), Counter(tables["refunds"])
    assert len(bookings) == SEATS and set(bookings.values()) == {1}  # no double, none lost
    assert len(refunds) == BOOKINGS - SEATS and set(refunds.values()) == {1}
    assert not set(bookings) & set(refunds)
    attempts = read_lines(tmp_path / "calls.log")
    print(f"reserve_seat attempts: {len(attempts)} for {BOOKINGS} bookings")
    assert len(attempts) >= BOOKINGS


async def _send_all(url: str) -> None:
    async with App("sender", url) as app:
        q = await app.create_queue("inbox", visibility_timeout=2)
        for start in range(0, MESSAGES, 10):
            await q.send_batch([{"id": str(i), "body": f"m{i}"} for i in range(start, start + 10)])


async def _inbox(url: str) -> tuple[int, list[str]]:
    app = App("reader", url)
    # The same folder as the workers': applied once, whoever opens first (under the lock).
    app.sql_migrations(Path(__file__).parent / "apps_transactions" / "inbox_migrations")

    @app.transaction(name="inbox_rows")
    def inbox_rows(db: Any, event: Any) -> Any:
        return [r[0] for r in db.execute("SELECT body FROM inbox")]

    async with app:
        q = await app.get_queue("inbox")
        stats = await q.stats()
        rows = await app.functions.transactions.by_name["inbox_rows"].invoke()
        return stats.visible + stats.in_flight + stats.delayed, rows


@pytest.mark.slow
def test_sigkill_storm_leaves_one_row_per_message(store_url: str, tmp_path: Path) -> None:
    log, err = tmp_path / "calls.log", tmp_path / "worker.err"
    asyncio.run(_send_all(store_url))
    workers = [spawn_worker(INBOX_APP, store_url, 4, log, err) for _ in range(2)]
    rng, landed = random.Random(7), 0
    try:
        while landed < KILLS and asyncio.run(_inbox(store_url))[0]:
            time.sleep(rng.uniform(0.05, 0.3))
            victim = rng.randrange(len(workers))
            workers[victim].send_signal(signal.SIGKILL)
            workers[victim].wait()
            workers[victim] = spawn_worker(INBOX_APP, store_url, 4, log, err)
            time.sleep(WARMUP)
            landed += 1
        deadline = time.monotonic() + 120
        while (left := asyncio.run(_inbox(store_url)))[0]:
            assert time.monotonic() < deadline, err.read_text()[-2000:]
            time.sleep(0.5)
    finally:
        stop_gracefully(workers)
    print(f"kills landed while messages were left: {landed}; rows {len(left[1])}")
    rows = Counter(left[1])
    assert len(rows) == MESSAGES and set(rows.values()) == {1}  # exactly once each
    assert landed >= 1
