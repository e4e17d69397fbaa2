-- Depth gauges for a metrics scrape: one grouped pass over the (queue, visible_at) index.

-- name: all_counts
SELECT queue,
       COALESCE(SUM(CASE WHEN visible_at <= {now} THEN 1 ELSE 0 END), 0),
       COALESCE(SUM(CASE WHEN visible_at > {now} AND receipt IS NOT NULL THEN 1 ELSE 0 END), 0),
       COALESCE(SUM(CASE WHEN visible_at > {now} AND receipt IS NULL THEN 1 ELSE 0 END), 0),
       MIN(enqueued_at), {now}
FROM messages GROUP BY queue;

-- name: queue_names
SELECT name, {now} FROM queues ORDER BY name;
