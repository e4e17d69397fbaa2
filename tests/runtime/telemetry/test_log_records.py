"""The runtime's own log lines: records made without ``Logger.log``'s detour read the same."""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from stormproof.engine import log_lines
from stormproof.telemetry import logs

FIELDS = {"function": "f", "queue": "q", "message_ids": ["a", "b"], "attempt": 2, "note": "x y"}


class Keep(logging.Handler):
    """Keeps the records it is given (at its level), formatted or not."""

    def __init__(self, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def kept() -> Iterator[tuple[logging.Logger, Keep]]:
    # Outside the logger tree: pytest's capture handlers would format every record.
    logger = logging.Logger("stormproof.test.log_records", logging.DEBUG)
    handler = Keep()
    logger.addHandler(handler)
    yield logger, handler


def test_a_line_has_every_attribute_logging_gives_and_the_same_message(
    kept: tuple[logging.Logger, Keep],
) -> None:
    logger, handler = kept
    before = time.time()
    log_lines.log_event(logger, "batch.success", FIELDS, logging.WARNING)
    (record,) = handler.records
    made = logging.LogRecord(logger.name, logging.WARNING, "x", 1, "m", (), None)
    assert set(made.__dict__) <= set(record.__dict__)
    assert (
        record.getMessage()
        == 'event=batch.success function=f queue=q message_ids=a,b attempt=2 note="x y"'
    )
    assert (record.levelno, record.levelname, record.name) == (
        logging.WARNING,
        "WARNING",
        logger.name,
    )
    assert before <= record.created <= time.time()
    assert 0 <= record.msecs < 1000 and record.msecs == int((record.created % 1) * 1000)
    assert abs(record.relativeCreated - made.relativeCreated) < 1000 * (time.time() - before) + 5
    assert (record.thread, record.threadName) == (
        threading.get_ident(),
        threading.current_thread().name,
    )
    assert (record.process, record.pathname, record.lineno) == (made.process, "(unknown file)", 0)
    assert record.stormproof == {"event": "batch.success", **FIELDS}


def test_a_line_from_another_thread_names_that_thread(kept: tuple[logging.Logger, Keep]) -> None:
    logger, handler = kept
    other = threading.Thread(
        target=log_lines.log_event, args=(logger, "x.y", {"a": 1}), name="other-thread"
    )
    other.start()
    other.join()
    (record,) = handler.records
    assert (record.threadName, record.thread) == ("other-thread", other.ident)


def test_the_text_is_built_only_when_a_handler_formats_it(
    kept: tuple[logging.Logger, Keep],
) -> None:
    logger, handler = kept

    class Loud:
        reads = 0

        def __str__(self) -> str:
            Loud.reads += 1
            return "loud"

    log_lines.log_event(logger, "x.y", {"value": Loud()})
    assert Loud.reads == 0  # kept, not formatted
    record = handler.records[0]
    assert record.getMessage() == record.getMessage() == "event=x.y value=loud"
    assert Loud.reads == 1  # built once, for every formatter of the record


def test_nothing_is_made_when_the_logger_is_off(kept: tuple[logging.Logger, Keep]) -> None:
    logger, handler = kept
    logger.setLevel(logging.WARNING)
    log_lines.log_event(logger, "x.y", {"a": 1}, logging.INFO)
    assert handler.records == []


def test_a_custom_record_factory_makes_the_records(kept: tuple[logging.Logger, Keep]) -> None:
    logger, handler = kept
    default = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = default(*args, **kwargs)
        record.stamped = "yes"
        return record

    logging.setLogRecordFactory(factory)
    try:
        log_lines.log_event(logger, "x.y", {"a": 1})
    finally:
        logging.setLogRecordFactory(default)
    (record,) = handler.records
    assert record.stamped == "yes"
    assert record.getMessage() == "event=x.y a=1"
    assert record.stormproof == {"event": "x.y", "a": 1}


def _standard(record: logging.LogRecord) -> str:
    return logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s").format(record)


def test_console_lines_read_as_the_standard_formatter_wrote_them() -> None:
    formatter = logs.ConsoleFormatter()
    plain = logging.LogRecord("a.b", logging.INFO, __file__, 1, "hi %s", ("x",), None)
    later = logging.LogRecord("a.b", logging.INFO, __file__, 1, "later", (), None)
    later.created += 1.5
    later.msecs = 7.0
    assert formatter.format(plain) == _standard(plain)
    assert formatter.format(later) == _standard(later)  # the cached second moved on
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        failed = logging.LogRecord("a.b", logging.ERROR, __file__, 1, "f", (), sys.exc_info())
    failed.stack_info = "Stack (most recent call last):\n  here"
    failed.trace_id = "t" * 32
    expected = _standard(failed)
    assert formatter.format(failed) == f"{expected} trace_id={'t' * 32}"
    assert "ValueError: boom" in expected and "here" in expected


def test_console_lines_through_configure_carry_the_trace_id() -> None:
    stream = io.StringIO()
    undo = logs.configure("console", "INFO", stream)
    try:
        log_lines.log_event(logging.getLogger("stormproof.test.console"), "x.y", {"a": 1})
    finally:
        undo()
    (line,) = stream.getvalue().splitlines()
    assert line.endswith(" INFO stormproof.test.console event=x.y a=1")
