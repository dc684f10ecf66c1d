-- The dead letters of the batch a SQL target is committing with its checkpoint: stored
-- (staged) from inside the target's transaction, before its commit, then moved into
-- dead_letters once the commit is known (or dropped when the batch rolled back), so a crash
-- between the target's commit and the journal loses no reject. At most one batch per flow.
CREATE TABLE staged_dead_letters (
    flow_id     TEXT PRIMARY KEY NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
    run_id      TEXT NOT NULL REFERENCES flow_runs (id) ON DELETE CASCADE,
    checkpoint  TEXT NOT NULL,
    letters     TEXT NOT NULL,
    staged_at   TEXT NOT NULL
);
