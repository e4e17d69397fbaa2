CREATE TABLE streams (
    name TEXT PRIMARY KEY,
    retention REAL NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);

CREATE TABLE stream_shards (
    stream TEXT NOT NULL,
    shard_id TEXT NOT NULL,
    start_hash TEXT NOT NULL,
    end_hash TEXT NOT NULL,
    parent TEXT,
    state TEXT NOT NULL,
    next_seq INTEGER NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (stream, shard_id)
);

CREATE TABLE stream_records (
    stream TEXT NOT NULL,
    shard_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    partition_key TEXT NOT NULL,
    data BLOB NOT NULL,
    arrived_at REAL NOT NULL,
    trace TEXT,
    PRIMARY KEY (stream, shard_id, seq)
);

CREATE INDEX stream_records_by_time ON stream_records (stream, shard_id, arrived_at);

CREATE TABLE stream_checkpoints (
    consumer TEXT NOT NULL,
    shard_id TEXT NOT NULL,
    seq INTEGER,
    holder TEXT,
    lease_until REAL NOT NULL,
    iterator_age REAL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (consumer, shard_id)
);
