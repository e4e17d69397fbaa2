"""``stormproof bench controls``: per-call cost of a closed breaker and of a limit decision."""

from __future__ import annotations

import click

from stormproof.cli.bench import bench, report_on


@bench.command("controls")
@click.option(
    "--store",
    "store",
    default=None,
    help="Store URL to benchmark beside (a new SQLite file or PostgreSQL schema, "
    "removed afterwards). Default: the root --store.",
)
@click.option("-n", "--calls", default=100_000, show_default=True, type=click.IntRange(min=1))
@click.option(
    "-m",
    "--messages",
    default=5_000,
    show_default=True,
    type=click.IntRange(min=0),
    help="Messages per round of the consume comparison (0: skip it).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def controls_command(
    ctx: click.Context, store: str | None, calls: int, messages: int, as_json: bool
) -> None:
    """Closed global breaker check (p50 µs), limit decisions per second, and consume
    throughput with a closed breaker on the mapping vs none."""
    from stormproof.bench import controls as bench_controls

    report_on(
        ctx,
        store,
        as_json,
        lambda url: bench_controls.run(url, calls, messages),
        bench_controls.render,
    )
