-- Global rate limits (storage/limit_ops.py). SQLite has no counterpart: there the
-- program reads, decides with core/bucket.py and writes inside its single writer.

-- name: limit_take
-- One atomic GCRA grant, core/bucket.py's grant_all mirrored in SQL (a test compares
-- them): lock the key's row, grant up to `want` tokens that every rate allows, write the
-- new TATs only if some are granted (a refusal writes nothing). The row lock is held
-- only until this one-statement unit commits: contending takers queue for it instead of
-- losing a compare-and-set. Returns (granted, found, retry_after); found is false when the key
-- has no record yet (the program then inserts it).
WITH cur AS (
    SELECT value::jsonb -> 'tats' AS tats FROM state WHERE key = %(key)s FOR UPDATE
), r AS (
    SELECT u.i, u.iv, u.b,
           GREATEST(CASE WHEN jsonb_array_length(cur.tats) = cardinality(%(ivs)s::float8[])
                         THEN (cur.tats ->> (u.i - 1)::int)::float8 ELSE 0 END,
                    %(t)s::float8) AS base
    FROM cur, unnest(%(ivs)s::float8[], %(bursts)s::int[]) WITH ORDINALITY AS u (iv, b, i)
), g AS (
    SELECT count(*) > 0 AS found,
           LEAST(%(want)s::int, MIN(GREATEST(0, LEAST(b, FLOOR(
               (b * iv - (base - %(t)s::float8)) / iv + %(eps)s::float8)))))::int AS n,
           MAX(GREATEST(0, base + iv - %(t)s::float8 - b * iv)) AS wait
    FROM r
), up AS (
    UPDATE state SET version = version + 1, updated_at = {now},
        value = (SELECT '{"tats": [' || string_agg((r.base + g.n * r.iv)::text, ', '
                                                   ORDER BY r.i) || ']}' FROM r)
    FROM g WHERE state.key = %(key)s AND g.found AND g.n > 0
    RETURNING 1
)
SELECT CASE WHEN found THEN n ELSE 0 END, found, CASE WHEN n > 0 THEN 0 ELSE wait END
FROM g;
