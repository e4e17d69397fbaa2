"""``scripts/demo``: the booking system under load through three phases, then the books.

1. normal traffic; 2. the payment API down (the breaker opens, charges wait in the queue);
3. recovery (the backlog drains). Then the reconciliation against the flight table and
the payment provider's ledger: lost = 0, duplicates charged = 0.

    python -m examples.booking.demo [--no-serve] [--postgres] [--workers N] [--duration S]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from examples.booking.processes import ROOT, Fleet, environment, free_port

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"


@dataclass
class Run:
    """One demo run's settings, folder, ports and processes."""

    args: argparse.Namespace
    folder: Path
    store: str
    web: int
    pay: int
    recv: int
    fleet: Fleet

    @property
    def url(self) -> str:
        """The front door."""
        return f"http://127.0.0.1:{self.web}"


def store_for(args: argparse.Namespace, folder: Path) -> str:
    """Embedded SQLite in the run's folder, or PostgreSQL in a schema of its own."""
    if not args.postgres:
        return f"sqlite:///{folder / 'booking.db'}"
    base = os.environ.get("STORMPROOF_STORE", "")
    if not base.startswith("postgres"):
        base = PG_DEFAULT
    if "schema=" in base:
        return base
    joiner = "&" if "?" in base else "?"
    return f"{base}{joiner}schema=booking_demo_{uuid.uuid4().hex[:8]}"


def drop_own_schema(store: str) -> None:
    """Drop the PostgreSQL schema this run made (``booking_demo_*``) once it is over."""
    if "schema=booking_demo_" not in store:
        return
    import psycopg
    from psycopg import sql

    base, _, query = store.partition("?")
    params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
    schema = params.pop("schema")
    dsn = base + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def prepare(args: argparse.Namespace) -> Run:
    """A fresh folder, free ports, the shared environment (set here before the app loads)."""
    folder = (args.folder or ROOT / ".stormproof" / "booking-demo").resolve()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    store = store_for(args, folder)
    pay, recv, web = free_port(), free_port(), free_port()
    # how="chaos": every process of the run obeys the injected faults (STORMPROOF_CHAOS=1).
    env = environment(store, pay, recv, chaos=args.how == "chaos")
    os.environ.update({k: v for k, v in env.items() if k.startswith(("STORMPROOF", "BOOKING"))})
    return Run(args, folder, store, web, pay, recv, Fleet(folder, env))


def start(run: Run) -> str | None:
    """Start every process and wait until each answers; the load generator's API key."""
    f, folder = run.fleet, run.folder
    pay, recv = run.pay, run.recv
    f.start(
        "payment_api",
        [
            "-m",
            "examples.booking.payment_api",
            "--port",
            str(pay),
            "--record",
            str(folder / "payments.jsonl"),
        ],
    )
    f.start(
        "receiver",
        [
            "-m",
            "examples.booking.receiver",
            "--port",
            str(recv),
            "--out",
            str(folder / "received.jsonl"),
        ],
    )
    f.start("dev", ["-m", "stormproof", "dev", "examples.booking:app", "--port", str(run.web)])
    f.wait_http("payment_api", f"http://127.0.0.1:{pay}/stats")
    f.wait_http("receiver", f"http://127.0.0.1:{recv}/")
    f.wait_http("dev", f"{run.url}/healthz", timeout=90)
    for n in range(run.args.workers):
        f.start(f"worker-{n + 1}", ["-m", "stormproof", "worker", "examples.booking:app"])
    return api_key(run)


def api_key(run: Run) -> str | None:
    """A usage plan and a key on it, made with the CLI (the plan throttles per key)."""
    import subprocess

    cli = [sys.executable, "-m", "stormproof", "--store", run.store]
    env = run.fleet.env
    plan = ["plans", "create", "booking-clients", "--rate", "100", "--burst", "50"]
    subprocess.run([*cli, *plan], env=env, check=True, capture_output=True, cwd=ROOT)
    made = subprocess.run(
        [*cli, "keys", "create", "loadgen", "--plan", "booking-clients", "--json"],
        env=env,
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    return str(json.loads(made.stdout)["secret"])


def main(argv: list[str] | None = None) -> None:
    """Parse the command line, run the demo, exit 1 if anything was lost or double-charged."""
    from examples.booking.phases import run_phases

    args = parser().parse_args(argv)
    if not 6 <= args.duration <= 3600:
        sys.exit(f"--duration {args.duration}: allowed range 6..3600 seconds")
    if not 0 <= args.workers <= 16:
        sys.exit(f"--workers {args.workers}: allowed range 0..16")
    run = prepare(args)
    try:
        key = start(run)
        summary = asyncio.run(run_phases(run, key))
        if args.summary:
            args.summary.write_text(json.dumps(summary))
        if not args.no_serve:
            serve(run)
    finally:
        run.fleet.stop()
        drop_own_schema(run.store)
    sys.exit(0 if ok(summary) else 1)


def ok(summary: dict[str, Any]) -> bool:
    """The demo's claims, all of them."""
    settled = summary["confirmed"] + summary["compensated"] + summary["dead_lettered"]
    return (
        summary["lost"] == 0
        and summary["duplicates_charged"] == 0
        and summary["seats_ok"]
        and settled == summary["accepted"]
    )


def serve(run: Run) -> None:
    """Keep everything running until Ctrl-C."""
    import time

    print(f"serving: dashboard {run.url}/ui/ , front door {run.url}/bookings ; Ctrl-C stops")
    try:
        while run.fleet.alive():
            time.sleep(1)
    except KeyboardInterrupt:
        print("stopping")


def parser() -> argparse.ArgumentParser:
    """The command line."""
    p = argparse.ArgumentParser(prog="scripts/demo", description=__doc__.splitlines()[0])
    p.add_argument("--no-serve", action="store_true", help="exit after the summary")
    p.add_argument(
        "--postgres",
        action="store_true",
        help=f"PostgreSQL (STORMPROOF_STORE, else {PG_DEFAULT}, own schema)",
    )
    p.add_argument("--workers", type=int, default=0, help="extra worker processes (0..16)")
    p.add_argument("--duration", type=float, default=60.0, help="seconds of load, 3 phases")
    p.add_argument("--rate", type=float, default=20.0, help="new bookings per second")
    p.add_argument(
        "--how",
        choices=["chaos", "simulator"],
        default="chaos",
        help="how the payment outage is made: a chaos fault, or the payment API's own switch",
    )
    p.add_argument("--folder", type=Path, default=None, help="default .stormproof/booking-demo")
    p.add_argument("--summary", type=Path, default=None, help="also write the summary as JSON")
    return p


if __name__ == "__main__":
    main()
