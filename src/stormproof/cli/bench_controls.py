"""``stormproof bench controls``: per-call cost of a closed breaker and of a limit decision."""

from __future__ import annotations

import click

from stormproof.cli.bench import bench, report_on
from stormproof.cli.options import bench_store_option, report_json_option


@bench.command("controls")
@bench_store_option
@click.option("-n", "--calls", default=100_000, show_default=True, type=click.IntRange(min=1))
@report_json_option()
@click.pass_context
def controls_command(ctx: click.Context, store: str | None, calls: int, as_json: bool) -> None:
    """Closed global breaker check (p50 µs) and limit decisions per second."""
    from stormproof.bench import controls as bench_controls

    report_on(
        ctx, store, as_json, lambda url: bench_controls.run(url, calls), bench_controls.render
    )
