"""Durable queues with SQS semantics: queue handles, messages, DLQ redrive tasks."""

from stormproof.queues.queue import Queue

__all__ = ["Queue"]
