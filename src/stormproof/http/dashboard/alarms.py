"""Alarms: the Alarms page (every evaluated alarm, firing first, with the newest incidents
on its object), the overview's "alarms firing" section, and the error details of
dead-lettered messages on a DLQ's page and a message's page.

Everything here reads what the alarm evaluator and the incident collector keep in the
store (``alarms/<app>/state/<alarm>``, ``alarms/<app>/incidents/<kind>:<object>``, see
docs/observability.md); the dashboard evaluates nothing itself.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from stormproof.core import alarm as core
from stormproof.core.alarm_notice import iso
from stormproof.http.dashboard.html import esc, link, page, table, url

if TYPE_CHECKING:
    from stormproof.app import App


def key(app: str, *parts: str) -> str:
    """The state key ``alarms/<app>/<parts...>`` (telemetry.alarm_store's layout; an
    observer package the dashboard may not import)."""
    return "/".join(("alarms", app, *parts))


SHOWN_INCIDENTS = 10  # per alarm on the Alarms page; the DLQ page shows every kept one


async def alarm_rows(app: App) -> list[dict[str, Any]]:
    """Every alarm of the app with a stored state, those in ALARM first, then by name."""
    rows = []
    for rec in await app.store.list_states(key(app.name, "state", "")):
        stored = json.loads(rec.value)
        state = core.AlarmState.from_json(stored["alarm"])
        rows.append(
            {
                "name": rec.key.rsplit("/", 1)[1],
                "metric": stored.get("metric"),
                "state": state.state,
                "value": state.value,
                "reason": state.reason,
                "since": iso(state.changed_at) if state.changed_at else None,
                "evaluated_at": iso(rec.updated_at),
            }
        )
    rows.sort(key=lambda r: (r["state"] != core.ALARM, r["name"]))
    return rows


async def incidents(app: App, subject: str) -> list[dict[str, Any]]:
    """The kept incidents about ``subject`` (``queue:orders-dlq``), newest first."""
    rec = await app.store.get_state(key(app.name, "incidents", subject))
    items: list[dict[str, Any]] = json.loads(rec.value)["items"] if rec else []
    return items[::-1]


def _object_link(metric: str | None) -> str:
    try:
        selector = core.parse_selector(metric)
    except ValueError:
        return esc(metric)
    pages = {
        "queue": url("queues", selector.subject),
        "breaker": url("breakers"),
        "stream": url("streams"),
        "machine": url("machines") + "?machine=" + selector.subject,
    }
    href = pages.get(selector.kind)
    return link(href, str(selector)) if href else esc(selector)


def _alarm_cells(r: dict[str, Any]) -> list[str]:
    cls = "class:alert" if r["state"] == core.ALARM else "class:"
    state = f'<span class="alarm-{esc(r["state"].lower())}">{esc(r["state"])}</span>'
    return [
        cls,
        esc(r["name"]),
        _object_link(r["metric"]),
        state,
        esc(f"{r['value']:g}"),
        esc(r["since"] or "–"),
        esc(r["reason"]),
    ]


HEADERS = ["alarm", "metric", "state", "value", "since", "reason"]


async def firing_cells(app: App) -> list[list[str]]:
    """The alarms in ALARM now, as table cells (the overview's rows, also sent live)."""
    return [_alarm_cells(r) for r in await alarm_rows(app) if r["state"] == core.ALARM]


async def firing_section(app: App) -> str:
    """The overview's section: the alarms in ALARM now."""
    rows = table(HEADERS, await firing_cells(app), body_id="alarm-rows")
    every = link(url("alarms"), "every alarm")
    return (
        f'<section aria-labelledby="h-a"><h2 id="h-a">Alarms firing</h2>'
        f"{rows}<p>{every}</p></section>"
    )


def incident_cells(item: dict[str, Any]) -> list[str]:
    """One incident as table cells: what failed (linked), the error, attempts, times."""
    if item.get("message_id"):
        what = link(url("queues", item["dlq"], "messages", item["message_id"]), item["message_id"])
    elif item.get("execution_arn"):
        what = link(url("executions", item["execution_arn"]), item["execution_arn"])
    else:
        what = esc(item.get("kind"))
    when = item.get("dead_lettered_at") or item.get("failed_at") or item.get("at")
    source = item.get("queue") or item.get("machine") or item.get("function")
    started = item.get("sent_at") or item.get("started_at")
    texts = [
        source,
        item.get("error_type"),
        item.get("error_message"),
        item.get("attempts"),
        started,
        when,
    ]
    return [what, *(esc(t if t not in (None, "") else "–") for t in texts)]


INCIDENT_HEADERS = [
    "failed",
    "from",
    "error type",
    "error message",
    "attempts",
    "sent / started",
    "failed at",
]


async def alarms_page(app: App, request: Request) -> Response:
    """Every alarm, firing first; under each alarm in ALARM its newest incidents."""
    rows = await alarm_rows(app)
    if not rows:  # an alarm appears once a worker of the app has evaluated it
        return page("Alarms", "<p>no alarm evaluated yet (a worker evaluates every second)</p>")
    body = table(HEADERS, [_alarm_cells(r) for r in rows])
    for r in rows:
        if r["state"] != core.ALARM:
            continue
        selector = core.parse_selector(r["metric"])
        items = await incidents(app, f"{selector.kind}:{selector.subject}")
        cells = [incident_cells(i) for i in items[:SHOWN_INCIDENTS]]
        body += (
            f"<section><h2>Incidents of {esc(r['name'])}</h2>"
            f"{table(INCIDENT_HEADERS, cells)}</section>"
        )
    return page("Alarms", body)


async def dlq_failures(app: App, dlq: str) -> str:
    """A DLQ page's section: each dead-lettered message's error details."""
    items = [i for i in await incidents(app, f"queue:{dlq}") if i.get("message_id")]
    return (
        f'<section aria-labelledby="h-fail"><h2 id="h-fail">Failures</h2>'
        f"{table(INCIDENT_HEADERS, [incident_cells(i) for i in items])}</section>"
    )


async def message_failure(app: App, queue: str, message_id: str) -> str:
    """A message page's section: why it was dead-lettered, when the runtime recorded it."""
    for item in await incidents(app, f"queue:{queue}"):
        if item.get("message_id") == message_id:
            facts = [
                [esc(k), esc(item.get(k) or "–")]
                for k in (
                    "error_type",
                    "error_message",
                    "attempts",
                    "queue",
                    "function",
                    "sent_at",
                    "dead_lettered_at",
                    "redrive",
                )
            ]
            return f"<h2>Why it failed</h2>{table(['field', 'value'], facts)}"
    return ""
