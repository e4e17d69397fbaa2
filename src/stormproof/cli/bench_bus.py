"""``stormproof bench bus``: put_events and delivery to each kind of target."""

from __future__ import annotations

from typing import Any

import click

from stormproof.cli.bench import Report, store_bench


@store_bench("bus")
@click.option(
    "-n",
    "--events",
    default=5_000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Events per workload.",
)
@click.option(
    "--latency-samples",
    default=100,
    show_default=True,
    type=click.IntRange(min=1),
    help="Put-to-delivery latency samples per workload.",
)
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    type=click.Choice(["queue", "function", "bus", "http"]),
    help="Only these target kinds (repeatable; default: all).",
)
def bus_command(events: int, latency_samples: int, kinds: tuple[str, ...]) -> Report:
    """Events/s put and deliveries/s to queue, function, bus and HTTP targets (1 and 5 per
    rule), put-to-delivery latency, and a check that each target got each event once."""
    from stormproof.bench import bus as bench_bus

    def measure(url: str) -> Any:
        return bench_bus.run(url, events, latency_samples, kinds or bench_bus.KINDS)

    return measure, bench_bus.render
