"""``stormproof bench transactions``: one-transaction steps versus two-transaction steps."""

from __future__ import annotations

import click

from stormproof.cli.bench import bench, report_on
from stormproof.cli.options import bench_store_option, bench_workers_option, report_json_option


@bench.command("transactions")
@bench_store_option
@click.option(
    "-n",
    "--executions",
    default=1000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Executions of the 3-state machine per variant.",
)
@bench_workers_option("Worker processes.")
@report_json_option()
@click.pass_context
def transactions_command(
    ctx: click.Context, store: str | None, executions: int, workers: int, as_json: bool
) -> None:
    """Executions/s of a machine whose UPDATE commits with its step, versus apart."""
    from stormproof.bench import transactions as bench_transactions

    report_on(
        ctx,
        store,
        as_json,
        lambda url: bench_transactions.run(url, executions, workers),
        bench_transactions.render,
    )
