"""stormproof: resilient event-driven runtime with AWS serverless semantics.

Runs in one process on an embedded SQLite file, or on PostgreSQL shared by many
worker and API processes.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
