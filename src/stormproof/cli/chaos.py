"""``stormproof chaos inject|list|stop``: fault injection from the command line.

``--app`` is an app's name, or ``module:attribute`` to take the name (and the store) of an
App; the faults live in the store under that name. This process only writes and reads
them: it never obeys a fault (chaos stays off here whatever ``STORMPROOF_CHAOS`` says).
``stop`` without an id is the kill switch: every process stops obeying within 1 s.
"""

from __future__ import annotations

import json
from typing import Any

import click

from stormproof.app import App
from stormproof.cli.base import emit_json, load_app, main, run, store_url
from stormproof.cli.output import OneLineGroup, json_option, print_table
from stormproof.cli.store import resolved_url
from stormproof.core.faults import Fault
from stormproof.errors import ValidationError
from stormproof.machines.records import iso_time

APP = click.option(
    "--app", "app_spec", required=True, help="The app's name, or module:attribute of an App."
)


@main.group("chaos", cls=OneLineGroup)
def chaos() -> None:
    """Fault injection: inject, list and stop faults (docs/chaos.md)."""


def _controller(ctx: click.Context, spec: str) -> App:
    """An app of that name on the right store, with chaos off (this process never obeys)."""
    if ":" in spec:
        loaded = load_app(spec, store_url(ctx))
        return App(loaded.name, loaded.store_url, chaos=False)
    return App(spec, resolved_url(ctx), chaos=False)


def _latency(value: str | None) -> Any:
    """Seconds, or a JSON distribution (``{"distribution": "uniform", "min": 0.1, ...}``)."""
    if value is None:
        return None
    try:
        parsed = json.loads(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is neither seconds nor JSON") from exc
    return parsed


@chaos.command("inject")
@APP
@click.option("--target", required=True, help="function:NAME, route:METHOD PATH, store...")
@click.option("--action", required=True, help="error|latency|timeout|throttle|drop|crash")
@click.option("--error", default=None, help="action=error: an exception type name.")
@click.option("--status", type=int, default=None, help="action=error: an HTTP status.")
@click.option("--latency", default=None, help="Seconds, or a JSON distribution.")
@click.option("--probability", type=float, default=1.0, show_default=True)
@click.option("--selection", default="ALL", show_default=True, help="ALL|COUNT(n)|PERCENT(p)")
@click.option("--duration", type=float, default=60.0, show_default=True, help="Seconds.")
@click.option("--start-after", type=float, default=0.0, show_default=True, help="Seconds.")
@click.option("--seed", type=int, default=None, help="Makes the per-call draws reproducible.")
@click.option("--name", default=None, help="A label.")
@json_option
@click.pass_context
def inject(ctx: click.Context, /, app_spec: str, as_json: bool, **fields: Any) -> None:
    """Store a fault: every process with chaos enabled obeys it within 1 s, until it
    expires (--duration) or is stopped."""
    fields["latency"] = _latency(fields["latency"])
    try:
        fault = Fault.from_dict(fields)
    except ValidationError as exc:
        raise click.BadParameter(str(exc), param_hint=f"--{exc.field.replace('_', '-')}") from exc
    fault_id = run(
        ctx, lambda app: app.chaos.inject(fault), _controller(ctx, app_spec), create=True
    )
    if as_json:
        emit_json({"id": fault_id, "fault": fault.to_dict()})
    else:
        click.echo(fault_id)


@chaos.command("list")
@APP
@json_option
@click.pass_context
def list_faults(ctx: click.Context, app_spec: str, as_json: bool) -> None:
    """The app's faults not yet expired, with the calls each hit so far."""
    infos = run(ctx, lambda app: app.chaos.faults(), _controller(ctx, app_spec))
    if as_json:
        emit_json(infos)
        return
    print_table(
        ["id", "target", "action", "selection", "active", "expires", "injected"],
        [
            [
                i["id"],
                i["fault"]["target"],
                i["fault"]["action"],
                i["fault"]["selection"],
                "yes" if i["active"] else "waiting",
                iso_time(i["expires_at"]),
                i["injected"],
            ]
            for i in infos
        ],
    )


@chaos.command("stop")
@APP
@click.argument("fault_id", required=False)
@click.pass_context
def stop(ctx: click.Context, app_spec: str, fault_id: str | None) -> None:
    """Remove one fault, or with no ID every fault of the app (the kill switch)."""
    removed = run(ctx, lambda app: app.chaos.stop(fault_id), _controller(ctx, app_spec))
    if fault_id is not None and removed == 0:
        raise click.ClickException(f"no fault {fault_id!r} for app {app_spec!r}")
    click.echo(f"removed {removed} fault{'s' if removed != 1 else ''}")
