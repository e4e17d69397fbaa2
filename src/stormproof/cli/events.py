"""``stormproof events ...``: publish, inspect rules and archives, replay, test patterns.

These commands need no APP: buses are read from the store's catalog, which every app
writes when it opens. Publishing from here matches the stored rules and commits the
deliveries; a worker (or any process running the app) delivers them.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import click

from stormproof import patterns
from stormproof.app import App
from stormproof.bus.events import format_time
from stormproof.bus.replays import ReplayStatus
from stormproof.cli.base import emit_json, main, run, store_url
from stormproof.cli.files import read_text
from stormproof.cli.output import (
    BadUsage,
    CliError,
    OneLineGroup,
    json_option,
    print_fields,
    print_table,
)
from stormproof.cli.shapes import camel_keys, replay_json
from stormproof.cli.store import not_found
from stormproof.core.identity import ACCOUNT, REGION
from stormproof.errors import StormproofError

bus_option = click.option("--bus", default="default", show_default=True, help="Event bus name.")


@main.group("events", cls=OneLineGroup)
def events() -> None:
    """Event buses: publish, rules, targets, archives, replays, pattern tests."""


def _app(ctx: click.Context) -> App:
    app = App("cli", store_url(ctx))
    app.buses.background = False  # a short-lived command must not take over replays
    return app


def _json_arg(name: str, text: str) -> Any:
    """JSON text, or ``@path`` to read it from a file (``@-``: stdin)."""
    if text.startswith("@"):
        text = sys.stdin.read() if text == "@-" else read_text(name, text[1:])
    try:
        return json.loads(text)
    except RecursionError:
        raise BadUsage(f"{name} is nested too deeply") from None
    except ValueError as exc:
        raise BadUsage(f"{name} is not valid JSON: {exc}") from None


# --- publishing ----------------------------------------------------------------------


@events.command("put")
@bus_option
@click.option("--source", help="The event's source.")
@click.option("--detail-type", help="The event's detail-type.")
@click.option("--detail", help="The detail: a JSON object (or @file).")
@click.option("--resource", "resources", multiple=True, help="A resource ARN (repeatable).")
@click.option("--time", "time_", help="The event time (ISO-8601); default now.")
@click.option("--entries", help="Instead: a JSON list of entries (or @file, @- for stdin).")
@json_option
@click.pass_context
def put(
    ctx: click.Context,
    bus: str,
    source: str | None,
    detail_type: str | None,
    detail: str | None,
    resources: tuple[str, ...],
    time_: str | None,
    entries: str | None,
    as_json: bool,
) -> None:
    """Publish events (1-10) to a bus; prints one result per entry."""
    items = _put_entries(entries, source, detail_type, detail, resources, time_)

    async def work(app: App) -> Any:
        return await (await app.buses.get(bus)).put_events(items)

    result = run(ctx, work, _app(ctx))
    rows = [asdict(e) for e in result.entries]
    if as_json:
        emit_json(
            {
                "failedEntryCount": result.failed_entry_count,
                "entries": [camel_keys(r) for r in rows],
            }
        )
    else:
        columns = ["event_id", "error_code", "error_message"]
        print_table(columns, [[r[c] for c in columns] for r in rows])
    if result.failed_entry_count:
        sys.exit(1)


def _put_entries(
    entries: str | None,
    source: str | None,
    detail_type: str | None,
    detail: str | None,
    resources: tuple[str, ...],
    time_: str | None,
) -> Any:
    """The entries of ``put``: the --entries list, else one entry from the other options."""
    if entries is not None:
        return _json_arg("--entries", entries)
    entry: dict[str, Any] = {
        "source": source,
        "detail_type": detail_type,
        "detail": _json_arg("--detail", detail or "null"),
    }
    if resources:
        entry["resources"] = list(resources)
    if time_:
        entry["time"] = time_
    return [entry]


# --- inspection ----------------------------------------------------------------------


async def _catalog(app: App, bus: str | None) -> list[dict[str, Any]]:
    specs = await app.buses.catalog()
    found = [s for s in specs if bus is None or s["name"] == bus]
    if bus is not None and not found:
        raise not_found(click.get_current_context(), f"no bus named {bus!r} in the store")
    return found


@events.command("rules")
@click.option("--bus", default=None, help="Only this bus (default: every bus).")
@json_option
@click.pass_context
def rules(ctx: click.Context, bus: str | None, as_json: bool) -> None:
    """List the rules of the buses in the store."""
    specs = run(ctx, lambda app: _catalog(app, bus), _app(ctx))
    rows = [{"bus": s["name"], **r} for s in specs for r in s["rules"]]
    if as_json:
        emit_json(
            [{**camel_keys(r), "targets": [camel_keys(t) for t in r["targets"]]} for r in rows]
        )
        return
    print_table(
        ["bus", "rule", "pattern / schedule", "enabled", "targets"],
        [
            [r["bus"], r["name"], r["pattern"] or r["schedule"], r["enabled"], len(r["targets"])]
            for r in rows
        ],
    )


@events.command("targets")
@click.argument("rule")
@bus_option
@json_option
@click.pass_context
def targets(ctx: click.Context, rule: str, bus: str, as_json: bool) -> None:
    """List the targets of a rule."""
    [spec] = run(ctx, lambda app: _catalog(app, bus), _app(ctx))
    found = next((r for r in spec["rules"] if r["name"] == rule), None)
    if found is None:
        raise not_found(ctx, f"bus {bus!r} has no rule {rule!r}")
    if as_json:
        emit_json([camel_keys(t) for t in found["targets"]])
        return
    print_table(
        ["id", "kind", "destination", "retries", "max age", "dead letter", "input"],
        [
            [
                t["id"],
                t["kind"],
                t["arn"],
                t["max_retry_attempts"],
                t["max_event_age"],
                t["dead_letter"],
                _shaping(t),
            ]
            for t in found["targets"]
        ],
    )


def _shaping(target: dict[str, Any]) -> str:
    for key in ("input", "input_path", "input_transformer"):
        if target.get(key) is not None:
            return f"{key}={json.dumps(target[key])}"
    return "(event)"


@events.command("archives")
@json_option
@click.pass_context
def archives(ctx: click.Context, as_json: bool) -> None:
    """List archives with their event counts."""

    async def work(app: App) -> list[dict[str, Any]]:
        stats = await app.buses.archive_stats()
        return [
            {
                "bus": s["name"],
                **a,
                "events": stats.get(a["name"], (0, 0))[0],
                "bytes": stats.get(a["name"], (0, 0))[1],
            }
            for s in await _catalog(app, None)
            for a in s["archives"]
        ]

    rows = run(ctx, work, _app(ctx))
    if as_json:
        emit_json([camel_keys(r) for r in rows])
        return
    print_table(
        ["archive", "bus", "pattern", "retention (s)", "events", "bytes"],
        [
            [
                r["name"],
                r["bus"],
                r["pattern"] or "(all)",
                r["retention"] or "forever",
                r["events"],
                r["bytes"],
            ]
            for r in rows
        ],
    )


# --- replays -------------------------------------------------------------------------


def _when(option: str, text: str) -> float:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise BadUsage(f"{option} must be an ISO-8601 time, got {text!r}") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


@events.command("replay")
@click.argument("archive")
@click.option("--start", required=True, help="Window start (ISO-8601, inclusive).")
@click.option("--end", required=True, help="Window end (ISO-8601, exclusive).")
@click.option("--rules", "rule_names", help="Only these rules (comma-separated).")
@click.option("--name", help="Replay name (default: <archive>-<random>).")
@click.option("--no-wait", is_flag=True, help="Leave the replay to running workers.")
@bus_option
@json_option
@click.pass_context
def replay(
    ctx: click.Context,
    archive: str,
    start: str,
    end: str,
    rule_names: str | None,
    name: str | None,
    no_wait: bool,
    bus: str,
    as_json: bool,
) -> None:
    """Re-emit archived events of a time window through the bus's rules."""
    lo, hi = _when("--start", start), _when("--end", end)
    chosen = [r for r in rule_names.split(",") if r] if rule_names else None

    async def work(app: App) -> ReplayStatus:
        app.buses.replays.autorun = not no_wait
        handle = await (await app.buses.get(bus)).start_replay(archive, lo, hi, chosen, name=name)
        return await handle.status() if no_wait else await handle.wait(timeout=24 * 3600)

    _show_status(run(ctx, work, _app(ctx)), as_json)


@events.command("replay-status")
@click.argument("name", required=False)
@json_option
@click.pass_context
def replay_status(ctx: click.Context, name: str | None, as_json: bool) -> None:
    """Show one replay, or list every replay."""

    async def work(app: App) -> list[ReplayStatus]:
        found = await app.buses.replays.list()
        return [s for s in found if name is None or s.name == name]

    found = run(ctx, work, _app(ctx))
    if name is not None:
        if not found:
            raise not_found(ctx, f"no replay named {name!r}")
        _show_status(found[0], as_json)
    elif as_json:
        emit_json([replay_json(s) for s in found])
    else:
        print_table(
            ["replay", "archive", "state", "replayed", "total", "last event time"],
            [
                [s.name, s.archive, s.state, s.replayed, s.total, _iso(s.event_last_replayed_time)]
                for s in found
            ],
        )


def _iso(t: float | None) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, UTC).isoformat()


def _show_status(status: ReplayStatus, as_json: bool) -> None:
    if as_json:
        emit_json(replay_json(status))
        return
    fields = asdict(status)
    for key in ("start", "end", "started_at", "ended_at", "event_last_replayed_time"):
        fields[key] = _iso(fields[key])
    for key in ("owner", "lease_until", "cursor", "last"):
        fields.pop(key)
    print_fields(fields, title=f"replay {status.name}")


# --- patterns ------------------------------------------------------------------------


ENVELOPE_FIELDS = ("version", "id", "account", "time", "region", "resources")


def filled_envelope(event: Any) -> tuple[Any, list[str]]:
    """The event with the envelope fields EventBridge would add filled in (those missing)."""
    if not isinstance(event, dict):
        return event, []  # reported as not valid by the matcher
    stand_ins = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "account": ACCOUNT,
        "time": format_time(time.time()),
        "region": REGION,
        "resources": [],
    }
    filled = [k for k in ENVELOPE_FIELDS if k not in event]
    return {**{k: stand_ins[k] for k in filled}, **event}, filled


@events.command("test-pattern")
@click.argument("pattern")
@click.argument("event")
@click.option("--strict", is_flag=True, help="Fill no envelope field (AWS's TestEventPattern).")
@json_option
def test_pattern(pattern: str, event: str, strict: bool, as_json: bool) -> None:
    """Whether EVENT matches PATTERN (both JSON text, or @file): prints true or false.

    EVENT may hold only source, detail-type and detail: the envelope fields EventBridge adds
    (version, id, account, time, region, resources) are filled in when missing, unless
    --strict.
    """
    value: Any = _json_arg("EVENT", event)
    filled: list[str] = []
    if not strict:
        value, filled = filled_envelope(value)
    try:
        matched = patterns.compile(_json_arg("PATTERN", pattern)).matches(value)
    except StormproofError as exc:
        raise CliError(str(exc)) from None
    if as_json:
        emit_json({"result": matched, "filledFields": filled})
    else:
        click.echo("true" if matched else "false")
