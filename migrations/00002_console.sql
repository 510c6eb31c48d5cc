-- One-time console tokens (DESIGN.md §6). Only the token's SHA-256 is kept:
-- a copy of the database opens no console. A token is bound to the session
-- that asked for it (the SHA-256 of its id, as in sessions.id_hash), so a
-- link copied to someone else is refused. used_at is NULL until the token
-- is consumed; consuming is one conditional UPDATE, so of two racing
-- requests exactly one wins.

-- +goose Up
CREATE TABLE console_tokens (
    token_hash   TEXT   NOT NULL PRIMARY KEY,
    identity     TEXT   NOT NULL,
    session_hash TEXT   NOT NULL,
    guest        TEXT   NOT NULL,
    kind         TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    used_at      BIGINT
);
CREATE INDEX console_tokens_expires ON console_tokens (expires_at);

-- +goose Down
DROP TABLE console_tokens;
