"""A PostgreSQL outage of 20 s: calls fail by their deadline, work resumes within 5 s.

The database (one created for this test on the test server; the shared ``test``
database's settings are never touched) refuses connections and its backends are
terminated, while a producer and a consumer run. A producer call gives up with
``StoreUnavailable`` after the store's deadline instead of blocking for minutes; after the
database is back, sends and receives succeed again within 5 s; nothing accepted is lost
or stuck; the outage is logged once, and its end once.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from stormproof import App
from stormproof.errors import StoreUnavailable
from tests.conftest import require_postgres

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
OUTAGE = 20.0
DEADLINE = 8.0  # the store's call deadline in this test (default 20 s)
RECOVERY = 5.0


def _admin(base: str, *statements: str) -> None:
    with psycopg.connect(base, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement.encode())


def _on_database(base: str, name: str) -> str:
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _refuse(base: str, db: str, refuse: bool) -> None:
    _admin(base, f"ALTER DATABASE {db} ALLOW_CONNECTIONS {'false' if refuse else 'true'}")
    if refuse:
        _admin(
            base,
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}'",
        )


class Traffic:
    """A producer and a consumer that record what was accepted, consumed and when."""

    def __init__(self, app: App) -> None:
        self.q = app.queue("work", visibility_timeout=5)
        self.sent: set[str] = set()
        self.done: set[str] = set()
        self.sent_at: list[float] = []
        self.received_at: list[float] = []
        self.failed_calls: list[float] = []  # seconds each failed producer call took
        self.stop = False

    async def produce(self) -> None:
        i = 0
        while not self.stop:
            started = time.monotonic()
            try:
                self.sent.add(await self.q.send(f"m{i}"))
                self.sent_at.append(time.monotonic())
            except StoreUnavailable:
                self.failed_calls.append(time.monotonic() - started)
            i += 1
            await asyncio.sleep(0.02)

    async def consume(self) -> None:
        while not self.stop or not self.sent <= self.done:
            try:
                for m in await self.q.receive(max_messages=10, wait=1):
                    await self.q.delete(m.receipt_handle)
                    self.done.add(m.message_id)
                    self.received_at.append(time.monotonic())
            except StoreUnavailable:
                pass


async def test_outage_of_20_seconds(
    pg_base_url: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    base = require_postgres(pg_base_url)
    db = f"stormproof_outage_{uuid.uuid4().hex[:10]}"
    _admin(base, f"CREATE DATABASE {db}")
    caplog.set_level(logging.WARNING, logger="stormproof")
    try:
        app = App("outage", f"{_on_database(base, db)}?deadline={DEADLINE:g}")
        traffic = Traffic(app)
        async with app:
            tasks = [asyncio.create_task(traffic.produce()), asyncio.create_task(traffic.consume())]
            await asyncio.sleep(1.0)
            await asyncio.to_thread(_refuse, base, db, True)
            await asyncio.sleep(OUTAGE)
            await asyncio.to_thread(_refuse, base, db, False)
            back = time.monotonic()
            await asyncio.sleep(RECOVERY + 1)
            traffic.stop = True
            await asyncio.wait_for(asyncio.gather(*tasks), timeout=30)
            stuck = (await traffic.q.stats()).total
        first_send = min(t for t in traffic.sent_at if t > back) - back
        first_receive = min(t for t in traffic.received_at if t > back) - back
        print(f"resumed: send {first_send:.2f} s, receive {first_receive:.2f} s after")
        assert first_send < RECOVERY, f"sends resumed {first_send:.1f} s after the database"
        assert first_receive < RECOVERY, f"receives resumed {first_receive:.1f} s after"
        assert traffic.failed_calls, "no producer call failed during a 20 s outage"
        assert max(traffic.failed_calls) < DEADLINE + 2, traffic.failed_calls
        assert traffic.sent <= traffic.done, f"lost {len(traffic.sent - traffic.done)}"
        assert stuck == 0
        logged = [r.getMessage().split()[0] for r in caplog.records if r.name == "stormproof"]
        assert logged.count("event=store.unreachable") == 1, logged
        assert logged.count("event=store.reachable") == 1, logged
    finally:
        _admin(base, f"ALTER DATABASE {db} ALLOW_CONNECTIONS true")
        _admin(base, f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
