-- One queued or running run per flow, enforced by the database so that two servers on one
-- database cannot both start a run of a flow that does not allow concurrent runs.
ALTER TABLE flow_runs ADD COLUMN exclusive_run BOOLEAN NOT NULL DEFAULT FALSE;
CREATE UNIQUE INDEX flow_runs_one_active ON flow_runs (flow_id)
    WHERE exclusive_run AND status IN ('queued', 'running');
