"""Shard iterator types: where ``Stream.read`` starts in a shard.

``TRIM_HORIZON`` (the oldest record kept) and ``LATEST`` (just after the newest) are
given as strings; the three positioned types are small values.
"""

from __future__ import annotations

from dataclasses import dataclass

from stormproof.core.stream_rules import parse_seq
from stormproof.errors import InvalidAttribute

TRIM_HORIZON = "TRIM_HORIZON"
LATEST = "LATEST"


@dataclass(frozen=True)
class AtTimestamp:
    """Start at the first record that arrived at or after ``timestamp`` (epoch seconds)."""

    timestamp: float


@dataclass(frozen=True)
class AtSequenceNumber:
    """Start at the record with this sequence number."""

    sequence_number: str


@dataclass(frozen=True)
class AfterSequenceNumber:
    """Start just after the record with this sequence number."""

    sequence_number: str


Iterator = str | AtTimestamp | AtSequenceNumber | AfterSequenceNumber
ALLOWED = "TRIM_HORIZON, LATEST, AtTimestamp, AtSequenceNumber or AfterSequenceNumber"


def check(iterator: object) -> Iterator:
    """Validate an iterator given to ``read``."""
    if iterator in (TRIM_HORIZON, LATEST):
        return str(iterator)
    if isinstance(iterator, AtSequenceNumber | AfterSequenceNumber):
        parse_seq(iterator.sequence_number)
        return iterator
    if isinstance(iterator, AtTimestamp):
        return iterator
    raise InvalidAttribute("iterator", iterator, ALLOWED)
