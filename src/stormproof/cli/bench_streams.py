"""``stormproof bench streams``: stream writes, mapping consumption and put→handler latency."""

from __future__ import annotations

from typing import Any

import click

from stormproof.cli.bench import Report, store_bench


@store_bench("streams")
@click.option("-n", "--records", default=50_000, show_default=True, type=click.IntRange(min=1))
@click.option("--latency-samples", default=100, show_default=True, type=click.IntRange(min=1))
@click.option(
    "--age-seconds",
    default=5.0,
    show_default=True,
    type=click.FloatRange(min=0.1, max=600),
    help="How long the steady load at 50 % of capacity runs (iterator age).",
)
def streams_command(records: int, latency_samples: int, age_seconds: float) -> Report:
    """Records/s written (put_records of 500) and consumed (no-op, batch 100), put→handler
    latency and iterator age at 50 % of capacity, for 1 and 8 shards."""
    from stormproof.bench import streams as bench_streams

    def measure(url: str) -> Any:
        return bench_streams.run(url, records, latency_samples, age_seconds)

    return measure, bench_streams.render
