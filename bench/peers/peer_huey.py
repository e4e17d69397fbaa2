"""huey: SqliteHuey (WAL, SQLite's default synchronous=FULL), a thread consumer of C workers.

Enqueue: one ``job(i)`` call per job (huey has no batch enqueue; ``Task.map`` loops over
``enqueue``). Guarantee: at-most-once: a task is deleted from the queue when a worker
dequeues it, so a worker that dies mid-task loses it.
"""

from __future__ import annotations

import argparse
import os

import peerlib
from huey import SqliteHuey

huey = SqliteHuey(
    "peers", filename=os.path.join(os.environ.get("PEERS_WORKDIR", "."), "huey.db"), results=False
)


@huey.task()
def job(i: int) -> None:
    peerlib.record(i)


def enqueue(args: argparse.Namespace, ids: list[int]) -> None:
    for i in ids:
        job(i)


def worker(args: argparse.Namespace) -> None:
    huey.create_consumer(workers=args.c, worker_type="thread", periodic=False).run()


def setup(args: argparse.Namespace) -> None:
    huey.storage.flush_queue()


if __name__ == "__main__":
    peerlib.main(
        peerlib.Peer("huey", setup, enqueue, worker, versions=lambda: peerlib.installed("huey"))
    )
