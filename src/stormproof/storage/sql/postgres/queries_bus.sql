-- Event bus statements (archive rows); see storage/bus_ops.py.

-- name: bus_archive_insert
INSERT INTO bus_archive (archive, event_id, event_time, archived_at, body)
VALUES (%(archive)s, %(event_id)s, %(event_time)s, {now}, %(body)s);

-- name: bus_archive_page
SELECT id, body FROM bus_archive
WHERE archive = %(archive)s AND id > %(after)s AND id <= %(last)s
  AND event_time >= %(start)s AND event_time < %(end)s
ORDER BY id LIMIT %(n)s;

-- name: bus_archive_last_id
SELECT COALESCE(MAX(id), 0)::bigint FROM bus_archive WHERE archive = %(archive)s;

-- name: bus_archive_count
SELECT COUNT(*) FROM bus_archive
WHERE archive = %(archive)s AND id <= %(last)s
  AND event_time >= %(start)s AND event_time < %(end)s;

-- name: bus_archive_expire
DELETE FROM bus_archive WHERE archive = %(archive)s AND archived_at < {now} - %(retention)s;

-- name: bus_archive_stats
SELECT archive, COUNT(*), COALESCE(SUM(LENGTH(body)), 0)::bigint FROM bus_archive GROUP BY archive;
