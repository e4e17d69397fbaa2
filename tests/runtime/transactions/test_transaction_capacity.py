"""``@app.transaction(concurrency=N, limit=app.limit(...))``: at most N transactions of a
function hold the store at once, across its paths (issue 19)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from stormproof import App
from stormproof.errors import InvalidAttribute


class _Peak:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.peak = 0

    def run(self) -> None:
        with self.lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        time.sleep(0.03)  # inside the transaction: the slot is held meanwhile
        with self.lock:
            self.running -= 1


async def test_concurrency_and_limit_bound_running_transactions(store_url: str) -> None:
    app = App("t", store_url)
    db_limit = app.limit("db", concurrency=1)
    own, limited = _Peak(), _Peak()

    @app.transaction(concurrency=1)
    def one_at_a_time(db: Any, event: Any) -> Any:
        own.run()
        return event

    @app.transaction(limit=db_limit)
    def under_limit(db: Any, event: Any) -> Any:
        limited.run()
        return event

    async with app:
        got = await asyncio.gather(*(one_at_a_time.invoke(i) for i in range(6)))
        assert got == list(range(6)) and own.peak == 1
        got = await asyncio.gather(*(under_limit.invoke(i) for i in range(6)))
        assert got == list(range(6)) and limited.peak == 1


def test_capacity_options_are_validated() -> None:
    app = App("t", "sqlite:///:memory:")
    for bad in ({"concurrency": 0}, {"concurrency": 1001}, {"concurrency": True}, {"limit": "db"}):
        with pytest.raises(InvalidAttribute):

            @app.transaction(**bad)
            def fn(db: Any, event: Any) -> Any: ...
