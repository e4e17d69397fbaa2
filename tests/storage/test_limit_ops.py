"""The store's atomic rate-limit grant (storage/limit_ops.py) decides exactly as the pure
GCRA of core/bucket.py: on PostgreSQL the arithmetic is SQL (``limit_take``), on SQLite
the program calls core/bucket.py, and on both a refusal writes nothing."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stormproof.core import bucket
from stormproof.core.bucket import Rate
from stormproof.storage.base import CompareAndSet
from stormproof.storage.limit_ops import TakeTokens, encode_tats
from stormproof.storage.opening import open_store

T = TypeVar("T")
KEYS = itertools.count()

NOW = 1_796_300_000.123456  # epoch seconds: the float precision the TATs really have
rates = st.builds(
    bucket.rate,
    st.floats(0.1, 5_000, allow_nan=False),
    st.integers(1, 60),
    st.sampled_from([1.0, 60.0, 3600.0]),
)


class _Store:
    """A real store driven from synchronous Hypothesis examples, on a loop of its own."""

    def __init__(self, url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.store = open_store(url)
        self.run(self.store.open())

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(work)

    def close(self) -> None:
        self.run(self.store.close())
        self.loop.close()


@pytest.fixture
def db(store_url: str) -> Iterator[_Store]:
    db = _Store(store_url)
    yield db
    db.close()


def _take(db: _Store, key: str, rs: list[Rate], want: int, now: float) -> tuple[int, float]:
    result = db.run(db.store.apply([TakeTokens(key, rs, want, now)]))[0]
    granted, wait = result.values
    assert isinstance(granted, int) and isinstance(wait, float)
    return granted, wait


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rs=st.lists(rates, min_size=1, max_size=3),
    offsets=st.lists(st.floats(-50, 50, allow_nan=False), min_size=3, max_size=3),
    want=st.integers(1, 100),
)
def test_the_store_grants_what_core_bucket_grants(
    db: _Store, rs: list[Rate], offsets: list[float], want: int
) -> None:
    sk = f"limit/p/{next(KEYS)}"  # a fresh key per example (Hypothesis replays examples)
    tats = [NOW + o for o in offsets[: len(rs)]]
    assert db.run(db.store.apply([CompareAndSet(sk, None, encode_tats(tats))]))[0].ok
    expected_n, expected_tats, expected_wait = bucket.grant_all(tats, NOW, rs, want)
    granted, wait = _take(db, sk, rs, want, NOW)
    rec = db.run(db.store.get_state(sk))
    assert rec is not None
    assert granted == expected_n
    assert wait == pytest.approx(expected_wait, abs=1e-9)
    assert json.loads(rec.value)["tats"] == (expected_tats if granted else tats)
    assert rec.version == (2 if granted else 1)  # a refusal writes nothing


def test_a_new_key_is_created_with_its_first_grant_and_refused_past_the_burst(db: _Store) -> None:
    rs = [bucket.rate(10, 4), bucket.rate(100, 50, 60.0)]
    assert _take(db, "limit/n/", rs, 3, NOW) == (3, 0.0)
    assert _take(db, "limit/n/", rs, 3, NOW) == (1, 0.0)
    granted, wait = _take(db, "limit/n/", rs, 1, NOW)
    assert granted == 0 and wait == pytest.approx(0.1, abs=1e-6)
    assert _take(db, "limit/n/", rs, 5, NOW + 0.25) == (2, 0.0)


def test_a_record_of_other_rates_starts_afresh(db: _Store) -> None:
    db.run(db.store.apply([CompareAndSet("limit/c/", None, encode_tats([NOW + 99]))]))
    assert _take(db, "limit/c/", [bucket.rate(5), bucket.rate(1, 3, 60.0)], 9, NOW) == (3, 0.0)
