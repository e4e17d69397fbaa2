"""``stormproof alarms ls|show``: the alarm states the evaluator keeps in the store.

Both read the records ``alarms/<app>/state/<alarm>`` (and the incidents of the alarm's
object); they change nothing and need no app code. An alarm appears once a worker of its
app has evaluated it (within a second of the worker starting).
"""

from __future__ import annotations

import json
from typing import Any

import click

from stormproof.app import App
from stormproof.cli.base import emit_json, main, run
from stormproof.cli.output import OneLineGroup, json_option, print_fields, print_table
from stormproof.cli.store import not_found
from stormproof.core import alarm as core
from stormproof.core.alarm_notice import iso
from stormproof.storage.base import StateRecord

APP = click.option("--app", "app_name", default=None, help="Only this app's alarms.")


@main.group("alarms", cls=OneLineGroup)
def alarms() -> None:
    """Alarms: their state (OK or ALARM), why, and the incidents they carry."""


def _row(rec: StateRecord) -> dict[str, Any]:
    _, app, _, name = rec.key.split("/", 3)
    stored = json.loads(rec.value)
    state = core.AlarmState.from_json(stored["alarm"])
    return {
        "app": app,
        "name": name,
        "metric": stored.get("metric"),
        "state": state.state,
        "value": state.value,
        "since": iso(state.changed_at) if state.changed_at else None,
        "reason": state.reason,
        "evaluated_at": iso(rec.updated_at),
    }


async def _rows(app: App, app_name: str | None) -> list[dict[str, Any]]:
    records = await app.store.list_states("alarms/")
    rows = [_row(r) for r in records if r.key.split("/")[2:3] == ["state"]]
    return [r for r in rows if app_name in (None, r["app"])]


@alarms.command("ls")
@APP
@json_option
@click.pass_context
def ls(ctx: click.Context, app_name: str | None, as_json: bool) -> None:
    """Every evaluated alarm with its state, value and reason."""
    rows = run(ctx, lambda app: _rows(app, app_name))
    if as_json:
        emit_json(rows)
        return
    print_table(
        ["app", "name", "metric", "state", "value", "since", "reason"],
        [
            [
                r["app"],
                r["name"],
                r["metric"],
                r["state"],
                f"{r['value']:g}",
                r["since"] or "-",
                r["reason"],
            ]
            for r in rows
        ],
    )


async def _show(ctx: click.Context, app: App, name: str, app_name: str | None) -> dict[str, Any]:
    found = [r for r in await _rows(app, app_name) if r["name"] == name]
    if not found:
        raise not_found(ctx, f"no alarm {name!r} has a stored state")
    if len(found) > 1:
        raise click.UsageError(f"alarm {name!r} exists in several apps: pass --app")
    row = found[0]
    selector = core.parse_selector(row["metric"])
    about = f"{selector.kind}:{selector.subject}"
    rec = await app.store.get_state(f"alarms/{row['app']}/incidents/{about}")
    items = json.loads(rec.value)["items"] if rec else []
    return {**row, "incidents": items[-10:]}


@alarms.command("show")
@click.argument("name")
@APP
@json_option
@click.pass_context
def show(ctx: click.Context, name: str, app_name: str | None, as_json: bool) -> None:
    """One alarm: its state and reason, and the newest incidents on its object (the failed
    event, the error and the command that redrives it)."""
    row = run(ctx, lambda app: _show(ctx, app, name, app_name))
    if as_json:
        emit_json(row)
        return
    items = row.pop("incidents")
    print_fields(row, title="alarm")
    for item in items:
        click.echo(
            f"- {item['kind']} {item.get('error_type')}: {item.get('error_message')}"
            f"  redrive: {item.get('redrive') or '-'}"
        )
