"""``stormproof bench streams``: stream writes, mapping consumption and put→handler latency."""

from __future__ import annotations

import click

from stormproof.cli.bench import bench, report_on
from stormproof.cli.options import bench_store_option, report_json_option


@bench.command("streams")
@bench_store_option
@click.option("-n", "--records", default=50_000, show_default=True, type=click.IntRange(min=1))
@click.option("--latency-samples", default=100, show_default=True, type=click.IntRange(min=1))
@click.option(
    "--age-seconds",
    default=5.0,
    show_default=True,
    type=click.FloatRange(min=0.1, max=600),
    help="How long the steady load at 50 % of capacity runs (iterator age).",
)
@report_json_option()
@click.pass_context
def streams_command(
    ctx: click.Context,
    store: str | None,
    records: int,
    latency_samples: int,
    age_seconds: float,
    as_json: bool,
) -> None:
    """Records/s written (put_records of 500) and consumed (no-op, batch 100), put→handler
    latency and iterator age at 50 % of capacity, for 1 and 8 shards."""
    from stormproof.bench import streams as bench_streams

    report_on(
        ctx,
        store,
        as_json,
        lambda url: bench_streams.run(url, records, latency_samples, age_seconds),
        bench_streams.render,
    )
