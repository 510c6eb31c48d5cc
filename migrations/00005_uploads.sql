-- Resumable uploads (tus) in progress (issue 9). A row is the record of a
-- volume the portal created for an upload: while it exists the volume is
-- partial, so the expiry sweep deletes the volume and then the row. A
-- finished upload's row is deleted (the volume stays). The offset is the
-- number of bytes libvirt has written; a resume starts there. Times are
-- unix nanoseconds.

-- +goose Up
CREATE TABLE uploads (
    id          TEXT    NOT NULL PRIMARY KEY,
    host        TEXT    NOT NULL,
    pool        TEXT    NOT NULL,
    volume      TEXT    NOT NULL,
    format      TEXT    NOT NULL,
    size        BIGINT  NOT NULL CHECK (size >= 0),
    "offset"    BIGINT  NOT NULL DEFAULT 0 CHECK ("offset" >= 0 AND "offset" <= size),
    owner       TEXT    NOT NULL,
    stored      INTEGER NOT NULL DEFAULT 1,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL
);
-- One upload per volume: a second creation of the same name is refused.
CREATE UNIQUE INDEX uploads_volume ON uploads (host, pool, volume);
CREATE INDEX uploads_expires ON uploads (expires_at);

-- +goose Down
DROP TABLE uploads;
