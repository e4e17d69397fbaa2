-- Dashboard reads (server-side paging of a queue's messages); see storage/browse_ops.py.

-- name: browse_page
SELECT id, message_id, body, attributes, group_id, sent_at, enqueued_at, visible_at,
       receive_count, receipt IS NOT NULL, source_queue
FROM messages
WHERE queue = :queue AND id > :after
  AND (:search = '' OR message_id = :search OR instr(COALESCE(attributes, ''), :search) > 0)
ORDER BY id LIMIT :n;

-- name: browse_one
SELECT id, message_id, body, attributes, group_id, sent_at, enqueued_at, visible_at,
       receive_count, receipt IS NOT NULL, source_queue
FROM messages WHERE queue = :queue AND message_id = :message_id
ORDER BY id LIMIT 1;

-- name: browse_counts
SELECT queue,
       COALESCE(SUM(CASE WHEN visible_at <= {now} THEN 1 ELSE 0 END), 0),
       COALESCE(SUM(CASE WHEN visible_at > {now} AND receipt IS NOT NULL THEN 1 ELSE 0 END), 0),
       COALESCE(SUM(CASE WHEN visible_at > {now} AND receipt IS NULL THEN 1 ELSE 0 END), 0),
       MIN(enqueued_at), {now}
FROM messages WHERE queue >= :first AND queue <= :last GROUP BY queue;

-- name: browse_slots
SELECT name, COUNT(*) FROM slots
WHERE substr(name, 1, 3) = 'fn:' AND holder IS NOT NULL AND expires_at > {now} GROUP BY name;
