"""``stormproof executions ...``: start, inspect, stop and redrive executions.

Executions are operated on the store alone (``--store``): a machine is stored when an app
declaring it opens (a worker, for instance), so ``executions start`` needs no APP; the
workers of that app run the execution. Human-readable output by default, ``--json`` for
machines; errors are one line on stderr with a non-zero exit code.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from stormproof.app import App
from stormproof.cli.base import emit_json, main, run
from stormproof.cli.execution_refs import resolve, wait_until_done
from stormproof.cli.files import read_text
from stormproof.cli.output import BadUsage, OneLineGroup, json_option, print_fields, print_table
from stormproof.machines.records import STATUSES, ExecutionInfo, iso_time


@main.group("executions", cls=OneLineGroup)
def executions() -> None:
    """State machine executions: start, inspect, stop, redrive."""


def _input(text: str | None, path: Path | None) -> Any:
    if text is not None and path is not None:
        raise BadUsage("give --input or --input-file, not both")
    raw = read_text("--input-file", path) if path is not None else text
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except RecursionError:
        raise BadUsage("the input is nested too deeply") from None
    except ValueError as exc:
        raise BadUsage(f"the input is not JSON: {exc}") from exc


def _print_info(info: ExecutionInfo, as_json: bool) -> None:
    if as_json:
        emit_json(info.as_dict())
        return
    fields = {
        "arn": info.arn,
        "status": info.status,
        "machine": info.machine,
        "name": info.name,
        "started": iso_time(info.start_time),
        "stopped": iso_time(info.stop_time) or "-",
        "redrives": info.redrive_count,
        "input": json.dumps(info.input),
    }
    if info.status == "SUCCEEDED":
        fields["output"] = json.dumps(info.output)
    if info.error is not None or info.cause is not None:
        fields["error"] = info.error or "-"
        fields["cause"] = info.cause or "-"
    print_fields(fields, title="execution")


@executions.command("start")
@click.argument("machine")
@click.option("--input", "input_text", metavar="JSON", help="Execution input (JSON).")
@click.option("--input-file", type=click.Path(dir_okay=False, path_type=Path), help="Input file.")
@click.option("--name", help="Execution name (unique per machine).")
@click.option(
    "--wait", is_flag=True, help="Wait until it ends; print it (exit 1 unless it succeeded)."
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=300,
    show_default=True,
    help="With --wait: give up after this many seconds.",
)
@json_option
@click.pass_context
def start_command(
    ctx: click.Context,
    machine: str,
    input_text: str | None,
    input_file: Path | None,
    name: str | None,
    wait: bool,
    timeout: float,
    as_json: bool,
) -> None:
    """Start an execution of MACHINE (a name or ARN); prints its ARN.

    A worker of the app that declares MACHINE runs it; with --wait this command waits for
    the end and prints the execution as ``describe`` does.
    """
    value = _input(input_text, input_file)

    async def work(app: App) -> str | ExecutionInfo:
        arn = await app.start_execution(machine, value, name=name)
        return await wait_until_done(app, arn, timeout) if wait else arn

    done = run(ctx, work)
    if isinstance(done, str):
        emit_json({"executionArn": done}) if as_json else click.echo(done)
        return
    _print_info(done, as_json)
    if done.status != "SUCCEEDED":
        sys.exit(1)


@executions.command("describe")
@click.argument("arn", metavar="EXECUTION")
@json_option
@click.pass_context
def describe_command(ctx: click.Context, arn: str, as_json: bool) -> None:
    """Status, input, output, error and cause of EXECUTION (ARN, MACHINE/NAME or NAME)."""

    async def work(app: App) -> ExecutionInfo:
        return await app.describe_execution(await resolve(app, arn))

    _print_info(run(ctx, work), as_json)


@executions.command("history")
@click.argument("arn", metavar="EXECUTION")
@click.option("--reverse", is_flag=True, help="Newest event first.")
@json_option
@click.pass_context
def history_command(ctx: click.Context, arn: str, reverse: bool, as_json: bool) -> None:
    """The execution's history events (AWS's GetExecutionHistory shape with --json)."""

    async def work(app: App) -> list[Any]:
        return await app.get_execution_history(await resolve(app, arn), reverse=reverse)

    events = run(ctx, work)
    if as_json:
        emit_json(events)
        return
    rows = [(e["id"], e["timestamp"], e["type"], _detail(e)) for e in events]
    print_table(("id", "time", "type", "detail"), rows)


def _detail(event: dict[str, Any]) -> str:
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, dict):
            parts = [f"{k}={value[k]}" for k in ("name", "error", "cause") if k in value]
            return " ".join(parts)[:120]
    return ""


@executions.command("stop")
@click.argument("arn", metavar="EXECUTION")
@click.option("--error", help="Error name recorded with ExecutionAborted.")
@click.option("--cause", help="Cause recorded with ExecutionAborted.")
@json_option
@click.pass_context
def stop_command(
    ctx: click.Context, arn: str, error: str | None, cause: str | None, as_json: bool
) -> None:
    """Stop (abort) a running execution."""

    async def work(app: App) -> ExecutionInfo:
        return await app.stop_execution(await resolve(app, arn), error, cause)

    _print_info(run(ctx, work), as_json)


@executions.command("ls")
@click.option("--machine", help="Only this machine's executions.")
@click.option("--status", type=click.Choice(STATUSES), help="Only executions with this status.")
@click.option(
    "--limit",
    type=click.IntRange(min=1, max=1000),
    default=20,
    show_default=True,
    help="Executions per page.",
)
@click.option("--page", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--map-run", help="Only the child executions of this distributed Map's run.")
@json_option
@click.pass_context
def ls_command(
    ctx: click.Context,
    machine: str | None,
    status: str | None,
    limit: int,
    page: int,
    map_run: str | None,
    as_json: bool,
) -> None:
    """Executions, newest first, --limit per page; says when there are more."""
    skip = limit * (page - 1)

    async def work(app: App) -> list[ExecutionInfo]:
        return await app.list_executions(machine, status, skip + limit + 1, map_run=map_run)

    found = run(ctx, work)[skip:]
    infos, more = found[:limit], len(found) > limit
    if as_json:
        emit_json(
            {"executions": [i.as_dict() for i in infos], "nextPage": page + 1 if more else None}
        )
        return
    rows = [(i.name, i.machine, i.status, iso_time(i.start_time)) for i in infos]
    if rows:
        print_table(("name", "machine", "status", "started"), rows)
    else:
        click.echo("no executions" + (f" on page {page}" if page > 1 else ""))
    if more:
        click.echo(f"more executions: --page {page + 1} (or a larger --limit)")


@executions.command("redrive")
@click.argument("arn", metavar="EXECUTION")
@json_option
@click.pass_context
def redrive_command(ctx: click.Context, arn: str, as_json: bool) -> None:
    """Resume a FAILED, TIMED_OUT or ABORTED execution from the state it stopped in."""

    async def work(app: App) -> ExecutionInfo:
        return await app.redrive_execution(await resolve(app, arn))

    _print_info(run(ctx, work), as_json)
