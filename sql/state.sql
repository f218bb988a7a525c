-- The versioned state store: tables and the state_store and current_state views. The
-- read functions are in sql/state_reads.sql; the write path (put/patch/revert/delete and
-- the triggers) is Rust, in src/state/; sql/state_triggers.sql attaches the triggers once
-- their functions exist.

-- One row per version of an entity's state, written once and never changed. When a
-- version stopped being current is not stored here: it is the next version's valid_from
-- (or the deletion time), so closing a version rewrites nothing and a write costs one
-- narrow head update plus one insert, whatever the history (see chronicle.state_store).
CREATE TABLE chronicle.state_versions (
    entity_type text        NOT NULL,
    entity_id   text        NOT NULL,
    version     integer     NOT NULL,
    state       jsonb       NOT NULL,
    valid_from  timestamptz NOT NULL,
    checksum    text        NOT NULL,
    id          uuid        NOT NULL,
    created_by  uuid,
    command_id  uuid,
    schema_version integer,
    CONSTRAINT state_versions_pkey PRIMARY KEY (entity_type, entity_id, version)
);

COMMENT ON TABLE chronicle.state_versions IS
  'Storage of chronicle.state_store: every version of every entity, written once by the versioning code and never updated or deleted';
COMMENT ON COLUMN chronicle.state_versions.version IS 'Version number, 1..n per entity with no gap (the primary key forbids duplicates)';
COMMENT ON COLUMN chronicle.state_versions.valid_from IS 'When this version became current; strictly increasing with version';
COMMENT ON COLUMN chronicle.state_versions.checksum IS 'Lowercase hex SHA-256 of the state''s canonical JSON';
-- A version is identified by (entity_type, entity_id, version). `id` is kept from the
-- original state_store schema; it is a UUIDv7 (48-bit clock and 74 random bits), unique
-- by construction, and not indexed: an index on it cost every writer ~5% of throughput.
COMMENT ON COLUMN chronicle.state_versions.schema_version IS 'Version of the entity type''s schema (chronicle.state_schemas) this state was validated against; NULL when the type had none';
COMMENT ON COLUMN chronicle.state_versions.id IS 'Time-ordered (UUIDv7) identifier of this version, unique by construction';

-- The end of a version that was ended by chronicle.delete_state rather than by a newer
-- version. Rare, so it lives apart from the versions.
CREATE TABLE chronicle.state_deletions (
    entity_type text        NOT NULL,
    entity_id   text        NOT NULL,
    version     integer     NOT NULL,
    deleted_at  timestamptz NOT NULL,
    -- No foreign key to state_versions: pg_restore loads an extension's tables with their
    -- constraints already in place and in no guaranteed order. The write path only ever
    -- records the deletion of a version it just found current.
    CONSTRAINT state_deletions_pkey PRIMARY KEY (entity_type, entity_id, version)
);

COMMENT ON TABLE chronicle.state_deletions IS
  'Versions ended by chronicle.delete_state, with the time of the deletion (their valid_to)';

-- The state_store of the original command-tracking schema, with every column it had. A
-- version's valid_to is the next version's valid_from, or its deletion time: derived, so
-- a version can only be current (valid_to IS NULL) when it is the last one and was not
-- deleted. Two current versions
-- cannot exist by construction, and the primary key of state_versions rules out gaps
-- and duplicates in the numbering.
CREATE VIEW chronicle.state_store AS
SELECT v.id, v.entity_type, v.entity_id, v.state, v.version, v.valid_from,
       coalesce(d.deleted_at, n.valid_from) AS valid_to,
       v.created_by, v.command_id, v.checksum, v.schema_version
  FROM chronicle.state_versions v
  LEFT JOIN chronicle.state_versions n
         ON n.entity_type = v.entity_type AND n.entity_id = v.entity_id AND n.version = v.version + 1
  LEFT JOIN chronicle.state_deletions d
         ON d.entity_type = v.entity_type AND d.entity_id = v.entity_id AND d.version = v.version;

ALTER VIEW chronicle.state_store ALTER COLUMN created_by SET DEFAULT chronicle.current_user_id();

COMMENT ON VIEW chronicle.state_store IS
  'Every version of every entity''s JSONB state. INSERT writes a new version through the versioning trigger (unchanged states are skipped); UPDATE and DELETE are rejected: history is immutable';
COMMENT ON COLUMN chronicle.state_store.id IS 'Identifier of this version (time-ordered UUID)';
COMMENT ON COLUMN chronicle.state_store.entity_type IS 'Kind of entity, e.g. config or command_state (1 to 100 characters)';
COMMENT ON COLUMN chronicle.state_store.entity_id IS 'Identifier of the entity within its type (1 to 255 characters)';
COMMENT ON COLUMN chronicle.state_store.state IS 'The state document of this version';
COMMENT ON COLUMN chronicle.state_store.version IS 'Version number, 1..n per entity with no gap; assigned by the database';
COMMENT ON COLUMN chronicle.state_store.valid_from IS 'When this version became current; strictly increasing with version; assigned by the database';
COMMENT ON COLUMN chronicle.state_store.valid_to IS 'When this version stopped being current: the next version''s valid_from, or the deletion time; NULL while current';
COMMENT ON COLUMN chronicle.state_store.created_by IS 'User who wrote this version; defaults to chronicle.current_user_id()';
COMMENT ON COLUMN chronicle.state_store.command_id IS 'Command execution that wrote this version, if any';
COMMENT ON COLUMN chronicle.state_store.checksum IS 'Lowercase hex SHA-256 of the state''s canonical JSON; assigned by the database and used to compare copies (Gists)';
COMMENT ON COLUMN chronicle.state_store.schema_version IS 'Version of the entity type''s schema this state was validated against (chronicle.state_schemas); NULL when none; assigned by the database';

-- One row per entity ever written: the lock every writer of that entity takes, and the
-- counter that numbers its next version, so a write never scans the entity's history.
-- Updated on every write, so room is left on each page for HOT updates.
CREATE TABLE chronicle.state_entities (
    entity_type      text        NOT NULL,
    entity_id        text        NOT NULL,
    last_version     integer     NOT NULL,
    last_change      timestamptz NOT NULL,
    current_checksum text,
    CONSTRAINT state_entities_pkey PRIMARY KEY (entity_type, entity_id)
) WITH (fillfactor = 70);

COMMENT ON TABLE chronicle.state_entities IS
  'Per-entity head of chronicle.state_store, maintained by its trigger: the row writers lock, the last version number and the current checksum. Internal; read it, never write it';
COMMENT ON COLUMN chronicle.state_entities.last_version IS 'Highest version number written (0 while the first write is in progress)';
COMMENT ON COLUMN chronicle.state_entities.last_change IS 'valid_from of the last version, or the time of the last deletion if later';
COMMENT ON COLUMN chronicle.state_entities.current_checksum IS 'Checksum of the current version; NULL when the entity has no current version (deleted)';

CREATE VIEW chronicle.current_state AS
SELECT v.entity_type, v.entity_id, v.state, v.version, v.valid_from, v.created_by, v.command_id, v.checksum
  FROM chronicle.state_entities e
  JOIN chronicle.state_versions v
    ON v.entity_type = e.entity_type AND v.entity_id = e.entity_id AND v.version = e.last_version
 WHERE e.current_checksum IS NOT NULL;

COMMENT ON VIEW chronicle.current_state IS 'The current version of every live entity, one row each';
