CREATE TABLE queues (
    name TEXT PRIMARY KEY,
    attributes TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);

CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    message_id TEXT NOT NULL,
    body TEXT NOT NULL,
    attributes TEXT,
    group_id TEXT,
    dedup_id TEXT,
    sent_at REAL NOT NULL,
    enqueued_at REAL NOT NULL,
    visible_at REAL NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    first_received_at REAL,
    leased_at REAL,
    receipt TEXT,
    source_queue TEXT
);

CREATE INDEX messages_ready ON messages (queue, visible_at);

CREATE INDEX messages_group ON messages (queue, group_id, id) WHERE group_id IS NOT NULL;

CREATE TABLE fifo_groups (
    queue TEXT NOT NULL,
    group_id TEXT NOT NULL,
    PRIMARY KEY (queue, group_id)
);

CREATE TABLE dedup (
    queue TEXT NOT NULL,
    dedup_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (queue, dedup_id)
);

CREATE TABLE state (
    key TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    value TEXT NOT NULL,
    updated_at REAL NOT NULL
);

CREATE TABLE slots (
    name TEXT NOT NULL,
    slot INTEGER NOT NULL,
    holder TEXT,
    expires_at REAL NOT NULL,
    PRIMARY KEY (name, slot)
);
