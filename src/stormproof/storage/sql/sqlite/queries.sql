-- Named statements for the SQLite store. `{now}` is the caller's clock; list-valued
-- parameters arrive as JSON text and are read with json_each. `+queue` keeps SQLite from
-- choosing the (queue, visible_at) index where the primary key finds the rows directly.

-- name: now
SELECT {now};

-- name: enqueue
INSERT INTO messages (queue, message_id, body, attributes, group_id, dedup_id,
                      sent_at, enqueued_at, visible_at)
VALUES (:queue, :message_id, :body, :attributes, :group_id, :dedup_id,
        {now}, {now}, {now} + :delay);

-- name: dedup_lookup
SELECT dedup_id, message_id FROM dedup
WHERE queue = :queue AND dedup_id IN (SELECT value FROM json_each(:dedup_ids))
  AND expires_at > {now};

-- name: dedup_insert
INSERT INTO dedup (queue, dedup_id, message_id, expires_at)
VALUES (:queue, :dedup_id, :message_id, {now} + :window)
ON CONFLICT (queue, dedup_id) DO UPDATE
SET message_id = excluded.message_id, expires_at = excluded.expires_at;

-- name: group_insert
INSERT INTO fifo_groups (queue, group_id) VALUES (:queue, :group_id) ON CONFLICT DO NOTHING;

-- name: claim_standard
UPDATE messages
SET receipt = :token, visible_at = {now} + :vt, receive_count = receive_count + 1,
    first_received_at = COALESCE(first_received_at, {now}), leased_at = {now}
WHERE id IN (SELECT id FROM messages
             WHERE queue = :queue AND visible_at <= {now} AND enqueued_at >= {now} - :retention
             ORDER BY visible_at LIMIT :n)
RETURNING id, message_id, body, attributes, group_id, dedup_id, sent_at,
          first_received_at, receive_count;

-- name: claim_ids
UPDATE messages
SET receipt = :token, visible_at = {now} + :vt, receive_count = receive_count + 1,
    first_received_at = COALESCE(first_received_at, {now}), leased_at = {now}
WHERE +queue = :queue AND id IN (SELECT value FROM json_each(:ids))
RETURNING id, message_id, body, attributes, group_id, dedup_id, sent_at,
          first_received_at, receive_count;

-- name: fifo_ready_groups
SELECT g.group_id FROM fifo_groups g
WHERE g.queue = :queue
  AND (SELECT m.visible_at FROM messages m
       WHERE m.queue = g.queue AND m.group_id = g.group_id ORDER BY m.id LIMIT 1) <= {now}
  AND NOT EXISTS (SELECT 1 FROM messages m
                  WHERE m.queue = g.queue AND m.group_id = g.group_id
                    AND m.receipt IS NOT NULL AND m.visible_at > {now})
LIMIT :n;

-- name: fifo_group_head
SELECT id, group_id, receipt IS NOT NULL AND visible_at > {now} AS inflight,
       visible_at <= {now} AND enqueued_at >= {now} - :retention AS ready
FROM messages WHERE queue = :queue AND group_id = :group_id ORDER BY id LIMIT :n;

-- name: move_to_dlq
UPDATE messages
SET queue = :dlq, source_queue = :queue, receipt = NULL, leased_at = NULL, visible_at = {now},
    receive_count = receive_count - 1,
    enqueued_at = CASE WHEN :reset THEN {now} ELSE enqueued_at END
WHERE +queue = :queue AND id IN (SELECT value FROM json_each(:ids));

-- name: delete_leased
DELETE FROM messages
WHERE +queue = :queue AND id IN (SELECT value FROM json_each(:ids))
  AND (CAST(id AS TEXT) || ':' || receipt) IN (SELECT value FROM json_each(:keys))
RETURNING id;

-- name: lease_rows
SELECT id, receipt, visible_at > {now} AS inflight, {now} - COALESCE(leased_at, {now}) AS held
FROM messages WHERE +queue = :queue AND id IN (SELECT value FROM json_each(:ids));

-- name: set_visibility
UPDATE messages SET visible_at = {now} + :timeout WHERE id = :id AND receipt = :token;

-- name: cas_insert
INSERT INTO state (key, version, value, updated_at) VALUES (:key, 1, :value, {now})
ON CONFLICT (key) DO NOTHING RETURNING version;

-- name: cas_update
UPDATE state SET value = :value, version = version + 1, updated_at = {now}
WHERE key = :key AND version = :expected RETURNING version;

-- name: state_delete
DELETE FROM state WHERE key = :key AND (:expected IS NULL OR version = :expected)
RETURNING version;

-- name: txn_outcomes_prune
-- Transaction units' outcome rows (storage/transaction_ops.py) past their keep time.
DELETE FROM state WHERE key >= 'txn/' AND key < 'txn0' AND updated_at < :before;

-- name: state_get
SELECT key, version, value, updated_at FROM state WHERE key = :key;

-- name: state_list
SELECT key, version, value, updated_at FROM state WHERE key >= :lo AND key < :hi ORDER BY key;

-- name: slots_ensure
WITH RECURSIVE r(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM r WHERE i + 1 < :limit)
INSERT INTO slots (name, slot, holder, expires_at)
SELECT :name, i, NULL, 0 FROM r WHERE true ON CONFLICT DO NOTHING;

-- name: slots_acquire
UPDATE slots SET holder = :holder, expires_at = {now} + :ttl
WHERE name = :name AND slot IN (SELECT slot FROM slots
                                WHERE name = :name AND slot < :limit AND expires_at <= {now}
                                ORDER BY slot LIMIT :count)
RETURNING slot;

-- name: slots_extend
UPDATE slots SET expires_at = {now} + :ttl
WHERE name = :name AND holder = :holder AND expires_at > {now}
  AND slot IN (SELECT value FROM json_each(:slots))
RETURNING slot;

-- name: slots_release
UPDATE slots SET holder = NULL, expires_at = 0
WHERE name = :name AND holder = :holder AND slot IN (SELECT value FROM json_each(:slots));

-- name: queue_put
INSERT INTO queues (name, attributes, created_at, updated_at)
VALUES (:name, :attributes, {now}, {now})
ON CONFLICT (name) DO UPDATE SET attributes = excluded.attributes, updated_at = excluded.updated_at
RETURNING name, attributes, created_at, updated_at;

-- name: queue_get
SELECT name, attributes, created_at, updated_at FROM queues WHERE name = :name;

-- name: queue_list
SELECT name, attributes, created_at, updated_at FROM queues ORDER BY name;

-- name: queue_delete
DELETE FROM queues WHERE name = :name RETURNING name;

-- name: purge
DELETE FROM messages WHERE queue = :queue;

-- name: dedup_purge
DELETE FROM dedup WHERE queue = :queue;

-- name: groups_purge
DELETE FROM fifo_groups WHERE queue = :queue;

-- name: counts
SELECT COALESCE(SUM(CASE WHEN visible_at <= {now} THEN 1 ELSE 0 END), 0),
       COALESCE(SUM(CASE WHEN visible_at > {now} AND receipt IS NOT NULL THEN 1 ELSE 0 END), 0),
       COALESCE(SUM(CASE WHEN visible_at > {now} AND receipt IS NULL THEN 1 ELSE 0 END), 0),
       MIN(enqueued_at), {now}
FROM messages WHERE queue = :queue;

-- name: expire
DELETE FROM messages WHERE queue = :queue AND enqueued_at < {now} - :retention;

-- name: dedup_expire
DELETE FROM dedup WHERE queue = :queue AND expires_at <= {now};

-- name: groups_expire
DELETE FROM fifo_groups
WHERE queue = :queue
  AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.queue = fifo_groups.queue
                  AND m.group_id = fifo_groups.group_id);

-- name: next_visible
SELECT MIN(visible_at) - {now} FROM messages WHERE queue = :queue AND visible_at > {now};

-- name: redrive_select
SELECT id, source_queue, group_id, attributes, message_id FROM messages
WHERE queue = :queue AND visible_at <= {now} AND (:anywhere OR source_queue IS NOT NULL)
ORDER BY id LIMIT :n;

-- name: redrive_select_ids
SELECT id, source_queue, group_id, attributes, message_id FROM messages
WHERE queue = :queue AND message_id IN (SELECT value FROM json_each(:ids)) AND visible_at <= {now}
    AND (:anywhere OR source_queue IS NOT NULL)
ORDER BY id LIMIT :n;

-- name: redrive_move
UPDATE messages
SET queue = :dest, message_id = :new_id, attributes = :attributes, receive_count = 0,
    first_received_at = NULL, receipt = NULL, leased_at = NULL, source_queue = NULL,
    sent_at = {now}, enqueued_at = {now}, visible_at = {now}
WHERE id = :id;

-- name: queue_size
SELECT COUNT(*) FROM messages WHERE queue = :queue;

-- name: queues_named
SELECT name, attributes FROM queues WHERE name IN (SELECT value FROM json_each(:names));

-- name: slots_in_use
-- Leased (unexpired) slots per pool: reserved concurrency and limits in use right now.
SELECT name, COUNT(*) FROM slots WHERE holder IS NOT NULL AND expires_at > {now}
GROUP BY name ORDER BY name;
