CREATE TABLE streams (
    name TEXT PRIMARY KEY,
    retention DOUBLE PRECISION NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);

CREATE TABLE stream_shards (
    stream TEXT NOT NULL,
    shard_id TEXT NOT NULL,
    start_hash TEXT NOT NULL,
    end_hash TEXT NOT NULL,
    parent TEXT,
    state TEXT NOT NULL,
    next_seq BIGINT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (stream, shard_id)
);

CREATE TABLE stream_records (
    stream TEXT NOT NULL,
    shard_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    partition_key TEXT NOT NULL,
    data BYTEA NOT NULL,
    arrived_at DOUBLE PRECISION NOT NULL,
    trace TEXT,
    PRIMARY KEY (stream, shard_id, seq)
);

CREATE INDEX stream_records_by_time ON stream_records (stream, shard_id, arrived_at);

CREATE TABLE stream_checkpoints (
    consumer TEXT NOT NULL,
    shard_id TEXT NOT NULL,
    seq BIGINT,
    holder TEXT,
    lease_until DOUBLE PRECISION NOT NULL,
    iterator_age DOUBLE PRECISION,
    updated_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (consumer, shard_id)
);
