"""The reconciliation: what the client was told, what the flight table and the payment
provider's own ledger say, and whether they agree.

``accepted`` counts distinct request ids answered 202 (duplicates share one); each must end
``confirmed``, ``compensated`` (its seat given back, its charge refunded) or
``dead_lettered`` (sold out: nothing to undo; in the booking DLQ like every failure).
``lost`` counts accepted requests with no final booking; ``duplicates_charged`` bookings the
provider charged more than once, or a confirmed booking without exactly one live charge.

    python -m examples.booking.reconcile --store URL --payments FILE --sent FILE [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

FINAL = {"confirmed": "confirmed", "released": "compensated", "rejected": "dead_lettered"}


def accepted_ids(sent: Path) -> set[str]:
    """Request ids the front door answered 202 for."""
    ids: set[str] = set()
    for line in sent.read_text().splitlines():
        answer = json.loads(line)
        if answer["status"] == 202 and answer["request_id"]:
            ids.add(answer["request_id"])
    return ids


def live_charges(payments: Path) -> tuple[Counter[str], Counter[str]]:
    """Per booking: charges made, and charges still live (made minus refunded)."""
    made: Counter[str] = Counter()
    live: Counter[str] = Counter()
    for line in payments.read_text().splitlines():
        entry = json.loads(line)
        if entry["kind"] == "charge":
            made[entry["booking_id"]] += 1
            live[entry["booking_id"]] += 1
        else:
            live[entry["booking_id"]] -= 1
    return made, live


def seats_ok(tally: dict[str, Any]) -> bool:
    """No flight below 0 seats, and every held seat is one booking's."""
    held = tally["held"]
    return all(
        f["seats"] >= 0 and f["capacity"] - f["seats"] == held.get(f["id"], 0)
        for f in tally["flights"]
    )


def summarize(
    accepted: set[str], statuses: dict[str, str], payments: Path, tally: dict[str, Any]
) -> dict[str, Any]:
    """The summary's numbers, from the three records."""
    made, live = live_charges(payments)
    outcome = Counter(FINAL.get(statuses.get(i, ""), "lost") for i in accepted)
    confirmed = {i for i in accepted if statuses.get(i) == "confirmed"}
    wrong = {b for b, n in made.items() if n > 1}
    wrong |= {b for b in confirmed if live[b] != 1}
    wrong |= {b for b in accepted - confirmed if live[b] > 0}
    return {
        "accepted": len(accepted),
        "confirmed": outcome["confirmed"],
        "compensated": outcome["compensated"],
        "dead_lettered": outcome["dead_lettered"],
        "lost": outcome["lost"],
        "duplicates_charged": len(wrong),
        "seats_ok": seats_ok(tally),
    }


async def statuses_in(store: str | None) -> tuple[dict[str, str], dict[str, Any]]:
    """Every booking's status, and the flight tally, read from the store."""
    from examples.booking.app import app, booking_tally

    if store:
        app.store_url = store
    async with app:
        tally = await booking_tally.invoke({"with_statuses": True})
    return dict(tally.pop("by_id")), tally


async def reconcile(store: str | None, payments: Path, sent: Path) -> dict[str, Any]:
    """Read the store and both files; the summary."""
    statuses, tally = await statuses_in(store)
    return summarize(accepted_ids(sent), statuses, payments, tally)


def main(argv: list[str] | None = None) -> None:
    """Print the summary; exit 1 unless lost == 0 and duplicates_charged == 0."""
    parser = argparse.ArgumentParser(
        prog="python -m examples.booking.reconcile", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--store", default=None, help="default: STORMPROOF_STORE")
    parser.add_argument("--payments", type=Path, required=True, help="the payment ledger")
    parser.add_argument("--sent", type=Path, required=True, help="the load generator's file")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    summary = asyncio.run(reconcile(args.store, args.payments, args.sent))
    if args.json:
        print(json.dumps(summary))
    else:
        for name, value in summary.items():
            print(f"{name:>20}  {value}")
    sys.exit(0 if summary["lost"] == 0 and summary["duplicates_charged"] == 0 else 1)


if __name__ == "__main__":
    main()
