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
