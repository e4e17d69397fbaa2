"""procrastinate on PostgreSQL (psycopg 3 pool), ``batch_defer_async`` of 1,000 jobs per call.

Drain: ``run_worker_async(concurrency=C)`` with its defaults (LISTEN/NOTIFY on, jobs kept
in the table as succeeded). Guarantee: a job is marked ``doing`` when fetched and
``succeeded`` after it ran; a job of a worker that died stays ``doing`` until
``retry_stalled_jobs`` (at-least-once with that recovery step). Durable as PostgreSQL's
commit.
"""

from __future__ import annotations

import argparse
import os

import peerlib
import procrastinate

CHUNK = 1000
app = procrastinate.App(  # at import: the worker finds the task by this module
    connector=procrastinate.PsycopgConnector(conninfo=os.environ.get("PEERS_DB", ""))
)


@app.task(name="noop")
async def noop(i: int) -> None:
    peerlib.record(i)


def setup(args: argparse.Namespace) -> None:
    app.open()  # kept open until teardown, so its server backend is measured
    app.schema_manager.apply_schema()


def enqueue(args: argparse.Namespace, ids: list[int]) -> None:
    for start in range(0, len(ids), CHUNK):
        noop.batch_defer(*({"i": i} for i in ids[start : start + CHUNK]))


def teardown(args: argparse.Namespace) -> None:
    app.close()


def worker(args: argparse.Namespace) -> None:
    import asyncio

    async def go() -> None:
        async with app.open_async():
            await app.run_worker_async(concurrency=args.c)

    asyncio.run(go())


if __name__ == "__main__":
    peerlib.main(
        peerlib.Peer(
            "procrastinate",
            setup,
            enqueue,
            worker,
            versions=lambda: peerlib.installed("procrastinate", "psycopg"),
        )
    )
