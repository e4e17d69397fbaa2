"""``stormproof bench consume``: a no-op function consuming a queue vs the queue engine."""

from __future__ import annotations

from typing import Any

import click

from stormproof.cli.bench import Report, store_bench


@store_bench("consume")
@click.option("-n", "--messages", default=20000, show_default=True, type=click.IntRange(min=1))
@click.option("-b", "--batch-size", default=10, show_default=True, type=click.IntRange(1, 10))
@click.option(
    "-c",
    "--concurrency",
    default=10,
    show_default=True,
    type=click.IntRange(1, 256),
    help="Worker concurrency, the function's reserved concurrency and the engine's consumers.",
)
@click.option("--rounds", default=3, show_default=True, type=click.IntRange(min=1))
@click.option("--latency-samples", default=200, show_default=True, type=click.IntRange(min=1))
@click.option(
    "--reserved/--unreserved",
    default=True,
    show_default=True,
    help="Give the function reserved concurrency (global leased slots) or none.",
)
@click.option(
    "--telemetry/--no-telemetry",
    default=False,
    show_default=True,
    help="Subscribe Prometheus metrics and INFO logs (to /dev/null) to the runtime events.",
)
def consume_command(
    messages: int,
    batch_size: int,
    concurrency: int,
    rounds: int,
    latency_samples: int,
    reserved: bool,
    telemetry: bool,
) -> Report:
    """Messages/s of a no-op function vs receive+delete, and send→handler latency."""
    from stormproof.bench import consume as bench_consume

    if telemetry:
        _subscribe_telemetry()

    def measure(url: str) -> Any:
        return bench_consume.run(
            url, messages, batch_size, concurrency, rounds, latency_samples, reserved
        )

    return measure, bench_consume.render


def _subscribe_telemetry() -> None:
    """Metrics and logs at INFO, as a worker with ``--metrics-port`` runs them."""
    import os

    from stormproof.telemetry import logs
    from stormproof.telemetry.metrics import Metrics

    logs.configure(None, "INFO", open(os.devnull, "w"))  # noqa: SIM115 - lives for the process
    Metrics().subscribe()
