-- State machine statements (machines, executions, history); see storage/machine_ops.py.

-- name: sfn_machine_put
INSERT INTO sfn_machines (name, definition, type, role_arn, created_at, updated_at)
VALUES (%(name)s, %(definition)s, %(type)s, %(role_arn)s, {now}, {now})
ON CONFLICT (name) DO UPDATE SET definition = excluded.definition, type = excluded.type,
    role_arn = excluded.role_arn, updated_at = excluded.updated_at;

-- name: sfn_machine_get
SELECT name, definition, type, role_arn, created_at, updated_at FROM sfn_machines
WHERE name = %(name)s;

-- name: sfn_machine_list
SELECT name, definition, type, role_arn, created_at, updated_at FROM sfn_machines
ORDER BY name;

-- name: sfn_execution_insert
INSERT INTO sfn_executions (id, machine, name, status, input, definition, start_time, state,
                            runtime, version, redrive_count, parent,
                            map_run)
VALUES (%(id)s, %(machine)s, %(name)s, 'RUNNING', %(input)s, %(definition)s, %(start_time)s,
        %(state)s, %(runtime)s, 1, 0, %(parent)s, %(map_run)s)
ON CONFLICT DO NOTHING RETURNING version;

-- name: sfn_execution_insert_child
INSERT INTO sfn_executions (id, machine, name, status, input, definition, start_time, state,
                            runtime, version, redrive_count, parent, map_run)
VALUES (%(id)s, %(machine)s, %(name)s, 'RUNNING', %(input)s, %(definition)s, %(start_time)s,
        %(state)s, %(runtime)s, 1, 0, %(parent)s, %(map_run)s)
ON CONFLICT DO NOTHING;

-- name: sfn_execution_update
UPDATE sfn_executions
SET status = %(status)s, output = %(output)s, error = %(error)s, cause = %(cause)s,
    stop_time = %(stop_time)s, state = %(state)s, runtime = %(runtime)s,
    redrive_count = %(redrive_count)s,
    parent = COALESCE(%(parent)s::text, parent), version = version + 1
WHERE id = %(id)s AND version = %(expected)s RETURNING version;

-- name: sfn_executions_load
SELECT id, machine, name, status, input, output, error, cause, definition, start_time,
       stop_time, state, runtime, version, redrive_count, parent, map_run
FROM sfn_executions WHERE id = ANY(%(ids)s);

-- name: sfn_execution_by_name
SELECT id, machine, name, status, input, output, error, cause, definition, start_time,
       stop_time, state, runtime, version, redrive_count, parent, map_run
FROM sfn_executions WHERE machine = %(machine)s AND name = %(name)s;

-- name: sfn_execution_list
SELECT id, machine, name, status, input, output, error, cause, '', start_time,
       stop_time, '', '', version, redrive_count, parent, map_run
FROM sfn_executions
WHERE (%(machine)s::text IS NULL OR machine = %(machine)s::text)
  AND (%(status)s::text IS NULL OR status = %(status)s::text)
  AND (%(map_run)s::text IS NULL OR map_run = %(map_run)s::text)
ORDER BY start_time DESC, id LIMIT %(n)s;

-- name: sfn_history_insert
INSERT INTO sfn_history (execution, event_id, body)
VALUES (%(execution)s, %(event_id)s, %(body)s);

-- name: sfn_history_page
SELECT event_id, body FROM sfn_history WHERE execution = %(execution)s AND event_id > %(after)s
ORDER BY event_id LIMIT %(n)s;

-- name: sfn_execution_delete
DELETE FROM sfn_executions WHERE id = %(id)s;

-- name: sfn_history_delete
DELETE FROM sfn_history WHERE execution = %(id)s;

-- name: sfn_execution_counts
SELECT status, COUNT(*) FROM sfn_executions GROUP BY status;

-- name: sfn_execution_children
SELECT id FROM sfn_executions WHERE map_run >= %(low)s AND map_run < %(high)s;

-- name: sfn_execution_save
-- sfn_execution_update and sfn_history_insert in one statement: the history row is
-- inserted only when the compare-and-set matched (a stale save writes nothing).
WITH saved AS (
    UPDATE sfn_executions
    SET status = %(status)s, output = %(output)s, error = %(error)s, cause = %(cause)s,
        stop_time = %(stop_time)s, state = %(state)s, runtime = %(runtime)s,
        redrive_count = %(redrive_count)s,
        parent = COALESCE(%(parent)s::text, parent), version = version + 1
    WHERE id = %(id)s AND version = %(expected)s RETURNING version
), logged AS (
    INSERT INTO sfn_history (execution, event_id, body)
    SELECT %(id)s, %(event_id)s::bigint, %(body)s::text FROM saved
    WHERE %(body)s::text IS NOT NULL
)
SELECT version FROM saved;

-- name: sfn_task_lease_keep
-- ChangeVisibility of one lease in one statement (storage/pg_pipeline.py): extends it
-- only while it is still this receipt's, in flight and within the visibility cap.
UPDATE messages SET visible_at = {now} + %(timeout)s
WHERE queue = %(queue)s AND id = %(id)s AND receipt = %(token)s AND visible_at > {now}
  AND {now} - COALESCE(leased_at, {now}) + %(timeout)s <= %(max)s
RETURNING id;
