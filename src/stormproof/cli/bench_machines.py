"""``stormproof bench machines``: durable state machine executions per second."""

from __future__ import annotations

import click

from stormproof.cli.bench import bench, report_on
from stormproof.cli.options import bench_store_option, bench_workers_option, report_json_option


@bench.command("machines")
@bench_store_option
@click.option(
    "-n",
    "--executions",
    default=5000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Executions of the 10-state Pass/Choice machine per mode.",
)
@click.option(
    "--map-executions",
    default=200,
    show_default=True,
    type=click.IntRange(min=1),
    help="Executions of the Map-of-100 machine per mode.",
)
@click.option(
    "--tasks",
    is_flag=True,
    help="Run only the 10-Task machine (no-op functions), --executions of it per mode.",
)
@bench_workers_option("Worker processes in the 'workers' mode.")
@report_json_option()
@click.pass_context
def machines_command(
    ctx: click.Context,
    store: str | None,
    executions: int,
    map_executions: int,
    tasks: bool,
    workers: int,
    as_json: bool,
) -> None:
    """Executions/s and state transitions/s, in-process and with worker processes."""
    from stormproof.bench import machines as bench_machines

    report_on(
        ctx,
        store,
        as_json,
        lambda url: bench_machines.run(url, executions, workers, map_executions, tasks=tasks),
        bench_machines.render,
    )
