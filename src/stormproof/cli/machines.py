"""``stormproof machines ...``: the state machines in the store, and checking definitions.

A machine is stored when an app that declares it opens, so ``ls`` and ``describe`` need
only ``--store``. ``validate`` checks a definition file and needs no store at all.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from stormproof.app import App
from stormproof.cli.base import emit_json, main, run
from stormproof.cli.output import OneLineGroup, echo_error, json_option, print_fields, print_table
from stormproof.errors import InvalidDefinition, StateMachineDoesNotExist
from stormproof.machines import validate
from stormproof.machines.records import iso_time, machine_arn, machine_name_of
from stormproof.storage import machine_ops
from stormproof.storage.machine_ops import MachineRow


@main.group("machines", cls=OneLineGroup)
def machines() -> None:
    """State machines: list and describe the stored ones, validate definitions."""


def machine_json(row: MachineRow, with_definition: bool) -> dict[str, Any]:
    """AWS's DescribeStateMachine shape (ListStateMachines' without the definition)."""
    out: dict[str, Any] = {
        "stateMachineArn": machine_arn(row.name),
        "name": row.name,
        "type": row.type,
        "creationDate": iso_time(row.created_at),
        "updateDate": iso_time(row.updated_at),
    }
    if with_definition:
        out |= {"status": "ACTIVE", "roleArn": row.role_arn, "definition": row.definition}
    return out


@machines.command("ls")
@json_option
@click.pass_context
def ls_command(ctx: click.Context, as_json: bool) -> None:
    """List the state machines in the store."""

    async def work(app: App) -> list[MachineRow]:
        return await app.store.run(machine_ops.list_machines)

    rows = [machine_json(r, False) for r in run(ctx, work)]
    if as_json:
        emit_json(rows)
    elif not rows:
        click.echo("no state machines (an app stores its machines when it opens)")
    else:
        keys = ["name", "type", "creationDate", "updateDate"]
        print_table(["name", "type", "created", "updated"], [[r[k] for k in keys] for r in rows])


@machines.command("describe")
@click.argument("machine")
@json_option
@click.pass_context
def describe_command(ctx: click.Context, machine: str, as_json: bool) -> None:
    """The type, role and definition of MACHINE (a name or ARN)."""
    name = machine_name_of(machine)

    async def work(app: App) -> MachineRow:
        row = await app.store.run(lambda: machine_ops.get_machine(name))
        if row is None:
            raise StateMachineDoesNotExist(name)
        return row

    described = machine_json(run(ctx, work), True)
    if as_json:
        emit_json(described)
        return
    definition = json.loads(described.pop("definition"))
    print_fields(described, title="state machine")
    click.echo(json.dumps(definition, indent=2, ensure_ascii=False))


@machines.command("validate")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--type", "machine_type", type=click.Choice(["STANDARD", "EXPRESS"]), default="STANDARD"
)
@json_option
def validate_command(file: Path, machine_type: str, as_json: bool) -> None:
    """Check a definition file; print every problem with its JSON path (exit 1 if any)."""
    try:
        validate(file, machine_type=machine_type)
        problems: list[tuple[str, str]] = []
    except InvalidDefinition as exc:
        problems = exc.problems
    if as_json:
        emit_json(
            {
                "file": str(file),
                "type": machine_type,
                "valid": not problems,
                "problems": [{"path": p, "message": m} for p, m in problems],
            }
        )
        if problems:
            echo_error(f"{len(problems)} problem(s) in {file}")
    elif problems:
        for path, message in problems:
            click.echo(f"{path}: {message}")
        echo_error(f"{len(problems)} problem(s) in {file}")
    else:
        click.echo(f"{file}: valid {machine_type} state machine definition")
    if problems:
        sys.exit(1)
