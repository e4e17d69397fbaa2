"""``stormproof bench frontdoor`` (also ``bench api``): storage-first POST vs a plain route."""

from __future__ import annotations

from typing import Any

import click

from stormproof.cli.bench import Report, bench, store_bench


@store_bench("frontdoor")
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
def frontdoor_command(duration: int, connections: int, threads: int) -> Report:
    """Requests/s and p50/p99 of a storage-first POST vs a plain 202 route (wrk, loopback)."""
    from stormproof.bench import frontdoor

    def measure(url: str) -> Any:
        return frontdoor.run(url, duration, connections, threads)

    return measure, frontdoor.render


bench.add_command(frontdoor_command, name="api")
