"""``stormproof bench machines``: durable state machine executions per second."""

from __future__ import annotations

from typing import Any

import click

from stormproof.cli.bench import Report, store_bench
from stormproof.cli.options import bench_workers_option


@store_bench("machines")
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
def machines_command(executions: int, map_executions: int, tasks: bool, workers: int) -> Report:
    """Executions/s and state transitions/s, in-process and with worker processes."""
    from stormproof.bench import machines as bench_machines

    def measure(url: str) -> Any:
        return bench_machines.run(url, executions, workers, map_executions, tasks=tasks)

    return measure, bench_machines.render
