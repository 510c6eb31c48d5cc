-- Personal API tokens (Authorization: Bearer vpt_…). Only the secret's
-- SHA-256 is kept, so a copy of the database holds no usable token; the
-- secret has 256 random bits, so an unsalted hash is enough (nothing to
-- guess from a dictionary). The owner is kept as realm and user name: the
-- principal is rebuilt from the realm on use, so the owner's current roles
-- and groups apply, never those of the day the token was made. Revoked
-- tokens stay (revoked_at > 0) so that a later use can be audited with the
-- token's id; times are unix nanoseconds, 0 for "never".

-- +goose Up
CREATE TABLE api_tokens (
    id           TEXT   NOT NULL PRIMARY KEY,
    secret_hash  TEXT   NOT NULL UNIQUE,
    identity     TEXT   NOT NULL,
    realm        TEXT   NOT NULL,
    username     TEXT   NOT NULL,
    name         TEXT   NOT NULL CHECK (name <> ''),
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL DEFAULT 0,
    revoked_at   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX api_tokens_identity ON api_tokens (identity, created_at);
-- A name is unique among an owner's live tokens, so lists stay readable.
CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (identity, name) WHERE revoked_at = 0;

-- +goose Down
DROP TABLE api_tokens;
