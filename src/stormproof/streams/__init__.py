"""Ordered streams: sharded logs with per-shard sequence numbers (Kinesis semantics)."""
