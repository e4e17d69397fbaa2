CREATE TABLE bus_archive (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    archive TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_time REAL NOT NULL,
    archived_at REAL NOT NULL,
    body TEXT NOT NULL
);

CREATE INDEX bus_archive_by_id ON bus_archive (archive, id);

CREATE INDEX bus_archive_by_age ON bus_archive (archive, archived_at);
