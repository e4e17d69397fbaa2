"""The event bus with EventBridge semantics: rules, targets, publishing, delivery,
archives, replays and schedules."""

from stormproof.bus.bus import Bus

__all__ = ["Bus"]
