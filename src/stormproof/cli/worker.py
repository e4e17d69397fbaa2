"""``stormproof worker APP``: run every consumer of an app."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading

import click

from stormproof.cli.base import load_app, main, store_url
from stormproof.cli.output import echo_error
from stormproof.errors import StormproofError
from stormproof.worker import DEFAULT_CONCURRENCY, DEFAULT_SHUTDOWN_TIMEOUT, Worker

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


@main.command("worker")
@click.argument("app_spec", metavar="APP")
@click.option("--store", default=None, help="Store URL (overrides the root --store).")
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=DEFAULT_CONCURRENCY,
    show_default=True,
    help="Executions at once in this process (functions' reserved concurrency is global).",
)
@click.option(
    "--shutdown-timeout",
    type=click.FloatRange(min=0),
    default=DEFAULT_SHUTDOWN_TIMEOUT,
    show_default=True,
    help="On SIGTERM, seconds to let running work finish before releasing it.",
)
@click.option(
    "--log-level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    default="INFO",
    show_default=True,
)
@click.pass_context
def worker(
    ctx: click.Context,
    app_spec: str,
    store: str | None,
    concurrency: int,
    shutdown_timeout: float,
    log_level: str,
) -> None:
    """Run every consumer of APP (module:attribute) until SIGTERM.

    That is: event-source mappings, async invocations, state-machine steps and tasks
    (with Wait and retry timers) and bus deliveries (with replays and archive
    retention). Opening an App elsewhere (a producer) runs none of these.
    """
    logging.basicConfig(level=log_level.upper(), format=LOG_FORMAT, stream=sys.stderr)
    app = load_app(app_spec, store or store_url(ctx))
    runner = Worker(app, concurrency=concurrency, shutdown_timeout=shutdown_timeout)
    try:
        asyncio.run(_serve(runner))
    except StormproofError as exc:
        echo_error(str(exc))
        sys.exit(1)
    _exit_past_stuck_threads()


async def _serve(runner: Worker) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, runner.stop)
    await runner.run()


def _exit_past_stuck_threads() -> None:
    """A timed-out sync handler's thread cannot be stopped: do not wait for it at exit."""
    others = [t for t in threading.enumerate() if t is not threading.main_thread()]
    for thread in others:
        if not thread.daemon:
            thread.join(0.2)  # idle pool threads exit at once
    stuck = [t for t in others if t.is_alive() and not t.daemon]
    if stuck:
        logging.getLogger("stormproof.worker").warning(
            "event=worker.exit_with_running_threads threads=%s", ",".join(t.name for t in stuck)
        )
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
