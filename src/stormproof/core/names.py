"""Resource names: whole-string matching and the prefixes reserved for internal queues.

Every name check goes through :func:`is_name`, which uses ``re.fullmatch``: ``re.match``
with a ``$`` anchor also accepts a trailing newline (``$`` matches before a final ``\\n``),
so ``"orders\\n"`` would pass as a queue name.

The runtime keeps its own work on queues whose names start with a reserved prefix. They
are declared here, once; a user's queue, bus or rule may not use them, or it would take
over (and consume) a function's, a bus's or the state machines' internal work.
"""

from __future__ import annotations

import re
from typing import Any, Final

from stormproof.errors import InvalidAttribute

FUNCTION_QUEUE_PREFIX: Final = "_fn-"
"""A function's async-invocation queue is ``_fn-<function>``."""
BUS_QUEUE_PREFIX: Final = "_bus-"
"""A bus's delivery queue is ``_bus-<bus>``."""
MACHINE_QUEUE_PREFIX: Final = "_sfn-"
"""The state machines' step and task queues are ``_sfn-steps`` and ``_sfn-tasks``."""
RESERVED_PREFIXES: Final = (FUNCTION_QUEUE_PREFIX, BUS_QUEUE_PREFIX, MACHINE_QUEUE_PREFIX)
"""Every internal prefix; a new internal queue family adds its prefix here."""


def is_name(pattern: re.Pattern[str], value: Any) -> bool:
    """Whether ``value`` is a string matching ``pattern`` as a whole (no trailing newline)."""
    return isinstance(value, str) and pattern.fullmatch(value) is not None


def reserved_prefix(name: str) -> str | None:
    """The reserved prefix ``name`` starts with, if any."""
    return next((p for p in RESERVED_PREFIXES if name.startswith(p)), None)


def refuse_reserved(field: str, name: Any, kind: str = "queue") -> None:
    """Raise ``InvalidAttribute`` if a user's ``kind`` name starts with a reserved prefix."""
    prefix = reserved_prefix(name) if isinstance(name, str) else None
    if prefix is not None:
        raise InvalidAttribute(
            field,
            name,
            f"a {kind} name not starting with {prefix!r}; the prefixes "
            f"{', '.join(map(repr, RESERVED_PREFIXES))} are reserved for stormproof's "
            "internal queues",
        )
