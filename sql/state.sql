-- The versioned state store: tables, the read-side functions and the current_state view.
-- The write path (put/patch/revert/delete and the versioning trigger) is Rust, in
-- src/state/; sql/state_triggers.sql attaches the triggers once their functions exist.

-- One row per version of an entity's state. Rows are only ever added; the single change
-- the trigger makes to an existing row is closing it (setting valid_to) when the next
-- version arrives or the entity is deleted.
CREATE TABLE chronicle.state_store (
    id          uuid        NOT NULL DEFAULT gen_random_uuid(),
    entity_type text        NOT NULL,
    entity_id   text        NOT NULL,
    state       jsonb       NOT NULL,
    version     integer     NOT NULL,
    valid_from  timestamptz NOT NULL,
    valid_to    timestamptz,
    created_by  uuid        DEFAULT chronicle.current_user_id(),
    command_id  uuid,
    checksum    text        NOT NULL,
    CONSTRAINT state_store_pkey PRIMARY KEY (id),
    CONSTRAINT state_store_version_key UNIQUE (entity_type, entity_id, version),
    CONSTRAINT state_store_entity_type_check
        CHECK (entity_type <> '' AND length(entity_type) <= 100),
    CONSTRAINT state_store_entity_id_check
        CHECK (entity_id <> '' AND length(entity_id) <= 255),
    CONSTRAINT state_store_version_check CHECK (version >= 1),
    CONSTRAINT state_store_validity_check CHECK (valid_to IS NULL OR valid_to > valid_from)
);

-- The seeds' UNIQUE (entity_type, entity_id, valid_to) let any number of "current" rows
-- in, because NULLs are distinct in a unique constraint. A partial unique index over
-- the current rows says what was meant.
CREATE UNIQUE INDEX state_store_one_current_version
    ON chronicle.state_store (entity_type, entity_id) WHERE valid_to IS NULL;

COMMENT ON TABLE chronicle.state_store IS
  'Every version of every entity''s JSONB state. Append-only: the versioning trigger numbers versions 1..n per entity and closes the previous one; UPDATE, DELETE and TRUNCATE are rejected';
COMMENT ON COLUMN chronicle.state_store.id IS 'Identifier of this version row';
COMMENT ON COLUMN chronicle.state_store.entity_type IS 'Kind of entity, e.g. config or command_state (1 to 100 characters)';
COMMENT ON COLUMN chronicle.state_store.entity_id IS 'Identifier of the entity within its type (1 to 255 characters)';
COMMENT ON COLUMN chronicle.state_store.state IS 'The state document of this version';
COMMENT ON COLUMN chronicle.state_store.version IS 'Version number, 1..n per entity with no gap; assigned by the database';
COMMENT ON COLUMN chronicle.state_store.valid_from IS 'When this version became current; strictly increasing with version; assigned by the database';
COMMENT ON COLUMN chronicle.state_store.valid_to IS 'When this version stopped being current (the next version''s valid_from, or the deletion time); NULL while current';
COMMENT ON COLUMN chronicle.state_store.created_by IS 'User who wrote this version; defaults to chronicle.current_user_id()';
COMMENT ON COLUMN chronicle.state_store.command_id IS 'Command execution that wrote this version, if any';
COMMENT ON COLUMN chronicle.state_store.checksum IS 'Lowercase hex SHA-256 of the state''s canonical JSON; assigned by the database and used to compare copies (Gists)';

-- One row per entity ever written: the lock every writer of that entity takes, and the
-- counter that numbers its next version, so a write never scans the entity's history.
-- Updated on every write, so room is left on each page for HOT updates.
CREATE TABLE chronicle.state_entities (
    entity_type      text        NOT NULL,
    entity_id        text        NOT NULL,
    last_version     integer     NOT NULL,
    last_change      timestamptz NOT NULL,
    current_checksum text,
    CONSTRAINT state_entities_pkey PRIMARY KEY (entity_type, entity_id),
    CONSTRAINT state_entities_last_version_check CHECK (last_version >= 0)
) WITH (fillfactor = 70);

COMMENT ON TABLE chronicle.state_entities IS
  'Per-entity head of chronicle.state_store, maintained by its trigger: the row writers lock, the last version number and the current checksum. Internal; read it, never write it';
COMMENT ON COLUMN chronicle.state_entities.last_version IS 'Highest version number written (0 while the first write is in progress)';
COMMENT ON COLUMN chronicle.state_entities.last_change IS 'valid_from of the last version, or the time of the last deletion if later';
COMMENT ON COLUMN chronicle.state_entities.current_checksum IS 'Checksum of the current version; NULL when the entity has no current version (deleted)';

CREATE VIEW chronicle.current_state AS
SELECT entity_type, entity_id, state, version, valid_from, created_by, command_id, checksum
  FROM chronicle.state_store
 WHERE valid_to IS NULL;

COMMENT ON VIEW chronicle.current_state IS 'The current version of every live entity, one row each';

CREATE FUNCTION chronicle.get_state(entity_type text, entity_id text) RETURNS jsonb
LANGUAGE sql STABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
  SELECT s.state FROM chronicle.state_store s
   WHERE s.entity_type = get_state.entity_type AND s.entity_id = get_state.entity_id
     AND s.valid_to IS NULL;
END;
COMMENT ON FUNCTION chronicle.get_state(text, text) IS
  'Current state of an entity; NULL when it has none (never written, or deleted)';

CREATE FUNCTION chronicle.state_version(entity_type text, entity_id text) RETURNS integer
LANGUAGE sql STABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
  SELECT s.version FROM chronicle.state_store s
   WHERE s.entity_type = state_version.entity_type AND s.entity_id = state_version.entity_id
     AND s.valid_to IS NULL;
END;
COMMENT ON FUNCTION chronicle.state_version(text, text) IS
  'Current version number of an entity (what put_state''s expected_version compares with); NULL when it has no current version';

-- valid_from increases with version, so walking the version index backwards from the
-- newest finds the version in force at `at` without an extra index on every write.
CREATE FUNCTION chronicle.state_as_of(entity_type text, entity_id text, at timestamptz)
RETURNS jsonb
LANGUAGE sql STABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
  SELECT s.state FROM chronicle.state_store s
   WHERE s.entity_type = state_as_of.entity_type AND s.entity_id = state_as_of.entity_id
     AND s.valid_from <= state_as_of.at
     AND (s.valid_to IS NULL OR s.valid_to > state_as_of.at)
   ORDER BY s.version DESC
   LIMIT 1;
END;
COMMENT ON FUNCTION chronicle.state_as_of(text, text, timestamptz) IS
  'State of an entity as it was at a point in time; NULL before its first version or while it was deleted';

CREATE FUNCTION chronicle.state_history(entity_type text, entity_id text)
RETURNS TABLE (
    version integer, valid_from timestamptz, valid_to timestamptz, state jsonb,
    checksum text, command_id uuid, created_by uuid)
LANGUAGE sql STABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
  SELECT s.version, s.valid_from, s.valid_to, s.state, s.checksum, s.command_id, s.created_by
    FROM chronicle.state_store s
   WHERE s.entity_type = state_history.entity_type AND s.entity_id = state_history.entity_id
   ORDER BY s.version;
END;
COMMENT ON FUNCTION chronicle.state_history(text, text) IS
  'Every version of an entity, oldest first, with its validity period, checksum, command and author';
