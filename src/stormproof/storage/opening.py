"""Open a store by URL: the one place that chooses a backend."""

from __future__ import annotations

from stormproof.clock import Clock, SystemClock
from stormproof.errors import InvalidAttribute
from stormproof.storage.base import Store


def open_store(url: str, clock: Clock | None = None) -> Store:
    """The store for a URL: ``sqlite:///path.db`` or ``postgresql://...``."""
    now = clock.now if clock is not None and not isinstance(clock, SystemClock) else None
    if url.startswith("sqlite:"):
        from stormproof.storage.sqlite import SqliteStore

        return SqliteStore(url, now)
    if url.startswith(("postgresql:", "postgres:")):
        try:
            from stormproof.storage.postgres import PostgresStore
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise InvalidAttribute(
                "store", url, "a PostgreSQL URL needs: pip install 'stormproof[postgres]'"
            ) from exc
        return PostgresStore(url, now)
    raise InvalidAttribute(
        "store", url, "sqlite:///path.db, sqlite:////abs/path.db or postgresql://"
    )
