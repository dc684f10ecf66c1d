-- The interoperability engine: connectors, mappings, flows, their runs, run log events,
-- checkpoints and dead letters. JSON documents are stored as text.
CREATE TABLE connectors (
    id                    TEXT PRIMARY KEY NOT NULL,
    name                  TEXT NOT NULL UNIQUE,
    connector_type        TEXT NOT NULL,
    config                TEXT NOT NULL,
    description           TEXT,
    version               BIGINT NOT NULL DEFAULT 1,
    created_at            TIMESTAMPTZ NOT NULL,
    updated_at            TIMESTAMPTZ NOT NULL,
    created_by            TEXT,
    updated_by            TEXT,
    last_test_ok          BOOLEAN,
    last_test_latency_ms  BIGINT,
    last_test_error       TEXT,
    last_tested_at        TIMESTAMPTZ
);

CREATE TABLE mappings (
    id                   TEXT PRIMARY KEY NOT NULL,
    name                 TEXT NOT NULL UNIQUE,
    source_connector_id  TEXT REFERENCES connectors (id) ON DELETE SET NULL,
    source_stream        TEXT,
    target_connector_id  TEXT REFERENCES connectors (id) ON DELETE SET NULL,
    target_stream        TEXT,
    rules                TEXT NOT NULL,
    source_schema        TEXT,
    target_schema        TEXT,
    version              BIGINT NOT NULL DEFAULT 1,
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL,
    created_by           TEXT,
    updated_by           TEXT
);

CREATE TABLE flows (
    id                   TEXT PRIMARY KEY NOT NULL,
    name                 TEXT NOT NULL UNIQUE,
    definition           TEXT NOT NULL,
    enabled              BOOLEAN NOT NULL DEFAULT TRUE,
    schedule             TEXT,
    timezone             TEXT,
    next_run_at          TIMESTAMPTZ,
    version              BIGINT NOT NULL DEFAULT 1,
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL,
    created_by           TEXT,
    updated_by           TEXT
);

CREATE TABLE flow_runs (
    id                 TEXT PRIMARY KEY NOT NULL,
    flow_id            TEXT NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
    status             TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    trigger_kind       TEXT NOT NULL,
    idempotency_key    TEXT,
    requested_by       TEXT,
    created_at         TIMESTAMPTZ NOT NULL,
    started_at         TIMESTAMPTZ,
    finished_at        TIMESTAMPTZ,
    records_read       BIGINT NOT NULL DEFAULT 0,
    records_written    BIGINT NOT NULL DEFAULT 0,
    records_rejected   BIGINT NOT NULL DEFAULT 0,
    error              TEXT,
    trace_id           TEXT,
    UNIQUE (flow_id, idempotency_key)
);
CREATE INDEX flow_runs_flow ON flow_runs (flow_id, id);
CREATE INDEX flow_runs_status ON flow_runs (status);

CREATE TABLE run_events (
    id          BIGSERIAL PRIMARY KEY,
    run_id      TEXT NOT NULL REFERENCES flow_runs (id) ON DELETE CASCADE,
    at          TIMESTAMPTZ NOT NULL,
    level       TEXT NOT NULL,
    message     TEXT NOT NULL,
    fields      TEXT
);
CREATE INDEX run_events_run ON run_events (run_id, id);

CREATE TABLE checkpoints (
    flow_id     TEXT PRIMARY KEY NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
    state       TEXT NOT NULL,
    run_id      TEXT,
    updated_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE dead_letters (
    id             TEXT PRIMARY KEY NOT NULL,
    run_id         TEXT NOT NULL REFERENCES flow_runs (id) ON DELETE CASCADE,
    flow_id        TEXT NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
    stage          TEXT NOT NULL CHECK (stage IN ('mapping', 'target')),
    record         TEXT NOT NULL,
    reason         TEXT NOT NULL,
    status         TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'replayed', 'discarded')),
    created_at     TIMESTAMPTZ NOT NULL,
    resolved_at    TIMESTAMPTZ,
    replay_run_id  TEXT
);
CREATE INDEX dead_letters_run ON dead_letters (run_id, id);
CREATE INDEX dead_letters_flow ON dead_letters (flow_id, status, id);
