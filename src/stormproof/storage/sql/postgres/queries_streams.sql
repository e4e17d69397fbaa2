-- Ordered streams: shards, records and mapping checkpoints; see storage/stream_ops.py.

-- name: stream_upsert
INSERT INTO streams (name, retention, created_at, updated_at)
VALUES (%(name)s, %(retention)s, {now}, {now})
ON CONFLICT (name) DO UPDATE SET retention = excluded.retention, updated_at = excluded.updated_at;

-- name: stream_get
SELECT name, retention, created_at FROM streams WHERE name = %(name)s;

-- name: stream_list
SELECT name, retention, created_at FROM streams ORDER BY name;

-- name: stream_delete
DELETE FROM streams WHERE name = %(name)s;

-- name: stream_delete_shards
DELETE FROM stream_shards WHERE stream = %(name)s;

-- name: stream_delete_records
DELETE FROM stream_records WHERE stream = %(name)s;

-- name: stream_shard_insert
INSERT INTO stream_shards (stream, shard_id, start_hash, end_hash, parent, state, next_seq,
                           created_at)
VALUES (%(stream)s, %(shard_id)s, %(start_hash)s, %(end_hash)s, %(parent)s, 'OPEN', 1, {now});

-- name: stream_shards
SELECT shard_id, start_hash, end_hash, parent, state, next_seq FROM stream_shards
WHERE stream = %(stream)s ORDER BY shard_id;

-- name: stream_shard_close
UPDATE stream_shards SET state = 'CLOSED' WHERE stream = %(stream)s AND shard_id = %(shard_id)s;

-- name: stream_allocate
UPDATE stream_shards SET next_seq = next_seq + %(n)s
WHERE stream = %(stream)s AND shard_id = %(shard_id)s AND state = 'OPEN'
RETURNING next_seq, shard_id;

-- name: stream_record_insert
INSERT INTO stream_records (stream, shard_id, seq, partition_key, data, arrived_at, trace)
VALUES (%(stream)s, %(shard_id)s, %(seq)s, %(partition_key)s, %(data)s, {now}, %(trace)s);

-- name: stream_read
SELECT seq, partition_key, data, arrived_at, trace FROM stream_records
WHERE stream = %(stream)s AND shard_id = %(shard_id)s AND seq > %(after)s
ORDER BY seq LIMIT %(n)s;

-- name: stream_seq_at_time
SELECT MIN(seq)::bigint FROM stream_records
WHERE stream = %(stream)s AND shard_id = %(shard_id)s AND arrived_at >= %(at)s;

-- name: stream_first_seq
SELECT MIN(seq)::bigint FROM stream_records WHERE stream = %(stream)s AND shard_id = %(shard_id)s;

-- name: stream_expire
DELETE FROM stream_records WHERE stream = %(stream)s AND arrived_at < {now} - %(retention)s;

-- name: checkpoint_ensure
INSERT INTO stream_checkpoints (consumer, shard_id, seq, holder, lease_until, updated_at)
VALUES (%(consumer)s, %(shard_id)s, %(seq)s, NULL, 0, {now})
ON CONFLICT (consumer, shard_id) DO NOTHING;

-- name: checkpoint_list
SELECT shard_id, seq, holder, lease_until, iterator_age, {now} FROM stream_checkpoints
WHERE consumer = %(consumer)s AND substr(shard_id, 1, 1) <> '~'
ORDER BY shard_id;

-- name: checkpoint_take
UPDATE stream_checkpoints SET holder = %(holder)s, lease_until = {now} + %(ttl)s, updated_at = {now}
WHERE consumer = %(consumer)s AND shard_id = %(shard_id)s
  AND (holder IS NULL OR holder = %(holder)s OR lease_until < {now})
RETURNING seq, holder;

-- name: checkpoint_advance
UPDATE stream_checkpoints SET seq = %(seq)s, iterator_age = %(age)s, updated_at = {now}
WHERE consumer = %(consumer)s AND shard_id = %(shard_id)s AND holder = %(holder)s
  AND lease_until >= {now};

-- name: checkpoint_release
UPDATE stream_checkpoints SET holder = NULL, lease_until = 0
WHERE consumer = %(consumer)s AND shard_id = %(shard_id)s AND holder = %(holder)s;

-- name: checkpoint_live
SELECT COUNT(*) FROM stream_checkpoints
WHERE consumer = %(consumer)s AND substr(shard_id, 1, 1) = '~' AND lease_until >= {now};

-- name: checkpoint_by_prefix
SELECT consumer, shard_id, seq, holder, lease_until, iterator_age, {now} FROM stream_checkpoints
WHERE substr(consumer, 1, length(%(prefix)s)) = %(prefix)s AND substr(shard_id, 1, 1) <> '~'
ORDER BY consumer, shard_id;

-- Batched forms for a mapping's poll (storage/stream_poll_ops.py): one statement for
-- every lease unit of the poll instead of one round trip each.

-- name: checkpoint_ensure_units
INSERT INTO stream_checkpoints (consumer, shard_id, seq, holder, lease_until, updated_at)
SELECT %(consumer)s, u.shard_id, u.seq, NULL, 0, {now}
FROM unnest(%(units)s::text[], %(seqs)s::bigint[]) AS u(shard_id, seq)
ON CONFLICT (consumer, shard_id) DO NOTHING;

-- name: checkpoint_take_units
-- Renew the units this worker holds and take up to k of the candidates, in their order
-- (free or expired ones; SKIP LOCKED: one another worker is taking right now is not).
UPDATE stream_checkpoints SET holder = %(holder)s, lease_until = {now} + %(ttl)s,
                              updated_at = {now}
WHERE consumer = %(consumer)s
  AND (holder IS NULL OR holder = %(holder)s OR lease_until < {now})
  AND (shard_id = ANY(%(held)s::text[]) OR shard_id IN (
      SELECT c.shard_id FROM stream_checkpoints AS c
      JOIN unnest(%(units)s::text[]) WITH ORDINALITY AS u(shard_id, pos)
        ON c.shard_id = u.shard_id
      WHERE c.consumer = %(consumer)s
        AND (c.holder IS NULL OR c.holder = %(holder)s OR c.lease_until < {now})
      ORDER BY u.pos LIMIT %(k)s FOR UPDATE OF c SKIP LOCKED))
RETURNING shard_id, seq;

-- name: checkpoint_advance_units
UPDATE stream_checkpoints AS c SET seq = u.seq, iterator_age = u.age, updated_at = {now}
FROM unnest(%(units)s::text[], %(seqs)s::bigint[], %(ages)s::float8[]) AS u(shard_id, seq, age)
WHERE c.consumer = %(consumer)s AND c.shard_id = u.shard_id AND c.holder = %(holder)s
  AND c.lease_until >= {now}
RETURNING c.shard_id;

-- name: stream_read_units
SELECT u.unit, r.seq, r.partition_key, r.data, r.arrived_at, r.trace
FROM unnest(%(units)s::text[], %(shards)s::text[], %(afters)s::bigint[])
     AS u(unit, shard_id, after)
CROSS JOIN LATERAL (
    SELECT seq, partition_key, data, arrived_at, trace FROM stream_records
    WHERE stream = %(stream)s AND shard_id = u.shard_id AND seq > u.after
    ORDER BY seq LIMIT %(n)s
) AS r
ORDER BY u.unit, r.seq;
