"""RQ with Redis: a ``WorkerPool`` of C workers (RQ's default forking ``Worker``).

Enqueue: ``Queue.enqueue_many`` of 1,000 prepared jobs per pipeline (RQ's batch API).
Guarantee: a job whose worker dies is moved to the failed registry, not retried
(at-most-once unless retries are configured). Redis durability: AOF ``everysec``.
"""

from __future__ import annotations

import argparse
import os

import peerlib
from redis import Redis
from rq import Queue
from rq.worker_pool import WorkerPool

CHUNK = 1000


def job(i: int) -> None:
    """The job: workers import it by name (``peer_rq.job``), not from ``__main__``."""
    peerlib.record(i)


def _redis() -> Redis:
    return Redis.from_url(os.environ.get("PEERS_REDIS") or "redis://127.0.0.1:6379/0")


def setup(args: argparse.Namespace) -> None:
    _redis().flushdb()


def enqueue(args: argparse.Namespace, ids: list[int]) -> None:
    conn = _redis()
    q = Queue("peers", connection=conn)
    for start in range(0, len(ids), CHUNK):
        with conn.pipeline() as pipe:
            datas = [Queue.prepare_data("peer_rq.job", (i,)) for i in ids[start : start + CHUNK]]
            q.enqueue_many(datas, pipeline=pipe)
            pipe.execute()


def worker(args: argparse.Namespace) -> None:
    WorkerPool(["peers"], connection=_redis(), num_workers=args.c).start()


if __name__ == "__main__":
    peerlib.main(
        peerlib.Peer(
            "rq", setup, enqueue, worker, versions=lambda: peerlib.installed("rq", "redis")
        )
    )
