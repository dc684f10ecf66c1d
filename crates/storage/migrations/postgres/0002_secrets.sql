-- The embedded secret store: one row per secret name, holding only its envelope
-- (AES-256-GCM ciphertext and the wrapped data key), never the value.
CREATE TABLE secrets (
    name        TEXT PRIMARY KEY NOT NULL,
    version     BIGINT NOT NULL,
    key_id      TEXT NOT NULL,
    envelope    TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
