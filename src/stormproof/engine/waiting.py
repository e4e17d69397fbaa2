"""Waiting for whichever comes first: a message, a timer, a stop signal."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable
from typing import Any

from stormproof.clock import Clock
from stormproof.storage.base import Store


async def first_of(*work: Awaitable[Any]) -> None:
    """Return when the first of ``work`` finishes; cancel (and reap) the others."""
    tasks = [asyncio.ensure_future(w) for w in work]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def nap_until_visible(
    store: Store,
    clock: Clock,
    queue: str,
    limit: float,
    *also: Awaitable[Any],
    since: int | None = None,
) -> None:
    """Sleep until a message of ``queue`` may be visible (a send, a delay or a lease
    running out), at most ``limit`` seconds, or until any of ``also`` finishes.

    ``since`` is the store's ``wake_mark`` taken before the claim that found nothing: a
    send committed after that claim looked, whose wake-up came before this nap's waiter
    was registered, then ends the nap at once instead of being slept out.
    """
    try:
        soonest = await store.next_visible_in(queue)
    except BaseException:
        _close(also)  # cancelled or failed: the extra waits would never be awaited
        raise
    nap = limit if soonest is None else max(0.0, min(limit, soonest))
    if nap <= 0:
        _close(also)
        return
    await first_of(store.wait([queue], nap + 0.001, since=since), clock.sleep(nap + 0.001), *also)


def _close(work: tuple[Awaitable[Any], ...]) -> None:
    """Close the coroutines of ``work`` that will never be awaited (no "never awaited")."""
    for extra in work:
        if inspect.iscoroutine(extra):
            extra.close()
