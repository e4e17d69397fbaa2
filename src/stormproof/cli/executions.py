"""``stormproof executions ...`` and ``stormproof machines validate``.

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
from stormproof.cli.files import read_text
from stormproof.cli.output import (
    BadUsage,
    OneLineGroup,
    echo_error,
    json_option,
    print_fields,
    print_table,
)
from stormproof.errors import InvalidDefinition
from stormproof.machines.definitions import validate
from stormproof.machines.records import STATUSES, ExecutionInfo, iso_time


@main.group("machines", cls=OneLineGroup)
def machines() -> None:
    """State machine definitions."""


@machines.command("validate")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--type", "machine_type", type=click.Choice(["STANDARD", "EXPRESS"]), default="STANDARD"
)
def validate_command(file: Path, machine_type: str) -> None:
    """Check a definition file; print every problem with its JSON path (exit 1 if any)."""
    try:
        validate(file, machine_type=machine_type)
    except InvalidDefinition as exc:
        for path, message in exc.problems:
            click.echo(f"{path}: {message}")
        echo_error(f"{len(exc.problems)} problem(s) in {file}")
        sys.exit(1)
    click.echo(f"{file}: valid {machine_type} state machine definition")


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
        "arn": info.arn, "status": info.status, "machine": info.machine, "name": info.name,
        "started": iso_time(info.start_time), "stopped": iso_time(info.stop_time) or "-",
        "redrives": info.redrive_count, "input": json.dumps(info.input),
    }  # fmt: skip
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
@json_option
@click.pass_context
def start_command(
    ctx: click.Context, machine: str, input_text: str | None, input_file: Path | None,
    name: str | None, as_json: bool,
) -> None:  # fmt: skip
    """Start an execution of MACHINE (a name or ARN); prints its ARN."""
    value = _input(input_text, input_file)

    async def work(app: App) -> str:
        return await app.start_execution(machine, value, name=name)

    arn = run(ctx, work)
    emit_json({"executionArn": arn}) if as_json else click.echo(arn)


@executions.command("describe")
@click.argument("arn")
@json_option
@click.pass_context
def describe_command(ctx: click.Context, arn: str, as_json: bool) -> None:
    """Status, input, output, error and cause of an execution."""

    async def work(app: App) -> ExecutionInfo:
        return await app.describe_execution(arn)

    _print_info(run(ctx, work), as_json)


@executions.command("history")
@click.argument("arn")
@click.option("--reverse", is_flag=True, help="Newest event first.")
@json_option
@click.pass_context
def history_command(ctx: click.Context, arn: str, reverse: bool, as_json: bool) -> None:
    """The execution's history events (AWS's GetExecutionHistory shape with --json)."""

    async def work(app: App) -> list[Any]:
        return await app.get_execution_history(arn, reverse=reverse)

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
@click.argument("arn")
@click.option("--error", help="Error name recorded with ExecutionAborted.")
@click.option("--cause", help="Cause recorded with ExecutionAborted.")
@json_option
@click.pass_context
def stop_command(
    ctx: click.Context, arn: str, error: str | None, cause: str | None, as_json: bool
) -> None:
    """Stop (abort) a running execution."""

    async def work(app: App) -> ExecutionInfo:
        return await app.stop_execution(arn, error, cause)

    _print_info(run(ctx, work), as_json)


@executions.command("ls")
@click.option("--machine", help="Only this machine's executions.")
@click.option("--status", type=click.Choice(STATUSES), help="Only executions with this status.")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--map-run", help="Only the child executions of this distributed Map's run.")
@json_option
@click.pass_context
def ls_command(
    ctx: click.Context,
    machine: str | None,
    status: str | None,
    limit: int,
    map_run: str | None,
    as_json: bool,
) -> None:
    """Executions, newest first."""

    async def work(app: App) -> list[ExecutionInfo]:
        return await app.list_executions(machine, status, limit, map_run=map_run)

    infos = run(ctx, work)
    if as_json:
        emit_json([i.as_dict() for i in infos])
        return
    rows = [(i.name, i.machine, i.status, iso_time(i.start_time), i.arn) for i in infos]
    print_table(("name", "machine", "status", "started", "arn"), rows)


@executions.command("redrive")
@click.argument("arn")
@json_option
@click.pass_context
def redrive_command(ctx: click.Context, arn: str, as_json: bool) -> None:
    """Resume a FAILED, TIMED_OUT or ABORTED execution from the state it stopped in."""

    async def work(app: App) -> ExecutionInfo:
        return await app.redrive_execution(arn)

    _print_info(run(ctx, work), as_json)
