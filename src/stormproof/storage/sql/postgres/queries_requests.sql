-- The front door's sweep of state rows past their retention (request records, idempotency keys).

-- name: state_sweep
DELETE FROM state WHERE key IN (
    SELECT key FROM state WHERE key >= %(lo)s AND key < %(hi)s
        AND updated_at < {now} - %(retention)s
    LIMIT %(limit)s);

-- name: state_insert_arrays
-- New records of a front-door group commit (storage/state_bulk_ops.py): one statement for
-- the whole group; its row count says how many were inserted.
INSERT INTO state (key, version, value, updated_at)
SELECT r.key, 1, r.value, {now}
FROM unnest(%(keys)b::text[], %(values)b::text[]) AS r(key, value)
ON CONFLICT (key) DO NOTHING;

-- name: state_insert_counted
-- The same insert answering with how many rows it inserted: in a batched unit
-- (storage/pg_pipeline.py) an operation is judged by its rows, not by a row count.
WITH inserted AS (
    INSERT INTO state (key, version, value, updated_at)
    SELECT r.key, 1, r.value, {now}
    FROM unnest(%(keys)b::text[], %(values)b::text[]) AS r(key, value)
    ON CONFLICT (key) DO NOTHING
    RETURNING 1)
SELECT count(*) FROM inserted;
