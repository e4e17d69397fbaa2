-- Multi-row forms of ``many`` statements: one statement per batch, its rows bound as one
-- JSON array of arrays (json.dumps and json_each are C; binding each row is Python).

-- name: enqueue_json
INSERT INTO messages (queue, message_id, body, attributes, group_id, dedup_id,
                      sent_at, enqueued_at, visible_at)
SELECT :queue, json_extract(r.value, '$[0]'), json_extract(r.value, '$[1]'),
       json_extract(r.value, '$[2]'), json_extract(r.value, '$[3]'),
       json_extract(r.value, '$[4]'), {now}, {now}, {now} + json_extract(r.value, '$[5]')
FROM json_each(:rows) AS r
ORDER BY r.key;
