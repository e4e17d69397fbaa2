"""Load-shedding decisions: staleness and shuffle-shard assignment (pure)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stormproof.core import shedding
from stormproof.errors import InvalidAttribute


def test_stale_only_past_the_age() -> None:
    assert not shedding.stale(100.0, 160.0, 60.0)
    assert shedding.stale(100.0, 160.5, 60.0)
    assert not shedding.stale(0.0, 1e9, None)


@pytest.mark.parametrize("bad", [0, -1, 0.5, True, "60", float("nan"), 14 * 86400 + 1])
def test_bad_max_age_names_the_range(bad: object) -> None:
    with pytest.raises(InvalidAttribute) as err:
        shedding.check_max_age(bad)
    assert err.value.field == "max_message_age"


@pytest.mark.parametrize(
    ("queues", "per_key", "field"),
    [
        (1, 1, "queues"),
        (65, 2, "queues"),
        (8, 0, "per_key"),
        (8, 8, "per_key"),
        (8, True, "per_key"),
    ],
)
def test_bad_shards_name_the_field(queues: object, per_key: object, field: str) -> None:
    with pytest.raises(InvalidAttribute) as err:
        shedding.check_shards(queues, per_key)
    assert err.value.field == field


@given(st.integers(2, 12), st.data())
def test_nth_combination_enumerates_every_shard_once(queues: int, data: st.DataObject) -> None:
    per_key = data.draw(st.integers(1, queues - 1))
    n = shedding.combinations(queues, per_key)
    got = [shedding._nth_combination(queues, per_key, i) for i in range(n)]
    assert got == shedding.all_shards(queues, per_key)


@given(st.text(max_size=40))
def test_shard_is_stable_and_well_formed(key: str) -> None:
    shard = shedding.shard_of(key, 8, 2)
    assert shard == shedding.shard_of(key, 8, 2)
    assert len(set(shard)) == 2 and all(0 <= i < 8 for i in shard)


def test_blast_radius_of_a_noisy_key() -> None:
    """8 queues, 2 per key: 28 shards. Of 1,000 tenants, only those whose shard is exactly
    the noisy tenant's lose every queue; the rest keep at least one healthy queue."""
    tenants = [f"tenant-{i}" for i in range(1000)]
    noisy = shedding.shard_of("noisy", 8, 2)
    fully_hit = [t for t in tenants if set(shedding.shard_of(t, 8, 2)) == set(noisy)]
    partly = [t for t in tenants if set(shedding.shard_of(t, 8, 2)) & set(noisy)]
    assert len(fully_hit) < 0.08 * len(tenants)  # about 1/28 (3.6 %)
    assert len(partly) < 0.6 * len(tenants)  # sharing one queue still leaves the other
    used = {shedding.shard_of(t, 8, 2) for t in tenants}
    assert len(used) == 28  # every combination is used: keys spread


def test_pick_prefers_the_emptier_queue_of_the_shard() -> None:
    assert shedding.pick((2, 5), [0, 0, 9, 0, 0, 1, 0, 0]) == 5
    assert shedding.pick((2, 5), [0] * 8) == 2
    assert all(shedding.pick(s, [0] * 8) in s for s in itertools.combinations(range(8), 3))


@given(
    st.integers(0, 100),
    st.none() | st.floats(0, 1000),
    st.none() | st.integers(1, 100),
    st.none() | st.floats(0.001, 1000),
)
def test_surging_is_past_either_threshold(
    visible: int, age: float | None, backlog: int | None, limit: float | None
) -> None:
    by_backlog = backlog is not None and visible >= backlog
    by_age = limit is not None and age is not None and age >= limit
    assert shedding.surging(visible, age, backlog, limit) == (by_backlog or by_age)


BAD_SURGES = [
    ({"backlog": 0, "to": 1}, "surge.backlog"),
    ({"oldest_age": -1, "to": 1}, "surge.oldest_age"),
    ({"to": 1, "size": 3}, "surge.size"),
    ({"backlog": 5}, "surge"),
]


@pytest.mark.parametrize(("spec", "field"), BAD_SURGES)
def test_bad_surge_names_the_field(spec: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidAttribute) as err:
        shedding.check_surge(spec)
    assert err.value.field == field
