"""``stormproof bench frontdoor`` (also ``bench api``): storage-first POST vs a plain route."""

from __future__ import annotations

import click

from stormproof.cli.bench import bench, report_on
from stormproof.cli.options import bench_store_option, report_json_option


@bench.command("frontdoor")
@bench_store_option
@click.option(
    "-d",
    "--duration",
    default=10,
    show_default=True,
    type=click.IntRange(1, 300),
    help="Seconds of load per route.",
)
@click.option(
    "-c",
    "--connections",
    default=32,
    show_default=True,
    type=click.IntRange(1, 1024),
    help="wrk connections.",
)
@click.option(
    "-t", "--threads", default=1, show_default=True, type=click.IntRange(1, 16), help="wrk threads."
)
@report_json_option()
@click.pass_context
def frontdoor_command(
    ctx: click.Context,
    store: str | None,
    duration: int,
    connections: int,
    threads: int,
    as_json: bool,
) -> None:
    """Requests/s and p50/p99 of a storage-first POST vs a plain 202 route (wrk, loopback)."""
    from stormproof.bench import frontdoor

    report_on(
        ctx,
        store,
        as_json,
        lambda url: frontdoor.run(url, duration, connections, threads),
        frontdoor.render,
    )


bench.add_command(frontdoor_command, name="api")
