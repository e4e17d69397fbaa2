-- Event bus statements (archive rows); see storage/bus_ops.py.

-- name: bus_archive_insert
INSERT INTO bus_archive (archive, event_id, event_time, archived_at, body)
VALUES (:archive, :event_id, :event_time, {now}, :body);

-- name: bus_archive_page
SELECT id, body FROM bus_archive
WHERE archive = :archive AND id > :after AND id <= :last
  AND event_time >= :start AND event_time < :end
ORDER BY id LIMIT :n;

-- name: bus_archive_last_id
SELECT COALESCE(MAX(id), 0) FROM bus_archive WHERE archive = :archive;

-- name: bus_archive_count
SELECT COUNT(*) FROM bus_archive
WHERE archive = :archive AND id <= :last AND event_time >= :start AND event_time < :end;

-- name: bus_archive_expire
DELETE FROM bus_archive WHERE archive = :archive AND archived_at < {now} - :retention;

-- name: bus_archive_stats
SELECT archive, COUNT(*), COALESCE(SUM(LENGTH(body)), 0) FROM bus_archive GROUP BY archive;
