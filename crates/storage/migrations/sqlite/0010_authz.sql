-- The authorization service (crate authz): relationships, their revisions and change
-- log, attributes, groups and versioned Rego policies. See docs/authorization.md.

-- The built-in roles gain `member` (signs in, sees only what is shared with them). SQLite
-- cannot change a CHECK constraint in place: both tables are rebuilt, children first.
ALTER TABLE api_tokens RENAME TO api_tokens_old;
ALTER TABLE users RENAME TO users_old;
CREATE TABLE users (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL UNIQUE,
    email       TEXT,
    role        TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'viewer', 'service', 'member')),
    disabled    BOOLEAN NOT NULL DEFAULT FALSE,
    version     BIGINT NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
INSERT INTO users SELECT * FROM users_old;
CREATE TABLE api_tokens (
    id            TEXT PRIMARY KEY NOT NULL,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'viewer', 'service', 'member')),
    prefix        TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    created_by    TEXT,
    created_at    TEXT NOT NULL,
    expires_at    TEXT,
    revoked_at    TEXT,
    last_used_at  TEXT
);
INSERT INTO api_tokens SELECT * FROM api_tokens_old;
DROP TABLE api_tokens_old;
DROP TABLE users_old;
CREATE INDEX api_tokens_user_id ON api_tokens (user_id);

-- One counter: every committed change of relationships, attributes or policies takes the
-- next revision (the consistency token a write returns).
CREATE TABLE authz_revision (
    id        INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    revision  BIGINT NOT NULL
);
INSERT INTO authz_revision (id, revision) VALUES (1, 1);

-- Relationship tuples: object_type:object_id#relation@subject, where subject is
-- `user:id`, `service:id` or a userset `type:id#relation`.
CREATE TABLE authz_tuples (
    object_type       TEXT NOT NULL,
    object_id         TEXT NOT NULL,
    relation          TEXT NOT NULL,
    subject           TEXT NOT NULL,
    created_revision  BIGINT NOT NULL,
    created_at        TEXT NOT NULL,
    created_by        TEXT,
    PRIMARY KEY (object_type, object_id, relation, subject)
);
-- Lists are filtered by joining this index ("objects of a type this subject holds").
CREATE INDEX authz_tuples_by_subject ON authz_tuples (object_type, subject, relation, object_id);

-- What changed at each revision, so that every server's in-memory graph catches up
-- without reloading everything.
CREATE TABLE authz_changes (
    revision     BIGINT NOT NULL,
    operation    TEXT NOT NULL CHECK (operation IN ('write', 'delete', 'attributes', 'policies')),
    object_type  TEXT,
    object_id    TEXT,
    relation     TEXT,
    subject      TEXT,
    attributes   TEXT
);
CREATE INDEX authz_changes_by_revision ON authz_changes (revision);

-- Attributes of subjects and resources, as a JSON object (the policies' input).
CREATE TABLE authz_attributes (
    object_type       TEXT NOT NULL,
    object_id         TEXT NOT NULL,
    attributes        TEXT NOT NULL,
    updated_revision  BIGINT NOT NULL,
    PRIMARY KEY (object_type, object_id)
);

-- Groups: `group:<id>`; members are tuples group:<id>#member@subject.
CREATE TABLE authz_groups (
    id            TEXT PRIMARY KEY NOT NULL,
    display_name  TEXT NOT NULL,
    description   TEXT,
    created_at    TEXT NOT NULL,
    created_by    TEXT
);

-- Rego policies; every saved source is kept as a version.
CREATE TABLE authz_policies (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL UNIQUE,
    version     BIGINT NOT NULL,
    source      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    created_by  TEXT,
    updated_by  TEXT
);
CREATE TABLE authz_policy_versions (
    policy_id   TEXT NOT NULL,
    version     BIGINT NOT NULL,
    source      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    created_by  TEXT,
    PRIMARY KEY (policy_id, version)
);

-- What existed before keeps working: every user's role, every creator as owner, every
-- token's user as its owner, and every secret use grant become relationships.
INSERT INTO authz_tuples (object_type, object_id, relation, subject, created_revision, created_at)
    SELECT 'platform', 'grimos', role, 'user:' || id, 1, strftime('%Y-%m-%dT%H:%M:%fZ','now') FROM users;
INSERT INTO authz_tuples (object_type, object_id, relation, subject, created_revision, created_at)
    SELECT 'token', id, 'owner', 'user:' || user_id, 1, strftime('%Y-%m-%dT%H:%M:%fZ','now') FROM api_tokens;
INSERT INTO authz_tuples (object_type, object_id, relation, subject, created_revision, created_at)
    SELECT 'connector', id, 'owner', 'user:' || created_by, 1, strftime('%Y-%m-%dT%H:%M:%fZ','now')
    FROM connectors WHERE created_by IS NOT NULL AND created_by <> '';
INSERT INTO authz_tuples (object_type, object_id, relation, subject, created_revision, created_at)
    SELECT 'mapping', id, 'owner', 'user:' || created_by, 1, strftime('%Y-%m-%dT%H:%M:%fZ','now')
    FROM mappings WHERE created_by IS NOT NULL AND created_by <> '';
INSERT INTO authz_tuples (object_type, object_id, relation, subject, created_revision, created_at)
    SELECT 'flow', id, 'owner', 'user:' || created_by, 1, strftime('%Y-%m-%dT%H:%M:%fZ','now')
    FROM flows WHERE created_by IS NOT NULL AND created_by <> '';
INSERT INTO authz_tuples (object_type, object_id, relation, subject, created_revision, created_at)
    SELECT DISTINCT 'secret', reference, 'user',
        CASE grantee_kind WHEN 'user' THEN 'user:' || grantee ELSE 'platform:grimos#' || grantee END,
        1, strftime('%Y-%m-%dT%H:%M:%fZ','now')
    FROM secret_grants;
