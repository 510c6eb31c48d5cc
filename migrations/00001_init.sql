-- Schema for the portal's own state: local users, sessions, audit events and
-- login throttling. Times are BIGINT unix nanoseconds in UTC, so comparisons
-- are plain integer comparisons in any SQL engine and no text format or time
-- zone rule can make them sort wrongly. Booleans are BOOLEAN (SQLite stores
-- them as 0/1). Two types have no portable spelling and will change in a
-- PostgreSQL migration set: BLOB (bytea) and the audit id's AUTOINCREMENT
-- (GENERATED ALWAYS AS IDENTITY).

-- +goose Up

-- Break-glass realm "local". hash is an opaque PHC string made by the caller.
CREATE TABLE local_users (
    name       TEXT    NOT NULL PRIMARY KEY CHECK (name <> ''),
    hash       TEXT    NOT NULL,
    admin      BOOLEAN NOT NULL DEFAULT FALSE,
    disabled   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL
);

-- Only the SHA-256 of a session id is kept, so a copy of the database (a
-- backup, a stolen file) does not hold cookies that log anyone in.
CREATE TABLE sessions (
    id_hash         TEXT   NOT NULL PRIMARY KEY,
    identity        TEXT   NOT NULL,
    data            BLOB   NOT NULL,
    created_at      BIGINT NOT NULL,
    last_seen_at    BIGINT NOT NULL,
    idle_expires_at BIGINT NOT NULL,
    abs_expires_at  BIGINT NOT NULL
);
CREATE INDEX sessions_identity ON sessions (identity);
CREATE INDEX sessions_idle_expires ON sessions (idle_expires_at);
CREATE INDEX sessions_abs_expires ON sessions (abs_expires_at);

-- AUTOINCREMENT so that ids are never reused after a purge: they are the
-- order of the log and the paging cursor.
CREATE TABLE audit_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         BIGINT  NOT NULL,
    actor      TEXT    NOT NULL DEFAULT '',
    action     TEXT    NOT NULL,
    target     TEXT    NOT NULL DEFAULT '',
    result     TEXT    NOT NULL,
    reason     TEXT    NOT NULL DEFAULT '',
    client     TEXT    NOT NULL DEFAULT '',
    request_id TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_actor ON audit_events (actor, id);
CREATE INDEX audit_events_action ON audit_events (action, id);
CREATE INDEX audit_events_target ON audit_events (target, id);

-- Failed-login counters keyed by caller-built strings ("id:local:alice",
-- "addr:10.0.0.1"); the policy lives in the caller.
CREATE TABLE login_throttle (
    throttle_key TEXT    NOT NULL PRIMARY KEY,
    failures     INTEGER NOT NULL,
    first_at     BIGINT  NOT NULL,
    last_at      BIGINT  NOT NULL
);
CREATE INDEX login_throttle_last ON login_throttle (last_at);

-- +goose Down
DROP TABLE login_throttle;
DROP TABLE audit_events;
DROP TABLE sessions;
DROP TABLE local_users;
