-- Tasks (DESIGN.md §10): long work with progress, run by services/tasks.
-- A task's own row says where it stands; task_resources lists what a
-- running task is about to create outside the database (a volume, a
-- domain, a file), written BEFORE it is created, so that after a crash
-- the start-up sweep can remove leftovers. Rows of task_resources are
-- deleted when the task ends cleanly (success, or undone after failure).

-- +goose Up
CREATE TABLE tasks (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    kind          TEXT    NOT NULL,
    owner         TEXT    NOT NULL,
    host          TEXT    NOT NULL DEFAULT '',
    target        TEXT    NOT NULL DEFAULT '',
    status        TEXT    NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    progress      INTEGER NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    message       TEXT    NOT NULL DEFAULT '',
    result        TEXT    NOT NULL DEFAULT '',
    error_code    TEXT    NOT NULL DEFAULT '',
    error_message TEXT    NOT NULL DEFAULT '',
    created_at    BIGINT  NOT NULL,
    started_at    BIGINT  NOT NULL DEFAULT 0,
    finished_at   BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX tasks_status ON tasks (status, id);
CREATE INDEX tasks_owner ON tasks (owner, id);
CREATE INDEX tasks_target ON tasks (target, id);
CREATE INDEX tasks_finished ON tasks (finished_at);

CREATE TABLE task_resources (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id    INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL,
    host       TEXT    NOT NULL DEFAULT '',
    ident      TEXT    NOT NULL,
    created_at BIGINT  NOT NULL
);
CREATE INDEX task_resources_task ON task_resources (task_id);

-- +goose Down
DROP TABLE task_resources;
DROP TABLE tasks;
