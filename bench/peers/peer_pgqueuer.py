"""pgqueuer on PostgreSQL (asyncpg), its batch enqueue of 1,000 jobs per call.

Drain: one ``QueueManager`` with its defaults: dequeue batches of 10, no cap on tasks in
flight (for no-op jobs that is about one batch; see ``worker``).
Guarantee: a job is picked (status ``picking``, heartbeat) and deleted/logged when done; a
worker whose heartbeat goes stale has its jobs re-picked (at-least-once). Inserts are
committed (durable as PostgreSQL's commit).
"""

from __future__ import annotations

import argparse
import asyncio
import signal

import asyncpg
import peerlib
from pgqueuer import AsyncpgDriver, Job, Queries, QueueManager

CHUNK = 1000
_runner = asyncio.Runner()
_conns: list[asyncpg.Connection] = []


def setup(args: argparse.Namespace) -> None:
    async def go() -> None:
        conn = await asyncpg.connect(args.db)
        _conns.append(conn)
        await Queries(AsyncpgDriver(conn)).install()

    _runner.run(go())


def enqueue(args: argparse.Namespace, ids: list[int]) -> None:
    async def go() -> None:
        q = Queries(AsyncpgDriver(_conns[0]))
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            await q.enqueue(
                ["noop"] * len(chunk), [str(i).encode() for i in chunk], [0] * len(chunk)
            )

    _runner.run(go())


def teardown(args: argparse.Namespace) -> None:
    for conn in _conns:
        _runner.run(conn.close())
    _runner.close()


def worker(args: argparse.Namespace) -> None:
    async def go() -> None:
        conn = await asyncpg.connect(args.db)
        qm = QueueManager(Queries(AsyncpgDriver(conn)))

        @qm.entrypoint("noop")
        async def noop(job: Job) -> None:
            assert job.payload is not None
            peerlib.record(int(job.payload))

        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, qm.shutdown.set)
        # Its defaults: capping it at C (max_concurrent_tasks) forces batches of C/2
        # (it requires a cap >= 2 x batch) and drained about 3x slower here.
        await qm.run(batch_size=10)

    asyncio.run(go())


if __name__ == "__main__":
    peerlib.main(
        peerlib.Peer(
            "pgqueuer",
            setup,
            enqueue,
            worker,
            teardown,
            lambda: peerlib.installed("pgqueuer", "asyncpg"),
        )
    )
