"""stormproof: resilient event-driven runtime with AWS serverless semantics.

Runs in one process on an embedded SQLite file, or on PostgreSQL shared by many
worker and API processes.
"""

from __future__ import annotations

from stormproof.app import App, smtp_target
from stormproof.bus.bus import Bus
from stormproof.bus.events import PutEventsResult
from stormproof.bus.replays import Replay, ReplayStatus
from stormproof.bus.targets import HeaderAuth, HmacAuth, HttpTarget, Target
from stormproof.core.faults import Fault
from stormproof.functions.function import Function
from stormproof.functions.mappings import EventSourceMapping
from stormproof.functions.runners import Context
from stormproof.machines.definitions import StateMachine
from stormproof.machines.records import ExecutionInfo
from stormproof.queues.messages import BatchResult, Message, QueueStats
from stormproof.queues.queue import Queue
from stormproof.queues.redrive import RedriveStatus, RedriveTask
from stormproof.worker import Worker

__version__ = "0.1.0"

__all__ = [
    "App",
    "BatchResult",
    "Bus",
    "Context",
    "EventSourceMapping",
    "ExecutionInfo",
    "Fault",
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
    "smtp_target",
]
