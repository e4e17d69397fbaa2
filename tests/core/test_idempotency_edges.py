"""Idempotent functions' pure decisions (core/idempotency.py): the option's validation,
the key and payload hashes, and the verdict over a record at a given (fake) time."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stormproof.core import idempotency as idem
from stormproof.core.idempotency import Verdict
from stormproof.errors import InvalidAttribute

CFG = idem.config({"key": "$.id", "expires_after": 60, "payload_validation": "$.amount"})
assert CFG is not None


def test_no_option_means_no_idempotency() -> None:
    assert idem.config(None) is None


def test_a_full_option_is_parsed() -> None:
    assert CFG.key.text == "$.id" and CFG.expires_after == 60.0
    assert CFG.payload_validation is not None and CFG.payload_validation.text == "$.amount"
    plain = idem.config({"key": "$.id"})
    assert plain is not None and plain.expires_after == 3600.0
    assert plain.payload_validation is None


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ("$.id", "idempotency"),
        ({"expires_after": 5}, "idempotency"),
        ({"key": "$.id", "ttl": 5}, "idempotency.ttl"),
        ({"key": "id"}, "idempotency.key"),
        ({"key": "$.id", "expires_after": 0}, "idempotency.expires_after"),
        ({"key": "$.id", "expires_after": 30 * 86400 + 1}, "idempotency.expires_after"),
        ({"key": "$.id", "expires_after": True}, "idempotency.expires_after"),
        ({"key": "$.id", "expires_after": float("nan")}, "idempotency.expires_after"),
        ({"key": "$.id", "expires_after": "60"}, "idempotency.expires_after"),
        ({"key": "$.id", "payload_validation": "x"}, "idempotency.payload_validation"),
    ],
)
def test_bad_options_name_the_field(spec: object, field: str) -> None:
    with pytest.raises(InvalidAttribute) as err:
        idem.config(spec)
    assert err.value.field == field


def test_an_event_without_its_key_runs_as_usual() -> None:
    assert idem.key_of(CFG, {"amount": 3}) is None
    assert idem.key_of(CFG, {"id": None}) is None
    assert idem.key_of(CFG, {"id": "b-1"}) == idem.key_of(CFG, {"id": "b-1", "amount": 9})
    assert idem.key_of(CFG, {"id": "b-1"}) != idem.key_of(CFG, {"id": "b-2"})


def test_the_payload_hash_covers_the_validated_part_only() -> None:
    plain = idem.config({"key": "$.id"})
    assert plain is not None and idem.payload_of(plain, {"id": 1}) is None
    a = idem.payload_of(CFG, {"id": 1, "amount": 5, "note": "x"})
    assert a == idem.payload_of(CFG, {"id": 2, "amount": 5})
    assert a != idem.payload_of(CFG, {"id": 1, "amount": 6})
    # A missing validated part hashes like an explicit null: both "nothing to compare".
    assert idem.payload_of(CFG, {"id": 1}) == idem.payload_of(CFG, {"id": 1, "amount": None})


@given(st.floats(0, 1e9), st.floats(0.1, 900))
def test_a_lease_then_a_completion_then_expiry(now: float, timeout: float) -> None:
    pay = "p"
    lease = idem.in_progress(now, timeout, pay, "holder-1")
    assert lease["holder"] == "holder-1" and lease["until"] == now + timeout + idem.GRACE
    assert idem.decide(lease, now, pay) is Verdict.IN_PROGRESS
    assert idem.decide(lease, now, "other") is Verdict.MISMATCH
    assert idem.decide(lease, lease["until"], pay) is Verdict.RUN  # a dead holder's lease
    done = idem.completed(now, CFG, pay, {"ok": True})
    assert done["result"] == {"ok": True} and done["until"] == now + CFG.expires_after
    assert idem.decide(done, now, pay) is Verdict.REPLAY
    assert idem.decide(done, now, None) is Verdict.REPLAY  # not validated: never a mismatch
    assert idem.decide(done, done["until"], pay) is Verdict.RUN


def test_an_absent_record_runs_and_an_unvalidated_record_replays() -> None:
    assert idem.decide(None, 0.0, "p") is Verdict.RUN
    record: dict[str, Any] = {"status": "completed", "until": 10, "payload": None}
    assert idem.decide(record, 5.0, "p") is Verdict.REPLAY
