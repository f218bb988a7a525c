-- The read side of the state store: current state, version, as-of and history.
--
-- Every definition here can run again (CREATE OR REPLACE): an upgrade step includes this
-- file whole (sql/upgrades/) instead of copying it.
--
-- The read functions are PL/pgSQL: Citus cannot plan a statement of a SQL function that
-- takes parameters on a distributed table, and PL/pgSQL hands it values. Their names are
-- qualified and their search_path pinned, as they run as the caller.
CREATE OR REPLACE FUNCTION chronicle.get_state(entity_type text, entity_id text) RETURNS jsonb
LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  RETURN (SELECT c.state FROM chronicle.current_state c
           WHERE c.entity_type = get_state.entity_type AND c.entity_id = get_state.entity_id);
END
$$;
COMMENT ON FUNCTION chronicle.get_state(text, text) IS
  'Current state of an entity; NULL when it has none (never written, or deleted)';

CREATE OR REPLACE FUNCTION chronicle.state_version(entity_type text, entity_id text) RETURNS integer
LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  RETURN (SELECT e.last_version FROM chronicle.state_entities e
           WHERE e.entity_type = state_version.entity_type AND e.entity_id = state_version.entity_id
             AND e.current_checksum IS NOT NULL);
END
$$;
COMMENT ON FUNCTION chronicle.state_version(text, text) IS
  'Current version number of an entity (what put_state''s expected_version compares with); NULL when it has no current version';

-- valid_from increases with version, so walking the primary key backwards from the
-- newest version finds the version in force at `at` without an extra index on every write.
CREATE OR REPLACE FUNCTION chronicle.state_as_of(entity_type text, entity_id text, at timestamptz)
RETURNS jsonb
LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  found_version integer;
  found_state jsonb;
BEGIN
  SELECT s.version, s.state INTO found_version, found_state
    FROM chronicle.state_versions s
   WHERE s.entity_type = state_as_of.entity_type AND s.entity_id = state_as_of.entity_id
     AND s.valid_from <= state_as_of.at
   ORDER BY s.version DESC
   LIMIT 1;
  -- Ended by a deletion before `at`: nothing was current then.
  IF EXISTS (SELECT FROM chronicle.state_deletions d
              WHERE d.entity_type = state_as_of.entity_type AND d.entity_id = state_as_of.entity_id
                AND d.version = found_version AND d.deleted_at <= state_as_of.at) THEN
    RETURN NULL;
  END IF;
  RETURN found_state;
END
$$;
COMMENT ON FUNCTION chronicle.state_as_of(text, text, timestamptz) IS
  'State of an entity as it was at a point in time; NULL before its first version or while it was deleted';

CREATE OR REPLACE FUNCTION chronicle.state_history(entity_type text, entity_id text)
RETURNS TABLE (
    version integer, valid_from timestamptz, valid_to timestamptz, state jsonb,
    checksum text, command_id uuid, created_by uuid, schema_version integer)
LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  RETURN QUERY
  SELECT s.version, s.valid_from, s.valid_to, s.state, s.checksum, s.command_id, s.created_by, s.schema_version
    FROM chronicle.state_store s
   WHERE s.entity_type = state_history.entity_type AND s.entity_id = state_history.entity_id
   ORDER BY s.version;
END
$$;
COMMENT ON FUNCTION chronicle.state_history(text, text) IS
  'Every version of an entity, oldest first, with its validity period, checksum, command, author and the schema version it was validated against';
