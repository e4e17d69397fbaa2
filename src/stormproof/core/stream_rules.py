"""Pure rules of ordered streams: hash-key routing, limits and sequence-number text.

Records are routed as Kinesis routes them: the MD5 of the partition key, read as a
128-bit unsigned integer, falls in exactly one open shard's inclusive hash-key range.
An ``explicit_hash_key`` (a decimal string in that space) overrides the MD5.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from stormproof.errors import InvalidAttribute

HASH_MAX = 2**128 - 1
MIN_RETENTION = 86_400
MAX_RETENTION = 365 * 86_400
MAX_SHARDS = 1024
MAX_ENTRIES = 500
MAX_BATCH_BYTES = 5 * 1024 * 1024
MAX_RECORD_BYTES = 1024 * 1024
MAX_KEY_CHARS = 256
SEQ_DIGITS = 20


@dataclass(frozen=True)
class HashRange:
    """An inclusive range ``start..end`` of the 128-bit hash-key space."""

    start: int
    end: int

    def holds(self, key: int) -> bool:
        """Whether ``key`` falls in this range."""
        return self.start <= key <= self.end


def shard_id(index: int) -> str:
    """Kinesis's shard id text: ``shardId-`` and twelve digits."""
    return f"shardId-{index:012d}"


def even_ranges(count: int) -> list[HashRange]:
    """Split the hash-key space into ``count`` contiguous ranges (the last takes the rest)."""
    width = (HASH_MAX + 1) // count
    starts = [i * width for i in range(count)]
    ends = [s - 1 for s in starts[1:]] + [HASH_MAX]
    return [HashRange(s, e) for s, e in zip(starts, ends, strict=True)]


def hash_key(partition_key: str, explicit_hash_key: str | None = None) -> int:
    """The 128-bit hash key of a record (MD5 of the UTF-8 partition key, or the explicit one)."""
    if explicit_hash_key is not None:
        return parse_explicit_hash(explicit_hash_key)
    return int.from_bytes(hashlib.md5(partition_key.encode()).digest(), "big")


def parse_explicit_hash(value: object) -> int:
    """An explicit hash key: a decimal string of 0..2**128-1."""
    if not isinstance(value, str) or not value.isdigit() or int(value) > HASH_MAX:
        raise InvalidAttribute("explicit_hash_key", value, "a decimal string 0..2**128-1")
    return int(value)


def route(key: int, ranges: Sequence[HashRange]) -> int:
    """The index of the range holding ``key`` (ranges must cover the whole space)."""
    for index, rng in enumerate(ranges):
        if rng.holds(key):
            return index
    raise ValueError(f"hash key {key} is in no open shard")


def slot(partition_key: str, factor: int) -> int:
    """Which of a shard's ``factor`` parallel batches a key belongs to (keeps per-key order)."""
    return hash_key(partition_key) % factor


def format_seq(seq: int) -> str:
    """A sequence number as text: zero-padded, so text order equals numeric order."""
    return f"{seq:0{SEQ_DIGITS}d}"


def parse_seq(value: object) -> int:
    """A sequence number given as text or int."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise InvalidAttribute("sequence_number", value, "a sequence number this stream returned")


def validate_stream(shards: object, retention: object) -> tuple[int, float]:
    """Check ``shards`` (1-1024) and ``retention`` (24 h to 365 days, seconds)."""
    if isinstance(shards, bool) or not isinstance(shards, int) or not 1 <= shards <= MAX_SHARDS:
        raise InvalidAttribute("shards", shards, f"a whole number 1-{MAX_SHARDS}")
    ok = isinstance(retention, int | float) and not isinstance(retention, bool)
    if not ok or not MIN_RETENTION <= retention <= MAX_RETENTION:  # type: ignore[operator]
        raise InvalidAttribute("retention", retention, "86,400-31,536,000 seconds")
    return shards, float(retention)  # type: ignore[arg-type]


def validate_partition_key(value: object) -> str:
    """A partition key: 1-256 characters."""
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_KEY_CHARS:
        raise InvalidAttribute("partition_key", value, "a string of 1-256 characters")
    return value


def validate_data(value: object) -> bytes:
    """Record data: bytes (or str, encoded UTF-8) of at most 1 MiB with the partition key."""
    data = value.encode() if isinstance(value, str) else value
    if not isinstance(data, bytes | bytearray):
        raise InvalidAttribute("data", type(value).__name__, "bytes or str")
    if len(data) > MAX_RECORD_BYTES:
        raise InvalidAttribute("data", f"{len(data)} bytes", f"at most {MAX_RECORD_BYTES} bytes")
    return bytes(data)


def check_batch_size(entries: int, total_bytes: int) -> None:
    """``put_records`` takes 1-500 entries and at most 5 MiB (data and keys)."""
    if not 1 <= entries <= MAX_ENTRIES:
        raise InvalidAttribute("entries", entries, f"1-{MAX_ENTRIES} records")
    if total_bytes > MAX_BATCH_BYTES:
        raise InvalidAttribute("entries", f"{total_bytes} bytes", f"at most {MAX_BATCH_BYTES}")
