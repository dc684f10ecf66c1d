-- Flows started by a signed webhook keep the secret REFERENCE here; dead letters keep the
-- mapped record (target rejects) next to the source record.
ALTER TABLE flows ADD COLUMN webhook_secret TEXT;
ALTER TABLE dead_letters ADD COLUMN mapped_record TEXT;
CREATE INDEX flows_next_run ON flows (enabled, next_run_at);
