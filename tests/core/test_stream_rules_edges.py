"""Ordered streams' pure rules (core/stream_rules.py): hash-key routing over the shard
ranges, sequence-number text, and the limits of streams, keys, records and batches."""

from __future__ import annotations

import hashlib
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stormproof.core import stream_rules as rules
from stormproof.errors import InvalidAttribute

keys = st.integers(0, rules.HASH_MAX)


def test_shard_ids_are_kinesis_text() -> None:
    assert rules.shard_id(0) == "shardId-000000000000"
    assert rules.shard_id(12) == "shardId-000000000012"


@given(st.integers(1, rules.MAX_SHARDS), keys)
def test_even_ranges_cover_the_space_and_route_each_key_once(count: int, key: int) -> None:
    ranges = rules.even_ranges(count)
    assert len(ranges) == count and ranges[0].start == 0 and ranges[-1].end == rules.HASH_MAX
    assert all(a.end + 1 == b.start for a, b in itertools.pairwise(ranges))
    index = rules.route(key, ranges)
    assert [r.holds(key) for r in ranges].count(True) == 1 and ranges[index].holds(key)


def test_a_key_outside_every_range_is_refused() -> None:
    with pytest.raises(ValueError, match="in no open shard"):
        rules.route(5, [rules.HashRange(0, 4)])


@given(st.text(min_size=1, max_size=50))
def test_the_hash_key_is_the_md5_of_the_partition_key(partition_key: str) -> None:
    md5 = int.from_bytes(hashlib.md5(partition_key.encode()).digest(), "big")
    assert rules.hash_key(partition_key) == md5
    assert rules.slot(partition_key, 4) == md5 % 4


@given(keys)
def test_an_explicit_hash_key_overrides_the_md5(key: int) -> None:
    assert rules.hash_key("any", str(key)) == key


@pytest.mark.parametrize("bad", [str(rules.HASH_MAX + 1), "-1", "0x10", "", 5])
def test_bad_explicit_hash_keys_name_the_field(bad: object) -> None:
    with pytest.raises(InvalidAttribute) as err:
        rules.parse_explicit_hash(bad)
    assert err.value.field == "explicit_hash_key" and err.value.value == bad


@given(st.integers(0, 10**20 - 1), st.integers(0, 10**20 - 1))
def test_sequence_text_orders_as_numbers(a: int, b: int) -> None:
    assert (rules.format_seq(a) < rules.format_seq(b)) == (a < b)
    assert rules.parse_seq(rules.format_seq(a)) == a and rules.parse_seq(a) == a


@pytest.mark.parametrize("bad", [-1, True, "12a", None, 1.0])
def test_bad_sequence_numbers_name_the_field(bad: object) -> None:
    with pytest.raises(InvalidAttribute) as err:
        rules.parse_seq(bad)
    assert err.value.field == "sequence_number"


def test_stream_limits() -> None:
    assert rules.validate_stream(1, rules.MIN_RETENTION) == (1, 86400.0)
    assert rules.validate_stream(rules.MAX_SHARDS, rules.MAX_RETENTION + 0.0)[0] == 1024


@pytest.mark.parametrize(
    ("shards", "retention", "field"),
    [
        (0, 86400, "shards"),
        (1025, 86400, "shards"),
        (True, 86400, "shards"),
        (2.0, 86400, "shards"),
        (1, 86399, "retention"),
        (1, rules.MAX_RETENTION + 1, "retention"),
        (1, True, "retention"),
        (1, "86400", "retention"),
    ],
)
def test_bad_streams_name_the_field(shards: object, retention: object, field: str) -> None:
    with pytest.raises(InvalidAttribute) as err:
        rules.validate_stream(shards, retention)
    assert err.value.field == field and err.value.value in (shards, retention)


def test_partition_keys_are_one_to_256_characters() -> None:
    assert rules.validate_partition_key("k" * 256) == "k" * 256
    for bad in ("", "k" * 257, 7):
        with pytest.raises(InvalidAttribute) as err:
            rules.validate_partition_key(bad)
        assert err.value.field == "partition_key" and err.value.value == bad


def test_record_data_is_bytes_of_at_most_one_mebibyte() -> None:
    assert rules.validate_data("é") == "é".encode()
    assert rules.validate_data(bytearray(b"ab")) == b"ab"
    with pytest.raises(InvalidAttribute) as err:
        rules.validate_data(12)
    assert (err.value.field, err.value.value) == ("data", "int")
    with pytest.raises(InvalidAttribute) as err:
        rules.validate_data(b"x" * (rules.MAX_RECORD_BYTES + 1))
    assert err.value.value == f"{rules.MAX_RECORD_BYTES + 1} bytes"


def test_batches_are_one_to_500_entries_of_at_most_five_mebibytes() -> None:
    rules.check_batch_size(1, rules.MAX_BATCH_BYTES)
    rules.check_batch_size(rules.MAX_ENTRIES, 0)
    for entries, size, value in ((0, 10, 0), (501, 10, 501), (3, rules.MAX_BATCH_BYTES + 1, None)):
        with pytest.raises(InvalidAttribute) as err:
            rules.check_batch_size(entries, size)
        assert err.value.field == "entries"
        assert err.value.value == (value if value is not None else f"{size} bytes")
