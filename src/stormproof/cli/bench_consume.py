"""``stormproof bench consume``: a no-op function consuming a queue vs the queue engine."""

from __future__ import annotations

import click

from stormproof.cli.bench import bench, report_on
from stormproof.cli.options import bench_store_option, report_json_option


@bench.command("consume")
@bench_store_option
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
@report_json_option()
@click.pass_context
def consume_command(
    ctx: click.Context,
    store: str | None,
    messages: int,
    batch_size: int,
    concurrency: int,
    rounds: int,
    latency_samples: int,
    reserved: bool,
    telemetry: bool,
    as_json: bool,
) -> None:
    """Messages/s of a no-op function vs receive+delete, and send→handler latency."""
    from stormproof.bench import consume as bench_consume

    if telemetry:
        _subscribe_telemetry()

    report_on(
        ctx,
        store,
        as_json,
        lambda url: bench_consume.run(
            url, messages, batch_size, concurrency, rounds, latency_samples, reserved
        ),
        bench_consume.render,
    )


def _subscribe_telemetry() -> None:
    """Metrics and logs at INFO, as a worker with ``--metrics-port`` runs them."""
    import os

    from stormproof.telemetry import logs
    from stormproof.telemetry.metrics import Metrics

    logs.configure(None, "INFO", open(os.devnull, "w"))  # noqa: SIM115 - lives for the process
    Metrics().subscribe()
