"""Structured logs: readable console lines by default, JSON lines on request.

The standard library's ``logging`` with two formatters, not structlog: every module already
logs through ``logging``, a formatter sees each record (third-party ones included), and
the core install stays free of dependencies. Runtime events become log records of the
``stormproof.events`` logger at the level each event means (``engine.events.LEVELS``),
carrying the ids an operator follows one piece of work by.

Choose with ``--log-format json`` or ``STORMPROOF_LOG_FORMAT=json`` (default ``console``).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

from stormproof.core import trace_context
from stormproof.engine import events
from stormproof.engine.log_lines import log_event
from stormproof.errors import InvalidAttribute

FORMATS = ("console", "json")
NL = "\n"
ENV = "STORMPROOF_LOG_FORMAT"
# Payloads stay out of log lines (size, personal data): alarms carry them instead.
PAYLOAD_FIELDS = frozenset({"body", "event", "input", "attributes", "error", "cause"})
# The ids printed first, in this order, when an event or record has them.
IDS = (
    "app",
    "queue",
    "dlq",
    "bus",
    "rule",
    "target",
    "machine",
    "function",
    "message_id",
    "request_id",
    "execution_arn",
    "state_name",
    "attempt",
    "trace_id",
)

events_log = logging.getLogger("stormproof.events")


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields a record carries (``extra={"stormproof": {...}}``), with the
    trace id of the work that wrote it (see :class:`TraceIdFilter`)."""
    found = getattr(record, "stormproof", None)
    fields = dict(found) if isinstance(found, Mapping) else {}
    trace = getattr(record, "trace_id", None)
    if trace and "trace_id" not in fields:
        fields["trace_id"] = trace
    return fields


class TraceIdFilter(logging.Filter):
    """Stamps ``record.trace_id`` from the running work's trace context (when it has one).

    A handler filter, so it runs on the task that logged, where the context is set.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Add the trace id; never drops a record."""
        if not hasattr(record, "trace_id"):
            record.trace_id = trace_context.trace_id(trace_context.current_traceparent())
        return True


def _ordered(fields: Mapping[str, Any]) -> dict[str, Any]:
    first = {k: fields[k] for k in IDS if fields.get(k) not in (None, "")}
    return first | {k: v for k, v in fields.items() if k not in first and k not in IDS}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, event, message, then the ids."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one JSON line."""
        fields = fields_of(record)
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "event": fields.pop("event", None),
            "message": record.getMessage(),
        }
        line |= _ordered(fields)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, separators=(",", ":"))


class ConsoleFormatter(logging.Formatter):
    """``time LEVEL logger message``, the way the worker always printed.

    Written out rather than through ``logging.Formatter.format``'s generic template: the
    runtime writes a line per batch, and the template, with ``strftime`` for every line
    (here once a second), was a third of a line's cost.
    """

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")
        self._second: tuple[int, str] = (-1, "")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """``2026-12-03 14:05:09,123``: the local time of the record, to the millisecond."""
        if datefmt:
            return super().formatTime(record, datefmt)
        second, text = self._second
        if second != int(record.created):
            second = int(record.created)
            text = time.strftime(self.default_time_format, self.converter(record.created))
            self._second = (second, text)
        msec = self.default_msec_format
        return msec % (text, record.msecs) if msec else text

    def format(self, record: logging.LogRecord) -> str:
        """The line (and traceback), ending in ``trace_id=...`` when the work is traced."""
        record.message = record.getMessage()
        record.asctime = self.formatTime(record)
        line = f"{record.asctime} {record.levelname} {record.name} {record.message}"
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        for extra in (record.exc_text, record.stack_info and self.formatStack(record.stack_info)):
            if extra:
                line = f"{line}{'' if line.endswith(NL) else NL}{extra}"
        trace = getattr(record, "trace_id", None)
        return f"{line} trace_id={trace}" if trace and "trace_id=" not in line else line


def event_subscriber(event: events.RuntimeEvent) -> None:
    """Write one runtime event as a log record (console text ``event=... key=value``)."""
    if not events_log.isEnabledFor(event.level):
        return
    fields = _ordered(
        {"app": event.app, **{k: v for k, v in event.fields.items() if k not in PAYLOAD_FIELDS}}
    )
    log_event(events_log, event.name, fields, event.level)


def chosen_format(option: str | None) -> str:
    """The format asked for: the option, else ``STORMPROOF_LOG_FORMAT``, else console."""
    value = (option or os.environ.get(ENV) or "console").lower()
    if value not in FORMATS:
        raise InvalidAttribute("log format", value, " or ".join(FORMATS))
    return value


def configure(
    log_format: str | None = None, level: str = "INFO", stream: TextIO | None = None
) -> Callable[[], None]:
    """Send stormproof's logs and runtime events to ``stream`` (stderr) in the chosen format.

    Returns a function undoing it (tests); a process calls this once at start.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    json_lines = chosen_format(log_format) == "json"
    handler.setFormatter(JsonFormatter() if json_lines else ConsoleFormatter())
    handler.addFilter(TraceIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(level.upper())
    unsubscribe = events.subscribe(event_subscriber)

    def undo() -> None:
        unsubscribe()
        root.removeHandler(handler)
        root.setLevel(previous)

    return undo
