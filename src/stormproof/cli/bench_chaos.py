"""``stormproof bench chaos``: a chaos call site's cost, off and on with no matching fault."""

from __future__ import annotations

import click

from stormproof.cli.base import emit_json
from stormproof.cli.bench import bench
from stormproof.cli.options import calls_option, report_json_option


@bench.command("chaos")
@calls_option
@click.option(
    "--faults",
    default=3,
    show_default=True,
    type=click.IntRange(0, 100),
    help="Faults on other targets in the view when chaos is on.",
)
@click.option(
    "--consume-rate",
    default=10_000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Messages/s of `bench consume` to compare against.",
)
@report_json_option("figures")
def chaos_command(calls: int, faults: int, consume_rate: int, as_json: bool) -> None:
    """ns per call site with chaos off and on (no fault matching), and the share of the
    time of one consumed message."""
    from stormproof.bench import chaos as bench_chaos

    rows = bench_chaos.run(calls, faults)
    per_message_ns = 1e9 / consume_rate
    for row in rows:
        row["share_of_message_percent"] = 100 * row["ns_per_site"] / per_message_ns
    if as_json:
        emit_json(rows)
        return
    head = f"% of a message at {consume_rate}/s"
    click.echo(f"{'chaos':>5} {'faults':>6} {'ns/site':>9} {head:>26}")
    for row in rows:
        state = "on" if row["chaos"] else "off"
        share = row["share_of_message_percent"]
        click.echo(f"{state:>5} {row['faults']:>6.0f} {row['ns_per_site']:>9.0f} {share:>25.4f}%")
