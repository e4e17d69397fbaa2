-- Distributed Map children are executions of their own, listed by their Map Run.
ALTER TABLE sfn_executions ADD COLUMN map_run TEXT;

CREATE INDEX sfn_executions_map_run ON sfn_executions (map_run);
