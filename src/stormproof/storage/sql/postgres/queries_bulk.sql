-- Multi-row forms of ``many`` statements: one statement per batch, whatever its size
-- (the driver turns the list of parameter rows into one array per column, in binary:
-- psycopg's text array format escapes every element with a regular expression).

-- name: enqueue_arrays
INSERT INTO messages (queue, message_id, body, attributes, group_id, dedup_id,
                      sent_at, enqueued_at, visible_at)
SELECT %(queue)s, r.message_id, r.body, r.attributes, r.group_id, r.dedup_id,
       {now}, {now}, {now} + r.delay
FROM unnest(%(message_id)b::text[], %(body)b::text[],
            %(attributes)b::text[], %(group_id)b::text[], %(dedup_id)b::text[],
            %(delay)b::float8[])
     WITH ORDINALITY AS r(message_id, body, attributes, group_id, dedup_id, delay, n)
ORDER BY r.n;
