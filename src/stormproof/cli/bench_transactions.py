"""``stormproof bench transactions``: one-transaction steps versus two-transaction steps."""

from __future__ import annotations

from typing import Any

import click

from stormproof.cli.bench import Report, store_bench
from stormproof.cli.options import bench_workers_option


@store_bench("transactions")
@click.option(
    "-n",
    "--executions",
    default=1000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Executions of the 3-state machine per variant.",
)
@bench_workers_option("Worker processes.")
def transactions_command(executions: int, workers: int) -> Report:
    """Executions/s of a machine whose UPDATE commits with its step, versus apart."""
    from stormproof.bench import transactions as bench_transactions

    def measure(url: str) -> Any:
        return bench_transactions.run(url, executions, workers)

    return measure, bench_transactions.render
