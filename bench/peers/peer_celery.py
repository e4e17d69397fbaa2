"""Celery with the Redis broker: a prefork pool of C processes, late acks.

Enqueue: ``apply_async`` per job on one producer connection (Celery has no batch send;
``group`` also publishes one message per task, and ``chunks`` would change the workload).
Settings: ``task_acks_late`` (ack after the task ran: at-least-once, a lost worker's
messages come back after the broker's visibility timeout), no result backend.
Redis durability: AOF ``everysec``.
"""

from __future__ import annotations

import argparse
import os

import peerlib
from celery import Celery

app = Celery("peers", broker=os.environ.get("PEERS_REDIS") or "redis://127.0.0.1:6379/0")
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    task_ignore_result=True,
    task_default_queue="peers",
    worker_hijack_root_logger=False,
)


@app.task(name="peers.job")
def job(i: int) -> None:
    peerlib.record(i)


def setup(args: argparse.Namespace) -> None:
    with app.connection_for_write() as conn:
        conn.default_channel.client.flushdb()


def enqueue(args: argparse.Namespace, ids: list[int]) -> None:
    with app.producer_or_acquire() as producer:
        for i in ids:
            job.apply_async((i,), producer=producer)


def worker(args: argparse.Namespace) -> None:
    app.worker_main(["worker", "-c", str(args.c), "-P", "prefork", "-l", "WARNING"])


if __name__ == "__main__":
    peerlib.main(
        peerlib.Peer(
            "celery",
            setup,
            enqueue,
            worker,
            versions=lambda: peerlib.installed("celery", "kombu", "redis"),
        )
    )
