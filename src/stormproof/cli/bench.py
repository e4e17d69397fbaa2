"""``stormproof bench``: the project's benchmarks, one subcommand each.

Each subcommand wraps a module of :mod:`stormproof.bench` (``run`` returns the figures,
``render`` or ``main`` prints them) and imports it only when invoked.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from stormproof import config
from stormproof.cli.base import emit_json, main, store_url
from stormproof.cli.options import bench_store_option, report_json_option
from stormproof.cli.output import echo_error
from stormproof.errors import StormproofError


@main.group("bench")
def bench() -> None:
    """Benchmarks of stormproof against bare baselines."""


@bench.command("queue")
@bench_store_option
@click.option(
    "-n",
    "--messages",
    default=20000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Messages per phase.",
)
@click.option(
    "-c",
    "--consumers",
    default=4,
    show_default=True,
    type=click.IntRange(min=1, max=64),
    help="Concurrent consumers.",
)
@click.option(
    "--latency-samples",
    default=200,
    show_default=True,
    type=click.IntRange(min=1),
    help="Send-to-receive latency samples.",
)
@report_json_option()
@click.pass_context
def queue_command(
    ctx: click.Context,
    store: str | None,
    messages: int,
    consumers: int,
    latency_samples: int,
    as_json: bool,
) -> None:
    """Queue throughput through stormproof vs a bare SQL loop, and send→receive latency."""
    from stormproof.bench import queue as bench_queue

    report_on(
        ctx,
        store,
        as_json,
        lambda url: bench_queue.run(url, messages, consumers, latency_samples),
        bench_queue.render,
    )


def report_on(
    ctx: click.Context,
    store: str | None,
    as_json: bool,
    measure: Callable[[str], Any],
    render: Callable[[Any], None],
) -> None:
    """Run a benchmark on the store (--store here, else the root's, else the default) and
    print its report as a table or JSON; a StormproofError is a one-line error, exit 1."""
    url = store or store_url(ctx) or config.from_env().store
    try:
        report = measure(url)
    except StormproofError as exc:
        echo_error(str(exc))
        sys.exit(1)
    if as_json:
        emit_json(report)
    else:
        render(report)
