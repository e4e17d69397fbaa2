"""stormproof: a queue drained by an event-source mapping to a no-op function.

Enqueue: ``Queue.send_many`` (chunks of 1,000 per transaction). Drain: one
``stormproof.worker.Worker`` with concurrency C, the mapping's batch size 10, the function
recording each record's body (the job id). ``--variant sqlite`` (a file in the work
directory, WAL, ``synchronous=NORMAL``: the store's defaults) or ``postgresql`` (``--db``).
Guarantee: a message is deleted only after its handler returned (at-least-once); sends are
committed before ``send_many`` returns.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path
from typing import Any

import peerlib

from stormproof.app import App
from stormproof.queues.queue import Queue
from stormproof.worker import Worker

QUEUE = "peers-jobs"
BATCH = 10


def _url(args: argparse.Namespace) -> str:
    if args.variant == "postgresql":
        return str(args.db)
    return f"sqlite:///{Path(args.workdir).resolve() / 'stormproof.db'}"


_runner = asyncio.Runner()  # one loop from setup to teardown, so the app stays open
_apps: list[App] = []
_queues: list[Queue] = []


def _app(args: argparse.Namespace) -> App:
    return App("peers", _url(args))


def setup(args: argparse.Namespace) -> None:
    """Open the app (creating the tables: the store is a new file or the peer's database)."""
    app = _app(args)
    _queues.append(app.queue(QUEUE, visibility_timeout=60))
    _runner.run(app.open())
    _apps.append(app)


def enqueue(args: argparse.Namespace, ids: list[int]) -> None:
    async def go() -> None:
        result = await _queues[0].send_many(({"body": str(i)} for i in ids), chunk=1000)
        if result.failed:
            raise SystemExit(f"send_many failed for {len(result.failed)} entries")

    _runner.run(go())


def teardown(args: argparse.Namespace) -> None:
    for app in _apps:
        _runner.run(app.close())
    _runner.close()


def worker(args: argparse.Namespace) -> None:
    async def go() -> None:
        app = _app(args)
        q = app.queue(QUEUE, visibility_timeout=60)

        @app.function(name="noop", timeout=10)
        async def noop(event: dict[str, Any], context: Any) -> None:
            for rec in event["Records"]:
                peerlib.record(int(rec["body"]))

        app.consume(q, noop, batch_size=BATCH)
        w = Worker(app, concurrency=args.c)
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, w.stop)
        async with app:
            await w.run()

    asyncio.run(go())


def versions() -> dict[str, str]:
    return peerlib.installed("stormproof")


if __name__ == "__main__":
    peerlib.main(peerlib.Peer("stormproof", setup, enqueue, worker, teardown, versions))
