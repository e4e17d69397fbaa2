"""``stormproof bench controls``: per-call cost of a closed breaker and of a limit decision."""

from __future__ import annotations

from typing import Any

import click

from stormproof.cli.bench import Report, store_bench


@store_bench("controls")
@click.option("-n", "--calls", default=100_000, show_default=True, type=click.IntRange(min=1))
@click.option(
    "-m",
    "--messages",
    default=5_000,
    show_default=True,
    type=click.IntRange(min=0),
    help="Messages per round of the consume comparison (0: skip it).",
)
def controls_command(calls: int, messages: int) -> Report:
    """Closed global breaker check (p50 µs), limit decisions per second, and consume
    throughput with a closed breaker on the mapping vs none."""
    from stormproof.bench import controls as bench_controls

    def measure(url: str) -> Any:
        return bench_controls.run(url, calls, messages)

    return measure, bench_controls.render
