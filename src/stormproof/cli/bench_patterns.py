"""``stormproof bench patterns``: events matched per second through an indexed rule set."""

from __future__ import annotations

import click

from stormproof.cli.base import emit_json
from stormproof.cli.bench import bench
from stormproof.cli.options import report_json_option


@bench.command("patterns")
@click.option(
    "--events",
    default=2000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Events matched per rule count.",
)
@click.option("--seed", default=0, show_default=True, help="Seed of the generated rules.")
@report_json_option("figures")
def patterns_command(events: int, seed: int, as_json: bool) -> None:
    """Pattern matching at 10, 100 and 1,000 mixed-operator rules: events/s and p50."""
    from stormproof.bench import patterns as bench_patterns

    rows = bench_patterns.run(events=events, seed=seed)
    if as_json:
        emit_json(rows)
        return
    click.echo(f"{'rules':>7} {'events/s':>10} {'p50 µs':>8} {'p99 µs':>8} {'matches/event':>14}")
    for row in rows:
        click.echo(
            f"{row['rules']:>7.0f} {row['events_per_s']:>10.0f} {row['p50_us']:>8.1f} "
            f"{row['p99_us']:>8.1f} {row['matches_per_event']:>14.2f}"
        )
