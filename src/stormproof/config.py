"""Settings read from the environment, in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_STORE = "sqlite:///.stormproof/stormproof.db"


@dataclass(frozen=True)
class Settings:
    """Process-wide settings."""

    store: str = DEFAULT_STORE


def from_env(environ: dict[str, str] | None = None) -> Settings:
    """Read ``STORMPROOF_STORE`` (the store URL); the embedded SQLite file otherwise."""
    env = os.environ if environ is None else environ
    return Settings(store=env.get("STORMPROOF_STORE") or DEFAULT_STORE)
