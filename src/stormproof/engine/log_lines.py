"""One structured log line, written the same way by every part of the runtime.

The text is ``event=<name> key=value ...`` (a list as ``a,b``; a value with a space, or
an empty one, JSON-quoted so the line still splits on spaces); the fields also travel as
``extra["stormproof"]``, which the JSON log format writes as they are.

These lines are written per batch on the hot path of every consumer, so the record is made
without ``logging.Logger.log``'s detour: no ``findCaller`` (the line names its logger and
event; the frame walk cost more than the rest of the record), the record's process-wide
attributes copied from one made once per process, and the ``key=value`` text built only
when a handler formats the record. The records carry ``pathname`` ``(unknown file)``,
``lineno`` 0 and ``funcName`` ``(unknown function)``, as ``logging`` gives without source
information. A custom log record factory (``logging.setLogRecordFactory``) is honoured:
records are then made through it.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from collections.abc import Mapping
from typing import Any

MESSAGE = "event=%s %s"
NO_FILE, NO_FUNCTION = "(unknown file)", "(unknown function)"
_NS = 1_000_000_000


def log_event(
    logger: logging.Logger, event: str, fields: Mapping[str, Any], level: int = logging.INFO
) -> None:
    """Write ``event`` with ``fields`` to ``logger`` (nothing built when it is off).

    ``fields`` is read when a handler formats the record: pass a mapping nobody changes.
    """
    if logger.isEnabledFor(level):
        logger.handle(record_of(logger, level, event, fields))


def record_of(
    logger: logging.Logger, level: int, event: str, fields: Mapping[str, Any]
) -> logging.LogRecord:
    """The log record of one line: message ``event=%s %s`` with ``(event, Text(fields))``."""
    args = (event, Text(fields))
    extra = {"event": event, **fields}
    if logging.getLogRecordFactory() is not logging.LogRecord:
        return logger.makeRecord(
            logger.name, level, NO_FILE, 0, MESSAGE, args, None, NO_FUNCTION, {"stormproof": extra}
        )
    attrs = (_Process.shared or _Process.attributes()).copy()
    ns = time.time_ns()
    attrs["created"] = created = ns / _NS
    attrs["msecs"] = (ns % _NS) // 1_000_000 + 0.0
    attrs["relativeCreated"] = (created - _Process.started) * 1000
    attrs["name"], attrs["msg"], attrs["args"] = logger.name, MESSAGE, args
    attrs["levelno"], attrs["levelname"] = level, logging.getLevelName(level)
    attrs["stormproof"] = extra
    if logging.logThreads:
        thread = threading.current_thread()
        attrs["thread"], attrs["threadName"] = thread.ident, thread.name
    if "taskName" in attrs:  # Python 3.12+
        attrs["taskName"] = _task_name()
    record: logging.LogRecord = logging.LogRecord.__new__(logging.LogRecord)
    record.__dict__ = attrs
    return record


class _Process:
    """The attributes every record of this process shares (remade after a fork)."""

    shared: dict[str, Any] | None = None
    started = 0.0  # logging's start time, from which ``relativeCreated`` counts

    @classmethod
    def attributes(cls) -> dict[str, Any]:
        """A record's attributes as ``logging.LogRecord`` sets them in this process."""
        if cls.shared is None:
            made = logging.LogRecord("", logging.NOTSET, NO_FILE, 0, "", (), None, NO_FUNCTION)
            cls.started = made.created - made.relativeCreated / 1000
            cls.shared = dict(made.__dict__)
        return cls.shared

    @classmethod
    def forget(cls) -> None:
        """Drop the shared attributes (a forked child has another pid)."""
        cls.shared = None


os.register_at_fork(after_in_child=_Process.forget)


def _task_name() -> str | None:
    """The running asyncio task's name, as ``logging`` records it (3.12+)."""
    if not getattr(logging, "logAsyncioTasks", False):
        return None
    asyncio = sys.modules.get("asyncio")
    try:
        name: str | None = asyncio.current_task().get_name() if asyncio else None
    except Exception:
        return None
    return name


class Text:
    """The ``key=value`` text of some fields, built the first time a handler asks."""

    __slots__ = ("fields", "text")

    def __init__(self, fields: Mapping[str, Any]) -> None:
        self.fields = fields
        self.text: str | None = None

    def __str__(self) -> str:
        if self.text is None:
            self.text = " ".join([f"{k}={value_text(v)}" for k, v in self.fields.items()])
        return self.text


def value_text(value: Any) -> str:
    """How one value reads in the ``key=value`` text."""
    if type(value) is str:
        return json.dumps(value) if " " in value or not value else value
    if isinstance(value, list | tuple):
        return ",".join(map(str, value))
    text = str(value)
    return json.dumps(text) if " " in text or not text else text
