"""Reserved concurrency in use, read from the store and shown by ``functions ls`` and
``functions mappings`` (issue 11 item 12)."""

from __future__ import annotations

import json
import subprocess
import sys

from stormproof import App
from tests.acceptance.apps import cli_app

APP = "tests.acceptance.apps.cli_app:app"


def _cli_json(store_url: str, *args: str) -> object:
    done = subprocess.run(
        [sys.executable, "-m", "stormproof", "--store", store_url, "functions", *args, "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


async def test_leased_slots_are_counted_per_pool_and_shown(store_url: str) -> None:
    app = App("holder", store_url)
    async with app:
        assert await app.store.slots_in_use() == {}
        pools = app.functions.concurrency
        fn_pool = pools.pool("fn:double", 4)
        [mapping] = cli_app.app.functions.mappings
        esm_pool = pools.pool(f"esm:{mapping.id}", 2)
        assert await fn_pool.acquire(3) == 3
        assert await esm_pool.acquire(1) == 1
        assert await app.store.slots_in_use() == {"fn:double": 3, f"esm:{mapping.id}": 1}

        listed = _cli_json(store_url, "ls", APP)
        assert isinstance(listed, list)
        by_name = {f["name"]: f for f in listed}
        assert by_name["double"]["concurrencyInUse"] == 3
        assert by_name["fail"]["concurrencyInUse"] == 0
        [shown] = _cli_json(store_url, "mappings", APP)  # type: ignore[misc]
        assert shown["concurrencyInUse"] == 1
        fn_pool.release(3)
        esm_pool.release(1)
