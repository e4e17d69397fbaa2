"""``stormproof bench``: the project's benchmarks, one subcommand each.

Each subcommand wraps a module of :mod:`stormproof.bench` (``run`` returns the figures,
``render`` or ``main`` prints them) and imports it only when invoked. Those that run on a
store are made by :func:`store_bench`.
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


#: What a store benchmark's shell returns: the measurement of a store URL, and the
#: printer of its report.
Report = tuple[Callable[[str], Any], Callable[[Any], None]]


def store_bench(name: str) -> Callable[[Callable[..., Report]], click.Command]:
    """``stormproof bench <name>`` on a fresh store beside ``--store``, with ``--json``.

    The decorated shell takes the command's own options (declared under this decorator)
    and returns a :data:`Report`; errors and output are :func:`report_on`'s.
    """

    def decorate(shell: Callable[..., Report]) -> click.Command:
        @click.pass_context
        def command(
            ctx: click.Context, /, store: str | None, as_json: bool, **options: Any
        ) -> None:
            measure, render = shell(**options)
            report_on(ctx, store, as_json, measure, render)

        command.__doc__ = shell.__doc__  # the command's help
        made = report_json_option()(command)
        # Options are listed as declared: --store first, the shell's own, --json last.
        made.__dict__["__click_params__"].extend(getattr(shell, "__click_params__", []))
        return bench.command(name)(bench_store_option(made))

    return decorate


@store_bench("queue")
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
def queue_command(messages: int, consumers: int, latency_samples: int) -> Report:
    """Queue throughput through stormproof vs a bare SQL loop, and send→receive latency."""
    from stormproof.bench import queue as bench_queue

    def measure(url: str) -> Any:
        return bench_queue.run(url, messages, consumers, latency_samples)

    return measure, bench_queue.render


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


@store_bench("soak")
@click.option(
    "--minutes",
    default=30.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="How long to send at the load.",
)
@click.option(
    "--load",
    default=0.5,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="The send rate, as a fraction of the capacity measured first.",
)
@click.option("--interval", default=10.0, show_default=True, type=click.FloatRange(min=0.1))
@click.option("--warmup", default=60.0, show_default=True, type=click.FloatRange(min=0))
@click.option("--capacity-messages", default=20000, show_default=True, type=click.IntRange(min=1))
def soak_command(
    minutes: float, load: float, interval: float, warmup: float, capacity_messages: int
) -> Report:
    """A no-op function at load x its capacity for minutes: RSS, latency, lost, duplicates."""
    from stormproof.bench import soak

    settings = soak.Settings(minutes, load, 10, 10, interval, warmup, capacity_messages)

    def measure(url: str) -> Any:
        return soak.run(url, settings)

    return measure, soak.render
