"""``stormproof dlq ...``: move dead-lettered messages back (redrive), follow and cancel it.

A redrive task runs in the process that started it and is a durable record
``redrive/<queue>`` in the store. ``dlq redrive`` therefore waits, by default, until the
task has finished; with ``--no-wait`` it leaves the task RUNNING, and another stormproof
process on the same store (a worker, for example) resumes it once this process's 30 s
lease has expired.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import click

from stormproof.app import App
from stormproof.cli.base import emit_json, main, run
from stormproof.cli.output import (
    CliError,
    OneLineGroup,
    json_option,
    print_fields,
    progress_bar,
)
from stormproof.cli.shapes import redrive_json
from stormproof.cli.store import not_found
from stormproof.errors import RedriveTaskNotFound
from stormproof.machines.records import iso_time
from stormproof.queues.redrive import ACTIVE, LEASE, RedriveStatus, RedriveTask

POLL = 0.1
CANCEL_PATIENCE = 2.0


@main.group("dlq", cls=OneLineGroup)
def dlq() -> None:
    """Dead-letter queues: redrive messages back to their source queues."""


def show_status(status: RedriveStatus, as_json: bool) -> None:
    """Print a redrive task's state and progress."""
    if as_json:
        emit_json(redrive_json(status))
        return
    fields: dict[str, Any] = {
        "task_id": status.task_id,
        "queue": status.source,
        "destination": status.destination or "each message's source queue",
        "rate": f"{status.rate}/s" if status.rate else "as fast as possible",
        "state": status.state,
        "moved": f"{status.moved} of {max(status.to_move, status.moved)}",
        "started_at": iso_time(status.started_at),
    }
    if status.failure_reason:
        fields["failure_reason"] = status.failure_reason
    print_fields(fields, title="redrive")


async def follow(task: RedriveTask, show: bool) -> RedriveStatus:
    """Poll a task until it is no longer active, updating a progress bar."""
    status = await task.status()
    with progress_bar("redriving", status.to_move, show) as update:
        while status.state in ACTIVE:
            update(status.moved, status.to_move)
            await asyncio.sleep(POLL)
            status = await task.status()
        update(status.moved, status.to_move)
    return status


@dlq.command("redrive")
@click.argument("name")
@click.option("--destination", metavar="QUEUE", help="Default: each message's source queue.")
@click.option("--rate", type=int, help="Messages per second, 1-500 (default: no limit).")
@click.option(
    "--wait/--no-wait",
    default=True,
    show_default=True,
    help="Wait until the task is done (--no-wait: another process resumes it after 30 s).",
)
@json_option
@click.pass_context
def redrive(
    ctx: click.Context,
    name: str,
    destination: str | None,
    rate: int | None,
    wait: bool,
    as_json: bool,
) -> None:
    """Move the messages of dead-letter queue NAME back to their source queues."""

    async def work(app: App) -> RedriveStatus:
        task = await (await app.get_queue(name)).start_redrive(destination, rate)
        if not as_json:
            click.echo(f"redrive task {task.task_id} started", err=True)
        try:
            if wait:
                return await follow(task, sys.stderr.isatty())
            return await task.status()
        except RedriveTaskNotFound as exc:
            raise CliError(str(exc)) from exc

    status = run(ctx, work)
    show_status(status, as_json)
    if status.state == "FAILED":
        raise CliError(f"redrive failed: {status.failure_reason}")
    if status.state in ACTIVE and not as_json:
        click.echo(
            f"not waiting: a stormproof process on this store resumes the task within "
            f"{LEASE:g} s (see 'stormproof dlq status {name}')",
            err=True,
        )


async def _load(app: App, name: str) -> RedriveStatus:
    await app.get_queue(name)
    found = await app.redrives.load(name)
    if found is None:
        raise not_found(click.get_current_context(), f"no redrive task for queue {name!r}")
    return found[1]


@dlq.command("status")
@click.argument("name")
@json_option
@click.pass_context
def status(ctx: click.Context, name: str, as_json: bool) -> None:
    """Show the latest redrive task of dead-letter queue NAME."""
    show_status(run(ctx, lambda app: _load(app, name)), as_json)


@dlq.command("cancel")
@click.argument("name")
@json_option
@click.pass_context
def cancel(ctx: click.Context, name: str, as_json: bool) -> None:
    """Cancel the active redrive task of queue NAME; messages already moved stay moved."""

    async def work(app: App) -> RedriveStatus:
        await _load(app, name)
        found = await app.redrives.cancel(name)
        task = RedriveTask(app.redrives, name, found.task_id)
        try:  # a live owner marks the task CANCELLED after its current chunk
            async with asyncio.timeout(CANCEL_PATIENCE):
                return await follow(task, False)
        except TimeoutError:
            return await task.status()
        except RedriveTaskNotFound as exc:
            raise CliError(str(exc)) from exc

    show_status(run(ctx, work), as_json)
