-- Ordered streams: shards, records and mapping checkpoints; see storage/stream_ops.py.

-- name: stream_upsert
INSERT INTO streams (name, retention, created_at, updated_at)
VALUES (:name, :retention, {now}, {now})
ON CONFLICT (name) DO UPDATE SET retention = excluded.retention, updated_at = excluded.updated_at;

-- name: stream_get
SELECT name, retention, created_at FROM streams WHERE name = :name;

-- name: stream_list
SELECT name, retention, created_at FROM streams ORDER BY name;

-- name: stream_delete
DELETE FROM streams WHERE name = :name;

-- name: stream_delete_shards
DELETE FROM stream_shards WHERE stream = :name;

-- name: stream_delete_records
DELETE FROM stream_records WHERE stream = :name;

-- name: stream_shard_insert
INSERT INTO stream_shards (stream, shard_id, start_hash, end_hash, parent, state, next_seq,
                           created_at)
VALUES (:stream, :shard_id, :start_hash, :end_hash, :parent, 'OPEN', 1, {now});

-- name: stream_shards
SELECT shard_id, start_hash, end_hash, parent, state, next_seq FROM stream_shards
WHERE stream = :stream ORDER BY shard_id;

-- name: stream_shard_close
UPDATE stream_shards SET state = 'CLOSED' WHERE stream = :stream AND shard_id = :shard_id;

-- name: stream_allocate
UPDATE stream_shards SET next_seq = next_seq + :n
WHERE stream = :stream AND shard_id = :shard_id AND state = 'OPEN'
RETURNING next_seq, shard_id;

-- name: stream_record_insert
INSERT INTO stream_records (stream, shard_id, seq, partition_key, data, arrived_at, trace)
VALUES (:stream, :shard_id, :seq, :partition_key, :data, {now}, :trace);

-- name: stream_read
SELECT seq, partition_key, data, arrived_at, trace FROM stream_records
WHERE stream = :stream AND shard_id = :shard_id AND seq > :after
ORDER BY seq LIMIT :n;

-- name: stream_seq_at_time
SELECT MIN(seq) FROM stream_records
WHERE stream = :stream AND shard_id = :shard_id AND arrived_at >= :at;

-- name: stream_first_seq
SELECT MIN(seq) FROM stream_records WHERE stream = :stream AND shard_id = :shard_id;

-- name: stream_expire
DELETE FROM stream_records WHERE stream = :stream AND arrived_at < {now} - :retention;

-- name: checkpoint_ensure
INSERT INTO stream_checkpoints (consumer, shard_id, seq, holder, lease_until, updated_at)
VALUES (:consumer, :shard_id, :seq, NULL, 0, {now})
ON CONFLICT (consumer, shard_id) DO NOTHING;

-- name: checkpoint_list
SELECT shard_id, seq, holder, lease_until, iterator_age, {now} FROM stream_checkpoints
WHERE consumer = :consumer AND substr(shard_id, 1, 1) <> '~'
ORDER BY shard_id;

-- name: checkpoint_take
UPDATE stream_checkpoints SET holder = :holder, lease_until = {now} + :ttl, updated_at = {now}
WHERE consumer = :consumer AND shard_id = :shard_id
  AND (holder IS NULL OR holder = :holder OR lease_until < {now})
RETURNING seq, holder;

-- name: checkpoint_advance
UPDATE stream_checkpoints SET seq = :seq, iterator_age = :age, updated_at = {now}
WHERE consumer = :consumer AND shard_id = :shard_id AND holder = :holder
  AND lease_until >= {now};

-- name: checkpoint_release
UPDATE stream_checkpoints SET holder = NULL, lease_until = 0
WHERE consumer = :consumer AND shard_id = :shard_id AND holder = :holder;

-- name: checkpoint_live
SELECT COUNT(*) FROM stream_checkpoints
WHERE consumer = :consumer AND substr(shard_id, 1, 1) = '~' AND lease_until >= {now};

-- name: checkpoint_by_prefix
SELECT consumer, shard_id, seq, holder, lease_until, iterator_age, {now} FROM stream_checkpoints
WHERE substr(consumer, 1, length(:prefix)) = :prefix AND substr(shard_id, 1, 1) <> '~'
ORDER BY consumer, shard_id;
