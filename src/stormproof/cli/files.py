"""Files named on the command line (``@path`` arguments, ``--input-file``): read as UTF-8
text, or a one-line usage error naming the argument and the cause."""

from __future__ import annotations

from pathlib import Path

from stormproof.cli.output import BadUsage


def read_text(name: str, path: str | Path) -> str:
    """The UTF-8 text of ``path``; a missing, unreadable or non-UTF-8 file is a usage error."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise BadUsage(f"{name}: {str(path)!r} is not UTF-8 text ({exc.reason})") from None
    except (OSError, ValueError) as exc:
        # ValueError: a NUL byte in the path.
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise BadUsage(f"{name}: cannot read {str(path)!r}: {reason}") from None
