"""stormproof: resilient event-driven runtime with AWS serverless semantics.

Runs in one process on an embedded SQLite file, or on PostgreSQL shared by many
worker and API processes.
"""

from __future__ import annotations

from stormproof.app import App
from stormproof.bus import Bus
from stormproof.bus_archive import Replay, ReplayStatus
from stormproof.bus_events import PutEventsResult
from stormproof.bus_targets import HeaderAuth, HmacAuth, HttpTarget, Target
from stormproof.execution_records import ExecutionInfo
from stormproof.functions import Function
from stormproof.machines import StateMachine
from stormproof.mappings import EventSourceMapping
from stormproof.messages import BatchResult, Message, QueueStats
from stormproof.queues import Queue
from stormproof.redrive import RedriveStatus, RedriveTask
from stormproof.runners import Context
from stormproof.worker import Worker

__version__ = "0.1.0"

__all__ = [
    "App",
    "BatchResult",
    "Bus",
    "Context",
    "EventSourceMapping",
    "ExecutionInfo",
    "Function",
    "HeaderAuth",
    "HmacAuth",
    "HttpTarget",
    "Message",
    "PutEventsResult",
    "Queue",
    "QueueStats",
    "RedriveStatus",
    "RedriveTask",
    "Replay",
    "ReplayStatus",
    "StateMachine",
    "Target",
    "Worker",
    "__version__",
]
