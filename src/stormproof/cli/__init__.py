"""The ``stormproof`` command line.

Each command group lives in its own module and registers itself on :data:`main`; the
modules are imported at the bottom of this file.
"""

from __future__ import annotations

import importlib

from stormproof.cli.base import main

__all__ = ["main"]

# Command groups, one module each; a module that is not there yet is simply absent.
for _module in ("queues", "dlq", "migrate", "bench", "worker"):
    try:
        importlib.import_module(f"stormproof.cli.{_module}")
    except ModuleNotFoundError as _exc:
        if _exc.name != f"stormproof.cli.{_module}":
            raise
