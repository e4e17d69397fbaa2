"""``stormproof breakers ...`` and ``stormproof limits ...``: the shared resilience state.

Both read the state records global breakers (``breaker/<name>``) and limits
(``limit/<name>/<key>``) keep in the store; ``ls`` and ``show`` change nothing (and create
no store). ``breakers open`` isolates a breaker (every process stops calling within
200 ms and a round trip: ``engine.breakers.STALE_MAX``), ``close`` forces it closed,
``reset`` forgets its state (closed, no trips); each records who and when. A
process-scope breaker has no record: the CLI cannot see or override it.
"""

from __future__ import annotations

import getpass
import json
from typing import Any

import click

from stormproof.app import App
from stormproof.cli.base import emit_json, main, run
from stormproof.cli.output import OneLineGroup, json_option, print_fields, print_table
from stormproof.cli.store import not_found
from stormproof.core import breaker as core
from stormproof.core.breaker import State
from stormproof.engine.breaker_registry import force_record
from stormproof.machines.records import iso_time
from stormproof.storage.base import DeleteState, StateRecord

BY = click.option("--by", default=None, help="Who overrides (default: the login name).")


@main.group("breakers", cls=OneLineGroup)
def breakers() -> None:
    """Circuit breakers (global scope): list, inspect, force open or closed, reset."""


def _fields(name: str, b: core.Breaker, updated_at: float) -> dict[str, Any]:
    return {
        "name": name,
        "state": b.state.value,
        "open_until": iso_time(b.open_until) if b.state is not State.CLOSED else None,
        "trips": b.trips,
        "calls_in_window": b.calls,
        "failures_in_window": b.failures,
        "probes_held": len(b.probes),
        "reason": b.reason,
        "updated_at": iso_time(updated_at),
    }


def _breaker(rec: StateRecord) -> dict[str, Any]:
    b = core.from_dict(json.loads(rec.value))
    return _fields(rec.key.removeprefix("breaker/"), b, rec.updated_at)


@breakers.command("ls")
@json_option
@click.pass_context
def ls(ctx: click.Context, as_json: bool) -> None:
    """Every global breaker with a stored state."""
    rows = [_breaker(r) for r in run(ctx, lambda app: app.store.list_states("breaker/"))]
    if as_json:
        emit_json(rows)
        return
    print_table(
        ["name", "state", "open_until", "trips", "reason"],
        [[r["name"], r["state"], r["open_until"] or "-", r["trips"], r["reason"]] for r in rows],
    )


async def _get(ctx: click.Context, app: App, name: str) -> dict[str, Any]:
    rec = await app.store.get_state(f"breaker/{name}")
    if rec is None:
        raise not_found(ctx, f"no breaker {name!r} has a stored state")
    return _breaker(rec)


def _show(row: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(row)
    else:
        print_fields(row, title="breaker")


@breakers.command("show")
@click.argument("name")
@json_option
@click.pass_context
def show(ctx: click.Context, name: str, as_json: bool) -> None:
    """One breaker's state, window counts and last reason."""
    _show(run(ctx, lambda app: _get(ctx, app, name)), as_json)


def _force(ctx: click.Context, name: str, state: State, by: str | None, as_json: bool) -> None:
    who = by or getpass.getuser()

    async def work(app: App) -> dict[str, Any]:
        b = await force_record(app.store, name, state, app.clock.now(), who)
        return _fields(name, b, app.clock.now())

    _show(run(ctx, work), as_json)


@breakers.command("open")
@click.argument("name")
@BY
@json_option
@click.pass_context
def force_open(ctx: click.Context, name: str, by: str | None, as_json: bool) -> None:
    """Isolate: force the breaker open until closed again (calls and claims stop)."""
    _force(ctx, name, State.OPEN, by, as_json)


@breakers.command("close")
@click.argument("name")
@BY
@json_option
@click.pass_context
def force_close(ctx: click.Context, name: str, by: str | None, as_json: bool) -> None:
    """Force the breaker closed (calls and claims resume)."""
    _force(ctx, name, State.CLOSED, by, as_json)


@breakers.command("reset")
@click.argument("name")
@click.pass_context
def reset(ctx: click.Context, name: str) -> None:
    """Forget the breaker's state: closed, no trips, an empty window."""

    async def work(app: App) -> None:
        await _get(ctx, app, name)
        await app.store.apply([DeleteState(f"breaker/{name}")])

    run(ctx, work)
    click.echo(f"breaker {name!r} reset")


@main.group("limits", cls=OneLineGroup)
def limits() -> None:
    """Global rate limits: list and inspect their per-key state."""


def _limit(rec: StateRecord, now: float) -> dict[str, Any]:
    _, name, key = rec.key.split("/", 2)
    tats = json.loads(rec.value).get("tats", [])
    return {
        "name": name,
        "key": key or "(default)",
        "full_again_in": [round(max(0.0, t - now), 3) for t in tats],
        "updated_at": iso_time(rec.updated_at),
    }


async def _limits(app: App, prefix: str) -> list[dict[str, Any]]:
    now = app.clock.now()
    return [_limit(r, now) for r in await app.store.list_states(prefix)]


@limits.command("ls")
@json_option
@click.pass_context
def limits_ls(ctx: click.Context, as_json: bool) -> None:
    """Every limit key with a stored state (one row per limit and key)."""
    rows = run(ctx, lambda app: _limits(app, "limit/"))
    if as_json:
        emit_json(rows)
        return
    print_table(
        ["name", "key", "full_again_in (s, per rate)", "updated_at"],
        [[r["name"], r["key"], r["full_again_in"], r["updated_at"]] for r in rows],
    )


@limits.command("show")
@click.argument("name")
@json_option
@click.pass_context
def limits_show(ctx: click.Context, name: str, as_json: bool) -> None:
    """One limit's keys: how long until each rate's bucket is full again."""

    async def work(app: App) -> list[dict[str, Any]]:
        rows = await _limits(app, f"limit/{name}/")
        if not rows:
            raise not_found(ctx, f"no limit {name!r} has a stored state")
        return rows

    rows = run(ctx, work)
    if as_json:
        emit_json(rows)
        return
    print_table(
        ["key", "full_again_in (s, per rate)", "updated_at"],
        [[r["key"], r["full_again_in"], r["updated_at"]] for r in rows],
    )
