"""A PostgreSQL server restarted under load loses and strands nothing.

Runs on a throwaway cluster of its own (Debian's binaries), which it restarts while a
producer and a consumer are busy; the shared test server is never touched.
"""

from __future__ import annotations

import asyncio
import glob
import subprocess

import pytest

from stormproof import App
from tests.support.postgres import _as_postgres, throwaway_cluster

pytestmark = pytest.mark.slow


def _restart(url: str) -> None:
    port = url.rsplit(":", 1)[1].split("/")[0]
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True)
    data = next(
        line.split(" -D ")[1].split()[0]
        for line in out.stdout.splitlines()
        if f"-p {port}" in line and " -D " in line
    )
    bindir = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]
    # -l and DEVNULL: a postmaster that inherited our pipes would keep run() waiting.
    log = f"{data}/../restart.log"
    subprocess.run(
        _as_postgres([f"{bindir}/pg_ctl", "-D", data, "-l", log, "-w", "-m", "fast", "restart"]),
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.skipif(not glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reason="no pg_ctl")
async def test_server_restart_is_survived() -> None:
    with throwaway_cluster() as url:
        assert url is not None, "could not start a throwaway cluster"
        app = App("restart", url)
        q = app.queue("work", visibility_timeout=5)
        sent: set[str] = set()
        done: set[str] = set()
        async with app:

            async def produce() -> None:
                for i in range(400):
                    sent.add(await q.send(f"m{i}"))
                    await asyncio.sleep(0.005)

            async def consume() -> None:
                while len(done) < 400 or done != sent:
                    for m in await q.receive(max_messages=10, wait=1):
                        await q.delete(m.receipt_handle)
                        done.add(m.message_id)

            producer = asyncio.create_task(produce())
            consumer = asyncio.create_task(consume())
            await asyncio.sleep(0.6)
            await asyncio.to_thread(_restart, url)
            await asyncio.wait_for(producer, timeout=60)
            await asyncio.wait_for(consumer, timeout=60)
            assert done == sent and len(sent) == 400
            assert (await q.stats()).total == 0
