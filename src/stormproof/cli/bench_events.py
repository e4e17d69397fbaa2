"""``stormproof bench events``: the runtime-events protocol's cost per emission site."""

from __future__ import annotations

import click

from stormproof.cli.base import emit_json
from stormproof.cli.bench import bench
from stormproof.cli.options import calls_option, consume_rate_option, report_json_option


@bench.command("events")
@calls_option
@consume_rate_option
@report_json_option("figures")
def events_command(calls: int, consume_rate: int, as_json: bool) -> None:
    """ns per emission site with 0 and 1 subscribers, and the share of a consumed message."""
    from stormproof.bench import events as bench_events

    rows = bench_events.run(calls)
    budget_ns = 1e9 / consume_rate * 10  # one site per batch of 10 messages
    for row in rows:
        row["share_of_batch_percent"] = 100 * row["ns_per_site"] / budget_ns
    if as_json:
        emit_json(rows)
        return
    click.echo(f"{'subscribers':>11} {'ns/site':>9} {'% of a batch at ' + str(consume_rate):>22}")
    for row in rows:
        click.echo(
            f"{row['subscribers']:>11.0f} {row['ns_per_site']:>9.0f} "
            f"{row['share_of_batch_percent']:>21.3f}%"
        )
