-- State machine statements (machines, executions, history); see storage/machine_ops.py.

-- name: sfn_machine_put
INSERT INTO sfn_machines (name, definition, type, role_arn, created_at, updated_at)
VALUES (:name, :definition, :type, :role_arn, {now}, {now})
ON CONFLICT (name) DO UPDATE SET definition = excluded.definition, type = excluded.type,
    role_arn = excluded.role_arn, updated_at = excluded.updated_at;

-- name: sfn_machine_get
SELECT name, definition, type, role_arn, created_at, updated_at FROM sfn_machines
WHERE name = :name;

-- name: sfn_machine_list
SELECT name, definition, type, role_arn, created_at, updated_at FROM sfn_machines
ORDER BY name;

-- name: sfn_execution_insert
INSERT INTO sfn_executions (id, machine, name, status, input, definition, start_time, state,
                            runtime, version, redrive_count, parent,
                            map_run)
VALUES (:id, :machine, :name, 'RUNNING', :input, :definition, :start_time, :state,
        :runtime, 1, 0, :parent, :map_run)
ON CONFLICT DO NOTHING RETURNING version;

-- name: sfn_execution_insert_child
INSERT INTO sfn_executions (id, machine, name, status, input, definition, start_time, state,
                            runtime, version, redrive_count, parent, map_run)
VALUES (:id, :machine, :name, 'RUNNING', :input, :definition, :start_time,
        :state, :runtime, 1, 0, :parent, :map_run)
ON CONFLICT DO NOTHING;

-- name: sfn_execution_update
UPDATE sfn_executions
SET status = :status, output = :output, error = :error, cause = :cause, stop_time = :stop_time,
    state = :state, runtime = :runtime, redrive_count = :redrive_count,
    parent = COALESCE(:parent, parent), version = version + 1
WHERE id = :id AND version = :expected RETURNING version;

-- name: sfn_executions_load
SELECT id, machine, name, status, input, output, error, cause, definition, start_time,
       stop_time, state, runtime, version, redrive_count, parent, map_run
FROM sfn_executions WHERE id IN (SELECT value FROM json_each(:ids));

-- name: sfn_execution_by_name
SELECT id, machine, name, status, input, output, error, cause, definition, start_time,
       stop_time, state, runtime, version, redrive_count, parent, map_run
FROM sfn_executions WHERE machine = :machine AND name = :name;

-- name: sfn_execution_list
SELECT id, machine, name, status, input, output, error, cause, '', start_time,
       stop_time, '', '', version, redrive_count, parent, map_run
FROM sfn_executions
WHERE (:machine IS NULL OR machine = :machine) AND (:status IS NULL OR status = :status)
  AND (:map_run IS NULL OR map_run = :map_run)
ORDER BY start_time DESC, id LIMIT :n;

-- name: sfn_history_insert
INSERT INTO sfn_history (execution, event_id, body) VALUES (:execution, :event_id, :body);

-- name: sfn_history_page
SELECT event_id, body FROM sfn_history WHERE execution = :execution AND event_id > :after
ORDER BY event_id LIMIT :n;

-- name: sfn_execution_delete
DELETE FROM sfn_executions WHERE id = :id;

-- name: sfn_history_delete
DELETE FROM sfn_history WHERE execution = :id;

-- name: sfn_execution_counts
SELECT status, COUNT(*) FROM sfn_executions GROUP BY status;

-- name: sfn_execution_children
SELECT id FROM sfn_executions WHERE map_run >= :low AND map_run < :high;
