"""Breakers (state, counts, force open/closed), the event bus (rules with patterns and
targets, a pattern tester) and the audit log."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from stormproof.bus.events import ACCOUNT, REGION
from stormproof.core.breaker import State
from stormproof.errors import InvalidAttribute
from stormproof.http.dashboard.archives import archive_section
from stormproof.http.dashboard.functions import activity_of
from stormproof.http.dashboard.guard import Guard, read_form
from stormproof.http.dashboard.html import esc, form, page, pretty, table, url
from stormproof.http.dashboard.overview import breaker_rows

if TYPE_CHECKING:
    from stormproof.app import App


SHOWN_TRANSITIONS = 5


def _transitions(record: Any) -> str:
    """The newest transitions, newest first: ``closed → open 12:00:01Z (reason)``."""
    items = (record or {}).get("t") or []
    lines = [
        f"{esc(t['from'])} → {esc(t['to'])} "
        f"{esc(datetime.fromtimestamp(t['at'], UTC).strftime('%H:%M:%SZ'))}"
        f" ({esc(t['reason'])})"
        for t in items[::-1][:SHOWN_TRANSITIONS]
    ]
    return "<br>".join(lines) or "–"


async def breakers_page(app: App, guard: Guard, request: Request) -> Response:
    """Every declared breaker with its state, recent transitions and force buttons."""
    seen = await activity_of(app, "breaker")
    rows = []
    for b in await breaker_rows(app):
        buttons = "".join(
            form(
                url("breakers", b["name"], "force"),
                guard.csrf,
                f'<input type="hidden" name="state" value="{s}">',
                f"Force {s}",
                confirm=f"Force breaker {b['name']} {s}?",
            )
            for s in ("open", "closed")
        )
        rows.append(
            [
                f'<span id="b-{esc(b["name"])}">{esc(b["name"])}</span>',
                f'<span class="state-{esc(b["state"])}">{esc(b["state"])}</span>',
                esc(b["calls"]),
                esc(b["trips"]),
                esc(b["reason"]),
                _transitions(seen.get(b["name"])),
                buttons,
            ]
        )
    headers = [
        "breaker",
        "state",
        "calls in window",
        "trips",
        "reason",
        "recent transitions (newest first)",
        "force",
    ]
    return page("Breakers", table(headers, rows))


async def force(app: App, guard: Guard, request: Request) -> Response:
    """Force a breaker open (isolate) or closed (reset)."""
    name = request.path_params["name"]
    data = await guard.write_form(request)
    wanted = str(data.get("state", ""))
    if wanted not in ("open", "closed"):
        raise InvalidAttribute("state", wanted, "open or closed")
    await guard.record(request, f"force {wanted}", f"breaker {name}")
    await app.breakers.get(name).force(State(wanted), by="dashboard")
    return RedirectResponse(url("breakers"), 303)


async def buses_page(app: App, guard: Guard, request: Request, tested: str = "") -> Response:
    """Every bus's rules (pattern, targets) and the pattern tester."""
    sections = []
    for bus in app.buses.buses.values():
        rows = [
            [
                esc(r.name),
                pretty(r.pattern_text) if r.pattern_text else esc(r.schedule),
                esc(", ".join(_target_name(t) for t in r.targets)),
                "yes" if r.enabled else "no",
            ]
            for r in bus.rules.values()
        ]
        tester = form(
            url("buses", bus.name, "test"),
            guard.csrf,
            f'<label for="f-event-{esc(bus.name)}">Event (JSON)</label>'
            f'<textarea id="f-event-{esc(bus.name)}" name="event" rows="4">'
            '{"source": "app", "detail-type": "x", "detail": {}}</textarea>',
            "Test pattern",
        )
        rules = table(["rule", "pattern", "targets", "enabled"], rows)
        archives = await archive_section(app, guard, bus)
        sections.append(f"<section><h2>Bus {esc(bus.name)}</h2>{rules}{tester}{archives}</section>")
    return page("Event bus", tested + ("".join(sections) or "<p>no buses</p>"))


def _target_name(target: Any) -> str:
    return str(getattr(target, "name", None) or getattr(target, "url", None) or target)


async def test_pattern(app: App, guard: Guard, request: Request) -> Response:
    """Which rules of a bus match a pasted event (no event is published)."""
    data = await read_form(request)
    guard.check_read(request)
    bus = app.buses.buses.get(request.path_params["name"])
    if bus is None:
        raise InvalidAttribute("bus", request.path_params["name"], "a declared bus")
    try:
        event = json.loads(str(data.get("event", "")))
    except ValueError as exc:
        raise InvalidAttribute("event", str(data.get("event", ""))[:80], "a JSON object") from exc
    if not isinstance(event, dict):
        raise InvalidAttribute("event", event, "a JSON object")
    # The envelope fields a pasted event usually lacks are filled in, as PutEvents would.
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    envelope = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "account": ACCOUNT,
        "time": now,
        "region": REGION,
        "resources": [],
    }
    event = {**envelope, **event}
    matched = [r.name for r in bus.matching(event)]
    result = (
        f'<section class="result" aria-live="polite"><h2>Tester: bus {esc(bus.name)}</h2>'
        f"<p>matching rules: <b>{esc(', '.join(matched) or 'none')}</b></p>"
        f"{pretty(event)}</section>"
    )
    return await buses_page(app, guard, request, result)


async def audit_page(guard: Guard, request: Request) -> Response:
    """The audit log, newest first."""
    rows = [
        [
            esc(datetime.fromtimestamp(e["at"], UTC).isoformat(timespec="seconds")),
            esc(e["who"]),
            esc(e["action"]),
            esc(e["target"]),
        ]
        for e in await guard.entries()
    ]
    return page("Audit log", table(["when", "who", "action", "target"], rows))
