-- The trace context (W3C traceparent) a record carries (docs/observability.md, Traces).
ALTER TABLE stream_records ADD COLUMN trace TEXT;
