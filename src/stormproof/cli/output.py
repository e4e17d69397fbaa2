"""What every command prints: one-line errors, ``--json``, tables, messages, progress bars.

Bad input gives one ``error: ...`` line on stderr and a non-zero exit code (2 for
command-line usage, 1 for values the runtime rejects); user data in tables is never read
as rich markup.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import IO, Any, TypeVar

import click
from rich.console import Console
from rich.progress import MofNCompleteColumn, Progress
from rich.table import Table
from rich.text import Text

from stormproof.errors import StormproofError

F = TypeVar("F", bound=Callable[..., Any])


# Every character str.splitlines() breaks at, escaped so an error stays on one line even
# when it quotes a user's value verbatim (click's messages do).
_LINE_BREAKS = {ord(c): repr(c)[1:-1] for c in "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"}


def one_line(text: str) -> str:
    """``text`` with its line breaks escaped."""
    return text.translate(_LINE_BREAKS)


def echo_error(message: str) -> None:
    """Print ``error: message`` as one line on stderr."""
    click.echo(f"error: {one_line(message)}", err=True)


class CliError(click.ClickException):
    """A failure reported as one ``error: ...`` line on stderr, exit code 1."""

    def show(self, file: IO[Any] | None = None) -> None:
        """Print the one-line error."""
        echo_error(self.format_message())


class BadUsage(CliError):
    """Bad command-line input (unknown option, bad value, missing argument): exit code 2."""

    exit_code = 2


class OneLineGroup(click.Group):
    """A command group whose usage errors print one line instead of usage and hints."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the subcommand, turning click usage errors into :class:`BadUsage`."""
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            raise BadUsage(exc.format_message()) from exc


class RootGroup(OneLineGroup):
    """The root group: every failure ends as one ``error: ...`` line and a non-zero exit.

    Click's own usage errors (exit 2) and anything a command raises are turned into that
    line here, so no input ends in a traceback; an unexpected exception is reported as
    ``error: internal error (Type): ...`` (``STORMPROOF_TRACEBACK=1`` shows the traceback).
    """

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Run the command line; exit with its code."""
        kwargs["standalone_mode"] = False
        try:
            result = super().main(*args, **kwargs)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            echo_error(exc.format_message())
            sys.exit(exc.exit_code)
        except click.Abort:
            echo_error("aborted")
            sys.exit(1)
        except StormproofError as exc:
            echo_error(str(exc))
            sys.exit(1)
        except Exception as exc:
            if os.environ.get("STORMPROOF_TRACEBACK") == "1":
                raise
            echo_error(f"internal error ({type(exc).__name__}): {exc}")
            sys.exit(1)
        # standalone_mode=False returns an exit code for ctx.exit(n) (e.g. --help is 0)
        sys.exit(result if isinstance(result, int) else 0)


def json_option(func: F) -> F:
    """The ``--json`` flag (parameter ``as_json``)."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")(func)


def console(stderr: bool = False) -> Console:
    """A rich console; off a terminal it is wide enough that table rows never wrap."""
    stream = sys.stderr if stderr else sys.stdout
    return Console(file=stream, width=None if stream.isatty() else 250, highlight=False)


def cell(value: Any) -> str:
    """A value as table text: ``-`` for None, yes/no for booleans, compact numbers."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return number(value)
    if isinstance(value, Mapping):
        return json.dumps(dict(value))
    return str(value)


def number(value: float) -> str:
    """A number as plain digits, never ``1.2096e+06``: ``1209600``, ``0.25``."""
    if value.is_integer():
        return str(int(value))
    return f"{value:.6f}".rstrip("0").rstrip(".")


_UNITS = ((86400, "d"), (3600, "h"), (60, "min"))


def duration(seconds: float | None) -> str:
    """A configured duration in its largest whole unit: ``14 d``, ``5 min``, ``30 s``."""
    if seconds is None:
        return "-"
    for size, unit in _UNITS:
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)} {unit}"
    return f"{number(float(seconds))} s"


def age(seconds: float | None) -> str:
    """A duration for humans: ``12.5s``, ``3m 12s``, ``2h 05m``, ``3d 04h``."""
    if seconds is None:
        return "-"
    s = int(seconds)
    if seconds < 60:
        return f"{seconds:.1f}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600:02d}h"


def print_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print rows under a header; user data is never read as rich markup."""
    table = Table(*columns)
    for row in rows:
        table.add_row(*(Text(cell(v)) for v in row))
    console().print(table)


def label(key: str) -> str:
    """A JSON key for humans: ``visibilityTimeout`` and ``to_move`` -> ``visibility timeout``."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r" \1", key).replace("_", " ").lower()


def print_fields(fields: Mapping[str, Any], title: str | None = None) -> None:
    """Print a two-column key/value table."""
    table = Table("field", "value", title=title, show_header=False)
    for key, value in fields.items():
        table.add_row(Text(label(key)), Text(cell(value)))
    console().print(table)


@contextlib.contextmanager
def progress_bar(label: str, total: int, show: bool) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar on stderr; yields ``update(completed, total)``."""
    with Progress(
        *Progress.get_default_columns(),
        MofNCompleteColumn(),
        console=console(stderr=True),
        disable=not show,
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done, of: bar.update(task, completed=done, total=max(done, of))


def print_message(msg: dict[str, Any]) -> None:
    """One received message for humans; the receipt handle is kept on one line."""
    out = console()
    out.print(Text(f"message {msg['messageId']}", style="bold"))
    keys = {
        "receiptHandle": "receipt handle",
        "receiveCount": "receive count",
        "sentAt": "sent at",
        "groupId": "group id",
    }
    lines = {label: msg[key] for key, label in keys.items()}
    if msg["attributes"]:
        lines["attributes"] = msg["attributes"]
    for key, value in lines.items():
        if value is not None:
            out.print(Text(f"  {key}: {cell(value)}"), soft_wrap=True)
    out.print(Text(f"  body: {msg['body']}"), soft_wrap=True)
