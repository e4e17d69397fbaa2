"""The reconciliation's rules, on hand-made records: it catches what it claims to catch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from examples.booking.reconcile import summarize

FLIGHTS = {"flights": [{"id": "SP1", "seats": 8, "capacity": 10}], "held": {"SP1": 2}}


def ledger(tmp_path: Path, *lines: dict[str, Any]) -> Path:
    path = tmp_path / "payments.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def charge(booking: str) -> dict[str, Any]:
    return {"kind": "charge", "booking_id": booking, "charge_id": "ch", "amount": 1}


def test_a_clean_run_adds_up(tmp_path: Path) -> None:
    statuses = {"a": "confirmed", "b": "confirmed", "c": "released", "d": "rejected"}
    refund = {"kind": "refund", "booking_id": "c", "charge_id": "ch"}
    pay = ledger(tmp_path, charge("a"), charge("b"), charge("c"), refund)
    s = summarize({"a", "b", "c", "d"}, statuses, pay, FLIGHTS)
    assert s == {
        "accepted": 4,
        "confirmed": 2,
        "compensated": 1,
        "dead_lettered": 1,
        "lost": 0,
        "duplicates_charged": 0,
        "seats_ok": True,
    }


def test_double_charges_unpaid_confirmations_and_lost_bookings_are_caught(
    tmp_path: Path,
) -> None:
    statuses = {"a": "confirmed", "b": "confirmed", "c": "released", "e": "reserved"}
    pay = ledger(tmp_path, charge("a"), charge("a"), charge("c"))
    s = summarize({"a", "b", "c", "e", "f"}, statuses, pay, FLIGHTS)
    # a: charged twice; b: confirmed without a charge; c: compensated but still charged
    assert s["duplicates_charged"] == 3
    assert s["lost"] == 2  # e never settled, f has no booking at all


def test_seats_must_match_the_held_bookings(tmp_path: Path) -> None:
    wrong = {"flights": [{"id": "SP1", "seats": 7, "capacity": 10}], "held": {"SP1": 2}}
    s = summarize(set(), {}, ledger(tmp_path), wrong)
    assert s["seats_ok"] is False
    below = {"flights": [{"id": "SP1", "seats": -1, "capacity": 10}], "held": {"SP1": 11}}
    assert summarize(set(), {}, ledger(tmp_path), below)["seats_ok"] is False
