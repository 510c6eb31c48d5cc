-- Templates (issue 10): recipes for new guests. The scalar parts are
-- columns; the variable parts (OS, topology, source, disks, NICs, boot
-- order, cloud-init) are JSON the store decodes strictly (unknown fields
-- refused). A template names things of one host (pools, networks,
-- volumes): its name is unique per host. Times are unix nanoseconds.

-- +goose Up
CREATE TABLE templates (
    id             INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    host           TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    description    TEXT    NOT NULL DEFAULT '',
    os             TEXT    NOT NULL DEFAULT '{}',
    vcpus          INTEGER NOT NULL CHECK (vcpus >= 1),
    max_vcpus      INTEGER NOT NULL CHECK (max_vcpus >= vcpus),
    topology       TEXT    NOT NULL DEFAULT 'null',
    memory_mib     BIGINT  NOT NULL CHECK (memory_mib >= 1),
    max_memory_mib BIGINT  NOT NULL CHECK (max_memory_mib >= memory_mib),
    firmware       TEXT    NOT NULL,
    secure_boot    INTEGER NOT NULL DEFAULT 0,
    machine        TEXT    NOT NULL DEFAULT '',
    source         TEXT    NOT NULL DEFAULT '{}',
    disks          TEXT    NOT NULL DEFAULT '[]',
    nics           TEXT    NOT NULL DEFAULT '[]',
    graphics       TEXT    NOT NULL,
    listen         TEXT    NOT NULL DEFAULT '',
    boot_order     TEXT    NOT NULL DEFAULT '[]',
    cloud_init     TEXT    NOT NULL DEFAULT 'null',
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL
);
CREATE UNIQUE INDEX templates_name ON templates (host, name);

-- +goose Down
DROP TABLE templates;
