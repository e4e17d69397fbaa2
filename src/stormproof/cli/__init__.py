"""The ``stormproof`` command line.

Each command group lives in a module of this package and registers itself on
:data:`main`; every module here is imported, so a new command needs no wiring.
"""

from __future__ import annotations

import importlib
import pkgutil

from stormproof.cli.base import main

__all__ = ["main"]

for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _info.name != "base":
        importlib.import_module(f"{__name__}.{_info.name}")
