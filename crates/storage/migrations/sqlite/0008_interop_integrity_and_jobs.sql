-- Referential integrity: which stored connectors and mappings each flow uses. The foreign
-- keys without ON DELETE make the database refuse to delete a connector or mapping that a
-- flow uses (the API answers 409 in_use, or deletes the flows on an explicit cascade).
CREATE TABLE flow_connector_uses (
    flow_id       TEXT NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
    connector_id  TEXT NOT NULL REFERENCES connectors (id),
    PRIMARY KEY (flow_id, connector_id)
);
CREATE INDEX flow_connector_uses_connector ON flow_connector_uses (connector_id);
CREATE TABLE flow_mapping_uses (
    flow_id     TEXT NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
    mapping_id  TEXT NOT NULL REFERENCES mappings (id),
    PRIMARY KEY (flow_id, mapping_id)
);
CREATE INDEX flow_mapping_uses_mapping ON flow_mapping_uses (mapping_id);
INSERT INTO flow_connector_uses (flow_id, connector_id)
    SELECT DISTINCT f.id, c.id FROM flows f JOIN connectors c
        ON c.id = json_extract(f.definition, '$.source.connector')
        OR c.id = json_extract(f.definition, '$.target.connector');
INSERT INTO flow_mapping_uses (flow_id, mapping_id)
    SELECT DISTINCT f.id, m.id FROM flows f JOIN mappings m
        ON m.id = json_extract(f.definition, '$.mapping_id');

-- Webhook signatures seen within their tolerance window: a signature is accepted once.
-- Servers sharing the database share this table; rows past expires_at are purged.
CREATE TABLE webhook_signatures (
    flow_id     TEXT NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
    signature   TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    PRIMARY KEY (flow_id, signature)
);
CREATE INDEX webhook_signatures_expiry ON webhook_signatures (expires_at);

-- Dead-letter replay as a background job: a replay claims its letters (claimed_by is the
-- job id) with a conditional update, so two replays never write the same letter.
ALTER TABLE dead_letters ADD COLUMN claimed_by TEXT;
ALTER TABLE dead_letters ADD COLUMN claimed_at TEXT;
CREATE TABLE dead_letter_replays (
    id            TEXT PRIMARY KEY NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled')),
    requested_by  TEXT,
    requested     BIGINT NOT NULL,
    claimed       BIGINT NOT NULL,
    replayed      BIGINT NOT NULL DEFAULT 0,
    pending       BIGINT NOT NULL DEFAULT 0,
    skipped       BIGINT NOT NULL DEFAULT 0,
    results       TEXT,
    error         TEXT,
    created_at    TEXT NOT NULL,
    finished_at   TEXT,
    heartbeat_at  TEXT NOT NULL
);

-- Graceful shutdown: a stopping server puts its runs back to queued with released_at set;
-- any server (the next to start, or one still running) adopts them and resumes them from
-- their checkpoint.
ALTER TABLE flow_runs ADD COLUMN released_at TEXT;
