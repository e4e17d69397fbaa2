"""The click options and arguments that several commands share, declared once so that
their names, defaults and help read the same in every command."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from stormproof.worker import DEFAULT_CONCURRENCY

F = TypeVar("F", bound=Callable[..., Any])

app_argument = click.argument("app_spec", metavar="APP")
"""The ``APP`` argument (``module:attribute``, as uvicorn takes it)."""

app_store_option = click.option(
    "--store", default=None, help="Store URL (overrides the root --store)."
)
"""``--store`` on a command that loads an app: it wins over the root ``--store``."""

host_option = click.option("--host", default="127.0.0.1", show_default=True)
"""``--host`` of a server command (loopback by default)."""

no_lint_option = click.option("--no-lint", is_flag=True, help="Skip the preflight linter at start.")
"""``--no-lint`` of a command that lints the app before it starts."""


def port_option(default: int) -> Callable[[F], F]:
    """``--port`` of a server command (0 asks the system for a free port)."""
    return click.option("--port", type=click.IntRange(0, 65535), default=default, show_default=True)


def concurrency_option(help_text: str) -> Callable[[F], F]:
    """``--concurrency``: executions at once in this process."""
    return click.option(
        "--concurrency",
        type=click.IntRange(min=1),
        default=DEFAULT_CONCURRENCY,
        show_default=True,
        help=help_text,
    )


def report_json_option(what: str = "report") -> Callable[[F], F]:
    """``--json`` of a benchmark (parameter ``as_json``): print the report (or figures)."""
    return click.option("--json", "as_json", is_flag=True, help=f"Print the {what} as JSON.")


bench_store_option = click.option(
    "--store",
    "store",
    default=None,
    help="Store URL to benchmark beside (a new SQLite file next to it, or a new PostgreSQL "
    "schema bench_<random>; both removed afterwards). Default: the root --store.",
)
"""``--store`` of a benchmark: it runs on a fresh store beside this one, removed after."""


calls_option = click.option(
    "--calls", default=200_000, show_default=True, type=click.IntRange(min=1)
)
"""``--calls`` of a micro-benchmark: how many times it calls the site it measures."""

consume_rate_option = click.option(
    "--consume-rate",
    default=10_000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Messages/s of `bench consume` to compare against (batch 10).",
)
"""``--consume-rate`` of a micro-benchmark: the rate its cost is a share of."""


def bench_workers_option(help_text: str) -> Callable[[F], F]:
    """``-w/--workers`` of a benchmark that runs worker processes (1-64)."""
    return click.option(
        "-w",
        "--workers",
        default=2,
        show_default=True,
        type=click.IntRange(min=1, max=64),
        help=help_text,
    )
