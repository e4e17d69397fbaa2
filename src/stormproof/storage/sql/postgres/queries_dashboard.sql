-- Dashboard reads (server-side paging of a queue's messages); see storage/browse_ops.py.

-- name: browse_page
SELECT id, message_id, body, attributes, group_id, sent_at, enqueued_at, visible_at,
       receive_count, receipt IS NOT NULL, source_queue
FROM messages
WHERE queue = %(queue)s AND id > %(after)s
  AND (%(search)s = '' OR message_id = %(search)s
       OR strpos(COALESCE(attributes, ''), %(search)s) > 0)
ORDER BY id LIMIT %(n)s;

-- name: browse_one
SELECT id, message_id, body, attributes, group_id, sent_at, enqueued_at, visible_at,
       receive_count, receipt IS NOT NULL, source_queue
FROM messages WHERE queue = %(queue)s AND message_id = %(message_id)s
ORDER BY id LIMIT 1;

-- name: browse_counts
SELECT queue,
       COALESCE(SUM(CASE WHEN visible_at <= {now} THEN 1 ELSE 0 END), 0)::bigint,
       COALESCE(SUM(CASE WHEN visible_at > {now} AND receipt IS NOT NULL THEN 1 ELSE 0 END), 0)::bigint,
       COALESCE(SUM(CASE WHEN visible_at > {now} AND receipt IS NULL THEN 1 ELSE 0 END), 0)::bigint,
       MIN(enqueued_at), {now}
FROM messages WHERE queue >= %(first)s AND queue <= %(last)s GROUP BY queue;

-- name: browse_slots
SELECT name, COUNT(*)::bigint FROM slots
WHERE substr(name, 1, 3) = 'fn:' AND holder IS NOT NULL AND expires_at > {now} GROUP BY name;
