-- The front door's sweep of state rows past their retention (request records, idempotency keys).

-- name: state_sweep
DELETE FROM state WHERE key IN (
    SELECT key FROM state WHERE key >= %(lo)s AND key < %(hi)s
        AND updated_at < {now} - %(retention)s
    LIMIT %(limit)s);
