-- The front door's sweep of state rows past their retention (request records, idempotency keys).

-- name: state_sweep
DELETE FROM state WHERE key IN (
    SELECT key FROM state WHERE key >= :lo AND key < :hi AND updated_at < {now} - :retention
    LIMIT :limit);

-- name: state_insert_new
-- New records of a front-door group commit (storage/state_bulk_ops.py), run with
-- executemany: no RETURNING, so that its row count says how many were inserted.
INSERT INTO state (key, version, value, updated_at) VALUES (:key, 1, :value, {now})
ON CONFLICT (key) DO NOTHING;
