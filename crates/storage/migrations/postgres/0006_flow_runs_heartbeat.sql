-- Queued and running runs carry the time their server last vouched for them, so that a
-- server starting up (or sweeping) fails only the runs whose server stopped, not the live
-- runs of another server sharing the database.
ALTER TABLE flow_runs ADD COLUMN heartbeat_at TIMESTAMPTZ;
