"""arq with Redis: one asyncio worker of ``max_jobs=C``.

Enqueue: ``enqueue_job`` per job (no batch API). Guarantee: at-least-once: a job's entry
stays in the queue until it finished, a job of a dead worker runs again once its
in-progress key expires. Redis durability: AOF ``everysec``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from typing import Any

import peerlib
from arq import create_pool
from arq.connections import RedisSettings
from arq.worker import Worker


def _settings() -> RedisSettings:
    return RedisSettings.from_dsn(os.environ.get("PEERS_REDIS") or "redis://127.0.0.1:6379/0")


async def job(ctx: dict[str, Any], i: int) -> None:
    peerlib.record(i)


def setup(args: argparse.Namespace) -> None:
    async def go() -> None:
        pool = await create_pool(_settings())
        await pool.flushdb()
        await pool.aclose()

    asyncio.run(go())


def enqueue(args: argparse.Namespace, ids: list[int]) -> None:
    async def go() -> None:
        pool = await create_pool(_settings())
        for i in ids:
            await pool.enqueue_job("job", i)
        await pool.aclose()

    asyncio.run(go())


def worker(args: argparse.Namespace) -> None:
    Worker(functions=[job], redis_settings=_settings(), max_jobs=args.c).run()


if __name__ == "__main__":
    peerlib.main(
        peerlib.Peer(
            "arq", setup, enqueue, worker, versions=lambda: peerlib.installed("arq", "redis")
        )
    )
