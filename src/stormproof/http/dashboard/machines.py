"""State machines: executions filtered by status (and machine); one execution's graph
drawn from its definition with each state coloured by status, its history and each
step's input and output; stop and redrive buttons."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from stormproof.errors import InvalidAttribute
from stormproof.http.dashboard import graph
from stormproof.http.dashboard.guard import Guard
from stormproof.http.dashboard.html import esc, form, link, page, pretty, table, url
from stormproof.http.dashboard.map_runs import map_run_sections

if TYPE_CHECKING:
    from stormproof.app import App

STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE")


async def executions_page(app: App, request: Request) -> Response:
    """Executions, newest first, filtered by ``status`` and ``machine``."""
    status = request.query_params.get("status") or None
    machine = request.query_params.get("machine") or None
    if status is not None and status not in STATUSES:
        raise InvalidAttribute("status", status, f"one of {', '.join(STATUSES)}")
    found = await app.list_executions(machine, status, 200)
    rows = [
        [
            link(url("executions", e.arn), e.name),
            esc(e.machine),
            f'<span class="status-{esc(e.status.lower())}">{esc(e.status)}</span>',
            esc(e.error),
        ]
        for e in found
    ]
    options = "".join(f"<option{' selected' if s == status else ''}>{s}</option>" for s in STATUSES)
    machines = "".join(
        f"<option{' selected' if m.name == machine else ''}>{esc(m.name)}</option>"
        for m in app.machines.machines
    )
    filters = (
        '<form method="get" class="filters"><label for="f-status">Status</label>'
        '<select id="f-status" name="status"><option value="">any</option>'
        f'{options}</select><label for="f-machine">Machine</label>'
        '<select id="f-machine" name="machine"><option value="">any</option>'
        f"{machines}</select><button>Filter</button></form>"
    )
    body = filters + table(["execution", "machine", "status", "error"], rows)
    return page("State machines", body)


async def execution_page(app: App, guard: Guard, request: Request) -> Response:
    """One execution: graph, facts, history with each step's input and output."""
    arn = request.path_params["arn"]
    info = await app.describe_execution(arn)
    row = await app.machines.load(arn)
    definition: dict[str, Any] = json.loads(row.definition) if row and row.definition else {}
    history = await app.get_execution_history(arn)
    drawing = graph.svg(definition, graph.statuses(definition, history))
    legend = "".join(
        f'<li><svg class="swatch" width="14" height="14" aria-hidden="true">'
        f'<rect width="14" height="14" rx="2" fill="{c}"/></svg>{esc(s)}</li>'
        for s, c in graph.COLOURS.items()
    )
    badge = f'<span class="status-{esc(info.status.lower())}">{esc(info.status)}</span>'
    facts = [
        ["status", badge],
        ["machine", esc(info.machine)],
        ["error", esc(info.error)],
        ["cause", esc(info.cause)],
        ["redrives", esc(info.redrive_count)],
    ]
    if info.map_run:
        facts.append(["map run", f"<code>{esc(info.map_run)}</code>"])
    events = [
        [esc(e.get("id")), esc(e.get("type")), esc(e.get("timestamp")), pretty(_details(e))]
        for e in history
    ]
    actions = _actions(guard, arn, info.status)
    body = (
        f'<div class="graph-box">{drawing}<ul class="legend">{legend}</ul></div>'
        f'{table(["field", "value"], facts)}<div class="actions">{actions}</div>'
        f"<h2>Input</h2>{pretty(info.input)}<h2>Output</h2>{pretty(info.output)}"
        f"<h2>History</h2>{table(['id', 'event', 'time', 'details'], events)}"
    )
    return page(f"Execution {info.name}", body + await map_run_sections(app, history))


def _actions(guard: Guard, arn: str, status: str) -> str:
    """Stop for a running execution, redrive for one that ended badly."""
    actions = ""
    if status == "RUNNING":
        actions += form(
            url("executions", arn, "stop"), guard.csrf, "", "Stop", confirm="Stop this execution?"
        )
    if status in ("FAILED", "TIMED_OUT", "ABORTED"):
        actions += form(
            url("executions", arn, "redrive"),
            guard.csrf,
            "",
            "Redrive",
            confirm="Redrive this execution from its failed state?",
        )
    return actions


def _details(event: dict[str, Any]) -> Any:
    return {k: v for k, v in event.items() if k.endswith("EventDetails")}


async def stop(app: App, guard: Guard, request: Request) -> Response:
    """Stop a running execution."""
    arn = request.path_params["arn"]
    await guard.write_form(request)
    await guard.record(request, "stop execution", arn)
    await app.stop_execution(arn, "Dashboard.Stop", "stopped from the dashboard")
    return RedirectResponse(url("executions", arn), 303)


async def redrive(app: App, guard: Guard, request: Request) -> Response:
    """Redrive a failed execution."""
    arn = request.path_params["arn"]
    await guard.write_form(request)
    await guard.record(request, "redrive execution", arn)
    await app.redrive_execution(arn)
    return RedirectResponse(url("executions", arn), 303)
