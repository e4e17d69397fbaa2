-- Named statements for the PostgreSQL store. `{now}` is the caller's clock when one is set,
-- else the database's clock (lease expiry is judged by one clock for every host).

-- name: now
SELECT {now};

-- name: enqueue
INSERT INTO messages (queue, message_id, body, attributes, group_id, dedup_id,
                      sent_at, enqueued_at, visible_at)
VALUES (%(queue)s, %(message_id)s, %(body)s, %(attributes)s, %(group_id)s, %(dedup_id)s,
        {now}, {now}, {now} + %(delay)s);

-- name: dedup_lookup
SELECT dedup_id, message_id FROM dedup
WHERE queue = %(queue)s AND dedup_id = ANY(%(dedup_ids)s) AND expires_at > {now};

-- name: dedup_insert
INSERT INTO dedup (queue, dedup_id, message_id, expires_at)
VALUES (%(queue)s, %(dedup_id)s, %(message_id)s, {now} + %(window)s)
ON CONFLICT (queue, dedup_id) DO UPDATE
SET message_id = excluded.message_id, expires_at = excluded.expires_at;

-- name: group_insert
INSERT INTO fifo_groups (queue, group_id) VALUES (%(queue)s, %(group_id)s) ON CONFLICT DO NOTHING;

-- name: claim_standard
WITH c AS (
    SELECT id FROM messages
    WHERE queue = %(queue)s AND visible_at <= {now} AND enqueued_at >= {now} - %(retention)s
    ORDER BY visible_at LIMIT %(n)s
    FOR UPDATE SKIP LOCKED
)
UPDATE messages m
SET receipt = %(token)s, visible_at = {now} + %(vt)s, receive_count = m.receive_count + 1,
    first_received_at = COALESCE(m.first_received_at, {now}), leased_at = {now}
FROM c WHERE m.id = c.id
RETURNING m.id, m.message_id, m.body, m.attributes, m.group_id, m.dedup_id, m.sent_at,
          m.first_received_at, m.receive_count;

-- name: claim_ids
UPDATE messages
SET receipt = %(token)s, visible_at = {now} + %(vt)s, receive_count = receive_count + 1,
    first_received_at = COALESCE(first_received_at, {now}), leased_at = {now}
WHERE queue = %(queue)s AND id = ANY(%(ids)s)
RETURNING id, message_id, body, attributes, group_id, dedup_id, sent_at,
          first_received_at, receive_count;

-- name: fifo_ready_groups
-- The group row lock is what serialises claimers of one group: SKIP LOCKED on message
-- rows alone would let a second claimer take message 2 while message 1 is being leased.
SELECT g.group_id FROM fifo_groups g
WHERE g.queue = %(queue)s
  AND (SELECT m.visible_at FROM messages m
       WHERE m.queue = g.queue AND m.group_id = g.group_id ORDER BY m.id LIMIT 1) <= {now}
  AND NOT EXISTS (SELECT 1 FROM messages m
                  WHERE m.queue = g.queue AND m.group_id = g.group_id
                    AND m.receipt IS NOT NULL AND m.visible_at > {now})
LIMIT %(n)s
FOR UPDATE OF g SKIP LOCKED;

-- name: fifo_group_heads
SELECT h.id, h.group_id, h.receipt IS NOT NULL AND h.visible_at > {now} AS inflight,
       h.visible_at <= {now} AND h.enqueued_at >= {now} - %(retention)s AS ready
FROM unnest(%(groups)s::text[]) AS g(group_id)
CROSS JOIN LATERAL (
    SELECT m.id, m.group_id, m.receipt, m.visible_at, m.enqueued_at FROM messages m
    WHERE m.queue = %(queue)s AND m.group_id = g.group_id ORDER BY m.id LIMIT %(n)s
) AS h;

-- name: move_to_dlq
UPDATE messages
SET queue = %(dlq)s, source_queue = %(queue)s, receipt = NULL, leased_at = NULL,
    visible_at = {now}, receive_count = receive_count - 1,
    enqueued_at = CASE WHEN %(reset)s THEN {now} ELSE enqueued_at END
WHERE queue = %(queue)s AND id = ANY(%(ids)s);

-- name: delete_leased
DELETE FROM messages
WHERE queue = %(queue)s AND id = ANY(%(ids)s) AND (id::text || ':' || receipt) = ANY(%(keys)s)
RETURNING id;

-- name: lease_rows
SELECT id, receipt, visible_at > {now} AS inflight, {now} - COALESCE(leased_at, {now}) AS held
FROM messages WHERE queue = %(queue)s AND id = ANY(%(ids)s);

-- name: set_visibility
UPDATE messages SET visible_at = {now} + %(timeout)s WHERE id = %(id)s AND receipt = %(token)s;

-- name: cas_insert
INSERT INTO state (key, version, value, updated_at) VALUES (%(key)s, 1, %(value)s, {now})
ON CONFLICT (key) DO NOTHING RETURNING version;

-- name: cas_update
UPDATE state SET value = %(value)s, version = version + 1, updated_at = {now}
WHERE key = %(key)s AND version = %(expected)s RETURNING version;

-- name: state_delete
DELETE FROM state
WHERE key = %(key)s AND (%(expected)s::int IS NULL OR version = %(expected)s::int)
RETURNING version;

-- name: txn_outcomes_prune
-- Transaction units' outcome rows (storage/transaction_ops.py) past their keep time.
DELETE FROM state WHERE key >= 'txn/' AND key < 'txn0' AND updated_at < %(before)s;

-- name: state_get
SELECT key, version, value, updated_at FROM state WHERE key = %(key)s;

-- name: state_list
SELECT key, version, value, updated_at FROM state
WHERE key >= %(lo)s AND key < %(hi)s ORDER BY key;

-- name: slots_ensure
INSERT INTO slots (name, slot, holder, expires_at)
SELECT %(name)s, g, NULL, 0 FROM generate_series(0, %(limit)s - 1) AS g
ON CONFLICT DO NOTHING;

-- name: slots_acquire
WITH c AS (
    SELECT slot FROM slots
    WHERE name = %(name)s AND slot < %(limit)s AND expires_at <= {now}
    ORDER BY slot LIMIT %(count)s
    FOR UPDATE SKIP LOCKED
)
UPDATE slots s SET holder = %(holder)s, expires_at = {now} + %(ttl)s
FROM c WHERE s.name = %(name)s AND s.slot = c.slot
RETURNING s.slot;

-- name: slots_extend
UPDATE slots SET expires_at = {now} + %(ttl)s
WHERE name = %(name)s AND holder = %(holder)s AND expires_at > {now} AND slot = ANY(%(slots)s)
RETURNING slot;

-- name: slots_release
UPDATE slots SET holder = NULL, expires_at = 0
WHERE name = %(name)s AND holder = %(holder)s AND slot = ANY(%(slots)s);

-- name: queue_put
INSERT INTO queues (name, attributes, created_at, updated_at)
VALUES (%(name)s, %(attributes)s, {now}, {now})
ON CONFLICT (name) DO UPDATE SET attributes = excluded.attributes, updated_at = excluded.updated_at
RETURNING name, attributes, created_at, updated_at;

-- name: queue_get
SELECT name, attributes, created_at, updated_at FROM queues WHERE name = %(name)s;

-- name: queue_list
SELECT name, attributes, created_at, updated_at FROM queues ORDER BY name;

-- name: queue_delete
DELETE FROM queues WHERE name = %(name)s RETURNING name;

-- name: purge
DELETE FROM messages WHERE queue = %(queue)s;

-- name: dedup_purge
DELETE FROM dedup WHERE queue = %(queue)s;

-- name: groups_purge
DELETE FROM fifo_groups WHERE queue = %(queue)s;

-- name: counts
SELECT COALESCE(SUM(CASE WHEN visible_at <= {now} THEN 1 ELSE 0 END), 0)::bigint,
       COALESCE(SUM(CASE WHEN visible_at > {now} AND receipt IS NOT NULL THEN 1 ELSE 0 END), 0)::bigint,
       COALESCE(SUM(CASE WHEN visible_at > {now} AND receipt IS NULL THEN 1 ELSE 0 END), 0)::bigint,
       MIN(enqueued_at), {now}
FROM messages WHERE queue = %(queue)s;

-- name: expire
DELETE FROM messages WHERE queue = %(queue)s AND enqueued_at < {now} - %(retention)s;

-- name: dedup_expire
DELETE FROM dedup WHERE queue = %(queue)s AND expires_at <= {now};

-- name: groups_expire
DELETE FROM fifo_groups g
WHERE g.queue = %(queue)s
  AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.queue = g.queue AND m.group_id = g.group_id);

-- name: next_visible
SELECT MIN(visible_at) - {now} FROM messages WHERE queue = %(queue)s AND visible_at > {now};

-- name: redrive_select
SELECT id, source_queue, group_id, attributes, message_id FROM messages
WHERE queue = %(queue)s AND visible_at <= {now} AND (%(anywhere)s OR source_queue IS NOT NULL)
ORDER BY id LIMIT %(n)s
FOR UPDATE SKIP LOCKED;

-- name: redrive_select_ids
SELECT id, source_queue, group_id, attributes, message_id FROM messages
WHERE queue = %(queue)s AND message_id = ANY(%(ids)s) AND visible_at <= {now}
    AND (%(anywhere)s OR source_queue IS NOT NULL)
ORDER BY id LIMIT %(n)s
FOR UPDATE SKIP LOCKED;

-- name: redrive_move
UPDATE messages
SET queue = %(dest)s, message_id = %(new_id)s, attributes = %(attributes)s, receive_count = 0,
    first_received_at = NULL, receipt = NULL, leased_at = NULL, source_queue = NULL,
    sent_at = {now}, enqueued_at = {now}, visible_at = {now}
WHERE id = %(id)s;

-- name: queue_size
SELECT COUNT(*) FROM messages WHERE queue = %(queue)s;

-- name: queues_named
SELECT name, attributes FROM queues WHERE name = ANY(%(names)s);

-- name: slots_in_use
-- Leased (unexpired) slots per pool: reserved concurrency and limits in use right now.
SELECT name, COUNT(*) FROM slots WHERE holder IS NOT NULL AND expires_at > {now}
GROUP BY name ORDER BY name;
