"""Real faults for tests: a small tmpfs to fill to the brim (needs root)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def small_tmpfs(where: Path, size: str = "3m") -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``where/small``; skips loudly if it cannot mount."""
    mnt = where / "small"
    mnt.mkdir()
    cmd = ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"!!! cannot mount a tmpfs ({done.stderr.strip()}): disk-full test SKIPPED")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(folder: Path) -> Path:
    """Write a file into ``folder`` until the file system is full; the file's path."""
    filler = folder / "filler"
    with filler.open("wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    return filler
