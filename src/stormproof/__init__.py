"""stormproof: resilient event-driven runtime with AWS serverless semantics.

Runs in one process on an embedded SQLite file, or on PostgreSQL shared by many
worker and API processes.
"""

from __future__ import annotations

from stormproof.app import App
from stormproof.messages import BatchResult, Message, QueueStats
from stormproof.queues import Queue
from stormproof.redrive import RedriveStatus, RedriveTask

__version__ = "0.1.0"

__all__ = [
    "App",
    "BatchResult",
    "Message",
    "Queue",
    "QueueStats",
    "RedriveStatus",
    "RedriveTask",
    "__version__",
]
