CREATE TABLE sfn_machines (
    name TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    type TEXT NOT NULL,
    role_arn TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);

CREATE TABLE sfn_executions (
    id TEXT PRIMARY KEY,
    machine TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    input TEXT NOT NULL,
    output TEXT,
    error TEXT,
    cause TEXT,
    definition TEXT NOT NULL,
    start_time DOUBLE PRECISION NOT NULL,
    stop_time DOUBLE PRECISION,
    state TEXT NOT NULL,
    runtime TEXT NOT NULL,
    version BIGINT NOT NULL,
    redrive_count INTEGER NOT NULL DEFAULT 0,
    parent TEXT,
    map_run TEXT
);

CREATE UNIQUE INDEX sfn_executions_name ON sfn_executions (machine, name);

CREATE INDEX sfn_executions_recent ON sfn_executions (start_time);

CREATE INDEX sfn_executions_map_run ON sfn_executions (map_run);

CREATE TABLE sfn_history (
    execution TEXT NOT NULL,
    event_id BIGINT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (execution, event_id)
);
