-- Statistics history (issue 12): one row per subject and minute with the
-- minute's minimum, mean and maximum of each metric, kept 7 days. A subject
-- is "host", "nic:<interface>" or "vm:<uuid>" on a host, so a renamed guest
-- keeps its history and a guest of the same name elsewhere never mixes in.
-- The values are packed (little-endian float32 triples, min mean max, per
-- metric: cpu, mem, disk read, disk write, net rx, net tx): a 7-day query
-- reads 10,080 small rows instead of 18 columns each, in key order
-- (WITHOUT ROWID: one range scan, no second lookup per row; SQLite's
-- spelling, a PostgreSQL migration would use a plain table). minute is unix
-- seconds at the minute's start; n is the number of 1 s samples in it.

-- +goose Up
CREATE TABLE stats_minute (
    host    TEXT    NOT NULL,
    subject TEXT    NOT NULL,
    minute  BIGINT  NOT NULL,
    n       INTEGER NOT NULL,
    v       BLOB    NOT NULL,
    PRIMARY KEY (host, subject, minute)
) WITHOUT ROWID;
CREATE INDEX stats_minute_age ON stats_minute (minute);

-- An API token may be limited to some permissions ("metrics:read" for a
-- Prometheus scraper), comma-separated; '' : it acts with all its owner's.
ALTER TABLE api_tokens ADD COLUMN permissions TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE api_tokens DROP COLUMN permissions;
DROP TABLE stats_minute;
