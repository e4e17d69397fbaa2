"""``stormproof bench tracing``: the trace context's cost per hot-path site."""

from __future__ import annotations

import click

from stormproof.cli.base import emit_json
from stormproof.cli.bench import bench
from stormproof.cli.options import calls_option, consume_rate_option, report_json_option


@bench.command("tracing")
@calls_option
@consume_rate_option
@report_json_option("figures")
def tracing_command(calls: int, consume_rate: int, as_json: bool) -> None:
    """ns per site with tracing off (and on, through the API's no-op provider when
    opentelemetry-api is installed), and the share of a consumed message."""
    from stormproof.bench import tracing as bench_tracing

    rows = [{"tracing": "off", **r} for r in bench_tracing.run(calls)]
    try:
        from stormproof.telemetry import traces
    except ImportError:
        traces = None  # type: ignore[assignment]
    if traces is not None:
        disable = traces.enable()
        try:
            rows += [{"tracing": "on (no-op provider)", **r} for r in bench_tracing.run(calls)]
        finally:
            disable()
    budget_ns = 1e9 / consume_rate * 10  # a batch of 10: one enqueue-free unit per batch
    for row in rows:
        row["share_of_batch_percent"] = 100 * float(row["ns_per_site"]) / budget_ns
    if as_json:
        emit_json(rows)
        return
    click.echo(f"{'tracing':<20} {'site':<36} {'ns/site':>9} {'% of a batch':>13}")
    for row in rows:
        click.echo(
            f"{row['tracing']:<20} {row['site']:<36} {float(row['ns_per_site']):>9.0f} "
            f"{float(row['share_of_batch_percent']):>12.3f}%"
        )
