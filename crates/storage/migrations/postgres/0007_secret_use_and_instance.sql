-- The platform's identity: one random id, so a SQL connector can recognise (and refuse)
-- grimOS's own database whatever name, path or address it reaches it by.
CREATE TABLE grimos_instance (
    id  TEXT PRIMARY KEY NOT NULL
);
INSERT INTO grimos_instance (id) VALUES (md5(random()::text || clock_timestamp()::text || pg_backend_pid()::text));

-- Who may USE a secret reference (resolve it inside a connector, flow or notifier on
-- their behalf). `reference` is an exact reference (`local:crm-token`) or a prefix ending
-- in `*` (`vault:secret/crm/*`). Admins may use every reference.
CREATE TABLE secret_grants (
    id            TEXT PRIMARY KEY NOT NULL,
    reference     TEXT NOT NULL,
    grantee_kind  TEXT NOT NULL CHECK (grantee_kind IN ('user', 'role')),
    grantee       TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    created_by    TEXT,
    UNIQUE (reference, grantee_kind, grantee)
);

-- A flow acts with the authority of its owner (the principal who last saved it); a run
-- records the principal it acted for.
ALTER TABLE flows ADD COLUMN owner_subject TEXT;
ALTER TABLE flows ADD COLUMN owner_role TEXT;
ALTER TABLE flow_runs ADD COLUMN acting_subject TEXT;
