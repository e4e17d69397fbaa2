"""A psycopg connection pool whose reconnect delay stops growing after a few seconds.

psycopg_pool doubles the delay between reconnect attempts until ``reconnect_timeout``
(1 s, 2 s, 4 s, ... 64 s), so after a long outage the pool may not try again for a
minute after the database is back. Here the delay is capped at ``RECONNECT_CAP`` with
full jitter (so many processes do not reconnect in lock step), which bounds the time to
recover after the database returns, whatever the outage's length.
"""

from __future__ import annotations

import logging
import random
from typing import Any

from psycopg_pool import AsyncConnectionPool
from psycopg_pool.base import AttemptWithBackoff

RECONNECT_FIRST = 0.2  # seconds before the first retry
RECONNECT_CAP = 2.0  # seconds: the longest wait between two attempts


class CappedAttempt(AttemptWithBackoff):
    """Exponential backoff from ``RECONNECT_FIRST`` to ``RECONNECT_CAP``, jittered."""

    def __init__(self, *, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self._ceiling = 0.0

    def update_delay(self, now: float) -> None:
        """Set ``delay`` for the next attempt (never past the give-up time)."""
        if self._ceiling == 0.0:
            self.give_up_at = now + self.timeout
            self._ceiling = RECONNECT_FIRST
        else:
            self._ceiling = min(self._ceiling * 2, RECONNECT_CAP)
        self.delay = self._ceiling * (0.5 + 0.5 * random.random())
        if self.delay + now > self.give_up_at:
            self.delay = max(0.0, self.give_up_at - now)


class CappedBackoffPool(AsyncConnectionPool[Any]):
    """An :class:`AsyncConnectionPool` reconnecting with :class:`CappedAttempt`."""

    async def _add_connection(
        self, attempt: AttemptWithBackoff | None, growing: bool = False
    ) -> None:
        # The pool reuses the attempt object for every retry it schedules.
        await super()._add_connection(
            attempt or CappedAttempt(timeout=self.reconnect_timeout), growing
        )


class QuietReconnects(logging.Filter):
    """Drops psycopg_pool's per-attempt "error connecting" warnings of one pool.

    The store logs an outage once, with its cause, and its end once; a warning every
    reconnect attempt would bury that.
    """

    def __init__(self, pool_name: str) -> None:
        super().__init__()
        self._pool_name = pool_name

    def filter(self, record: logging.LogRecord) -> bool:
        """False for this pool's reconnect warnings."""
        args = record.args if isinstance(record.args, tuple) else ()
        return not (record.msg.startswith("error connecting in") and self._pool_name in args)
