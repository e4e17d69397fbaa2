"""One structured log line, written the same way by every part of the runtime.

The text is ``event=<name> key=value ...`` (a list as ``a,b``; a value with a space, or
an empty one, JSON-quoted so the line still splits on spaces); the fields also travel as
``extra["stormproof"]``, which the JSON log format writes as they are.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any


def log_event(
    logger: logging.Logger, event: str, fields: Mapping[str, Any], level: int = logging.INFO
) -> None:
    """Write ``event`` with ``fields`` to ``logger`` (nothing formatted when it is off)."""
    if logger.isEnabledFor(level):
        text = " ".join(f"{k}={value_text(v)}" for k, v in fields.items())
        logger.log(
            level, "event=%s %s", event, text, extra={"stormproof": {"event": event, **fields}}
        )


def value_text(value: Any) -> str:
    """How one value reads in the ``key=value`` text."""
    if isinstance(value, list | tuple):
        return ",".join(map(str, value))
    text = str(value)
    return json.dumps(text) if " " in text or not text else text
