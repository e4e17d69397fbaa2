"""The demo's three phases of load with the live view, then the reconciliation."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from rich.live import Live

from examples.booking import load as loadgen
from examples.booking import view

if TYPE_CHECKING:
    from examples.booking.demo import Run

SETTLE_TIMEOUT = 180.0  # seconds to wait for the last bookings after the load stops
ALERT_TIMEOUT = 15.0  # seconds to wait for the last failed booking's alarm notification


async def run_phases(run: Run, api_key: str | None) -> dict[str, Any]:
    """Drive the load, show it live, settle, reconcile, print the summary; return it."""
    from examples.booking.app import app

    app.store_url = run.store
    out = view.console()
    load = loadgen.Load(
        run.url,
        run.folder / "sent.jsonl",
        duplicates=0.1,
        api_key=api_key,
        callback_url=f"http://127.0.0.1:{run.recv}/outcomes",
    )
    state = {"phase": "normal"}
    async with app:
        watcher = view.Watcher()
        shown = asyncio.create_task(show(out, watcher, state, load))
        sse = asyncio.create_task(follow_one(run.url, load))
        how = await drive(app, run, load, state)
        state["phase"] = "settling"
        await settle(watcher, load)
        state["phase"] = "done"
        await shown
        summary = await finish(run, load, how, await sse)
        summary["backlog_peak"] = watcher.snap.backlog_peak
        summary["backlog_end"] = watcher.snap.backlog
        summary["breaker_open_in"] = watcher.open_in
    print_summary(out, summary, run)
    return summary


async def drive(app: Any, run: Run, load: loadgen.Load, state: dict[str, str]) -> str:
    """The three phases; returns how the outage was made."""
    from examples.booking.outage import start_payment_outage

    third = run.args.duration / 3
    how = "none"
    async with loadgen.new_client() as client:
        for phase in ("normal", "outage", "recovery"):
            state["phase"] = phase
            if phase == "outage":
                how = await start_payment_outage(app, third, how=run.args.how)
            await loadgen.drive(client, load, run.args.rate, third)
        await loadgen.finish(load)
    return how


async def settle(watcher: view.Watcher, load: loadgen.Load) -> None:
    """Wait until every accepted booking is in a final state (or the timeout)."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while time.monotonic() < deadline:
        if watcher.snap.settled >= len(load.accepted) and watcher.snap.backlog == 0:
            return
        await asyncio.sleep(0.5)


async def show(out: Any, watcher: view.Watcher, state: dict[str, str], load: loadgen.Load) -> None:
    """The live view until the phase is ``done``: a rich panel on a terminal, else lines."""
    if out.is_terminal:
        with Live(view.panel(watcher.snap), console=out, refresh_per_second=4) as live:
            while state["phase"] != "done":
                live.update(view.panel(await watcher.safe_read(state["phase"], len(load.accepted))))
                await asyncio.sleep(0.5)
        return
    last, printed = "", 0.0
    while state["phase"] != "done":
        snap = await watcher.safe_read(state["phase"], len(load.accepted))
        if snap.phase != last:
            print(f"== phase {snap.phase}: {view.PHASES[snap.phase]}", flush=True)
            last = snap.phase
        if time.monotonic() - printed >= 3:
            print(view.line(snap), flush=True)
            printed = time.monotonic()
        await asyncio.sleep(0.5)


async def follow_one(url: str, load: loadgen.Load) -> list[str]:
    """Follow the first accepted booking by SSE (GET /requests/{id}/events): its states."""
    while not load.accepted:
        await asyncio.sleep(0.1)
    request_id = next(iter(load.accepted))
    states: list[str] = []
    try:
        async with httpx.AsyncClient(timeout=httpx.Timeout(5, read=60)) as client:
            stream = client.stream("GET", f"{url}/requests/{request_id}/events")
            async with stream as answer:
                async for text in answer.aiter_lines():
                    if text.startswith("data:"):
                        states.append(json.loads(text[5:])["state"])
                        if states[-1] in ("succeeded", "failed"):
                            break
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        states.append(f"error: {type(exc).__name__}")
    return states


async def finish(run: Run, load: loadgen.Load, how: str, sse: list[str]) -> dict[str, Any]:
    """The reconciliation plus what the client side saw."""
    from examples.booking.reconcile import reconcile

    summary = await reconcile(run.store, run.folder / "payments.jsonl", load.out)
    failures = summary["compensated"] + summary["dead_lettered"]
    received = await received_alerts(run.folder / "received.jsonl", failures)
    summary.update(
        duplicates_sent=sum(
            1 for line in load.out.read_text().splitlines() if json.loads(line)["duplicate"]
        ),
        answers={str(k): v for k, v in sorted(load.answers.items())},
        outage=how,
        webhooks=sum(1 for r in received if r["kind"] == "outcome"),
        notifications=sum(1 for r in received if r["kind"] == "notification"),
        sse=sse,
        **alerts(received),
    )
    return summary


async def received_alerts(path: Path, failures: int) -> list[dict[str, Any]]:
    """What the receiver got, once every failed booking's alert is in (the alarm loop
    delivers a failure within ~3 s of it) or ALERT_TIMEOUT passed."""
    deadline = time.monotonic() + ALERT_TIMEOUT
    while True:
        text = await asyncio.to_thread(path.read_text)
        received = [json.loads(x) for x in text.splitlines()]
        if alerts(received)["alerted_bookings"] >= failures or time.monotonic() > deadline:
            return received
        await asyncio.sleep(0.5)


def alerts(received: list[dict[str, Any]]) -> dict[str, Any]:
    """The alarms' notifications: how many, the failed bookings they carried (each with its
    event and redrive command), and whether the payments-api breaker's alarm fired."""
    bodies = [r["body"] for r in received if r["kind"] == "alarm"]
    carried = {
        i["execution_arn"]
        for b in bodies
        for i in b["incidents"]
        if i["kind"] == "failed_execution" and i.get("event") is not None and i.get("redrive")
    }
    return {
        "alarm_notifications": len(bodies),
        "alerted_bookings": len(carried),
        "breaker_alarm": any(
            b["alarm"] == "breaker:payments-api" and b["to"] == "ALARM" for b in bodies
        ),
    }


def print_summary(out: Any, s: dict[str, Any], run: Run) -> None:
    """The final lines."""
    print(
        f"accepted {s['accepted']}, confirmed {s['confirmed']}, compensated "
        f"{s['compensated']}, dead-lettered {s['dead_lettered']}, lost = {s['lost']}, "
        f"duplicates charged = {s['duplicates_charged']}, seats ok = {s['seats_ok']}"
    )
    print(
        f"payment backlog peak {s['backlog_peak']} (waited in the queue while the breaker was "
        f"open), at the end {s['backlog_end']}; breaker seen open in: "
        f"{', '.join(s['breaker_open_in']) or 'no phase'}"
    )
    print(
        f"duplicate submissions {s['duplicates_sent']} (answered from the idempotency "
        f"record), answers {s['answers']}, outage by {s['outage']}"
    )
    print(
        f"outcome webhooks {s['webhooks']}, bus notifications {s['notifications']}, "
        f"SSE followed one booking: {' -> '.join(s['sse'])}"
    )
    print(
        f"alarm notifications {s['alarm_notifications']}: {s['alerted_bookings']} of "
        f"{s['compensated'] + s['dead_lettered']} failed bookings sent with their event and "
        f"redrive command; breaker alarm fired: "
        f"{s['breaker_alarm']}"
    )
    print(f"store {run.store}; files in {run.folder}")
    print(f"dashboard: {run.url}/ui/")
    sys.stdout.flush()
