"""``stormproof worker APP``: run every consumer of an app."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable

import click

from stormproof.app import App
from stormproof.cli.base import load_app, main, store_url
from stormproof.cli.lint import print_at_start
from stormproof.cli.options import (
    app_argument,
    app_store_option,
    concurrency_option,
    no_lint_option,
)
from stormproof.cli.output import echo_error
from stormproof.errors import StormproofError
from stormproof.telemetry import logs
from stormproof.worker import DEFAULT_SHUTDOWN_TIMEOUT, Worker


@main.command("worker")
@app_argument
@app_store_option
@concurrency_option(
    "Executions at once in this process (functions' reserved concurrency is global)."
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
@click.option(
    "--log-format",
    type=click.Choice(logs.FORMATS, case_sensitive=False),
    default=None,
    help=f"Log lines: console (default) or json (JSON lines); else ${logs.ENV}.",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(min=0, max=65535),
    default=None,
    help="Serve Prometheus metrics at http://127.0.0.1:PORT/metrics (stormproof[telemetry]).",
)
@no_lint_option
@click.pass_context
def worker(
    ctx: click.Context,
    app_spec: str,
    store: str | None,
    concurrency: int,
    shutdown_timeout: float,
    log_level: str,
    log_format: str | None,
    metrics_port: int | None,
    no_lint: bool,
) -> None:
    """Run every consumer of APP (module:attribute) until SIGTERM.

    That is: event-source mappings, async invocations, state-machine steps and tasks
    (with Wait and retry timers) and bus deliveries (with replays and archive
    retention). Opening an App elsewhere (a producer) runs none of these. The linter's
    findings are printed at start (the worker runs even with errors; ``dev`` refuses).
    """
    try:
        logs.configure(log_format, log_level)
    except StormproofError as exc:
        echo_error(str(exc))
        sys.exit(2)
    app = load_app(app_spec, store or store_url(ctx))
    if not no_lint:
        print_at_start(app, as_logs=True)
    runner = Worker(app, concurrency=concurrency, shutdown_timeout=shutdown_timeout)
    try:
        stop_metrics = _metrics_server(app, metrics_port)
        try:
            asyncio.run(_serve(runner))
        finally:
            stop_metrics()
    except StormproofError as exc:
        echo_error(str(exc))
        sys.exit(1)
    _exit_past_stuck_threads()


def _metrics_server(app: App, port: int | None) -> Callable[[], None]:
    """Serve ``/metrics`` on a thread; depth gauges are read on the app's loop per scrape."""
    if port is None:
        return lambda: None
    metrics = app.enable_metrics()
    from stormproof.telemetry.metrics_server import MetricsServer

    def refresh() -> bool:
        try:
            store = app.store
        except RuntimeError:  # not open yet (or closing): keep the last depths
            return False
        app.run_sync(metrics.depths.refresh(store))
        return True

    return MetricsServer(metrics, refresh, "127.0.0.1", port).stop


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
