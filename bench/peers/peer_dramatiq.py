"""dramatiq with its Redis broker; one worker process of C threads.

Enqueue: one ``send`` per job (dramatiq has no batch enqueue; ``group`` sends one by
one). Guarantee: at-least-once: a message is acked after its actor ran; the messages of a
worker that stopped heartbeating are requeued. Redis durability: AOF ``everysec``.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading

import dramatiq
import peerlib
from dramatiq.brokers.redis import RedisBroker

broker = RedisBroker(url=os.environ.get("PEERS_REDIS") or "redis://127.0.0.1:6379/0")
dramatiq.set_broker(broker)


@dramatiq.actor(queue_name="peers", max_retries=0)
def job(i: int) -> None:
    peerlib.record(i)


def setup(args: argparse.Namespace) -> None:
    broker.flush_all()


def enqueue(args: argparse.Namespace, ids: list[int]) -> None:
    for i in ids:
        job.send(i)


def worker(args: argparse.Namespace) -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    w = dramatiq.Worker(broker, worker_threads=args.c)
    w.start()
    stop.wait()
    w.stop()


if __name__ == "__main__":
    peerlib.main(
        peerlib.Peer(
            "dramatiq",
            setup,
            enqueue,
            worker,
            versions=lambda: peerlib.installed("dramatiq", "redis"),
        )
    )
