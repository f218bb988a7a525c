-- Attaches the versioning and guard triggers and documents the Rust functions of the
-- state store, once they exist.

-- Every INSERT into the view, from any writer, becomes a versioned write.
CREATE TRIGGER state_store_insert
    INSTEAD OF INSERT ON chronicle.state_store
    FOR EACH ROW EXECUTE FUNCTION chronicle.state_store_insert();

CREATE TRIGGER state_store_immutable
    INSTEAD OF UPDATE OR DELETE ON chronicle.state_store
    FOR EACH ROW EXECUTE FUNCTION chronicle.state_history_guard();

-- Inserts are not guarded: only the extension's owner may insert into the storage
-- tables at all, and a row trigger on every write would cost every writer.
CREATE TRIGGER state_versions_guard
    BEFORE UPDATE OR DELETE ON chronicle.state_versions
    FOR EACH ROW EXECUTE FUNCTION chronicle.state_history_guard();

CREATE TRIGGER state_versions_no_truncate
    BEFORE TRUNCATE ON chronicle.state_versions
    FOR EACH STATEMENT EXECUTE FUNCTION chronicle.state_history_guard();

CREATE TRIGGER state_deletions_guard
    BEFORE UPDATE OR DELETE ON chronicle.state_deletions
    FOR EACH ROW EXECUTE FUNCTION chronicle.state_history_guard();

CREATE TRIGGER state_deletions_no_truncate
    BEFORE TRUNCATE ON chronicle.state_deletions
    FOR EACH STATEMENT EXECUTE FUNCTION chronicle.state_history_guard();

-- The heads hold the version counters: emptying them would restart numbering over
-- existing versions.
CREATE TRIGGER state_entities_no_truncate
    BEFORE TRUNCATE ON chronicle.state_entities
    FOR EACH STATEMENT EXECUTE FUNCTION chronicle.state_history_guard();

-- Every new schema version waits for the writes in flight and reaches every writer, on
-- every node of a Citus cluster too (src/state/schema.rs).
CREATE TRIGGER state_schemas_changed
    AFTER INSERT ON chronicle.state_schemas
    FOR EACH STATEMENT EXECUTE FUNCTION chronicle._state_schemas_changed();

COMMENT ON FUNCTION chronicle.current_user_id() IS
  'The acting user: the uuid in the sub claim of request.jwt.claims (PostgREST, Supabase; what auth.uid() reads), else NULL';
COMMENT ON FUNCTION chronicle.put_state(text, text, jsonb, integer, uuid) IS
  'Writes a new version of an entity''s state; returns its number (the current one if the state is unchanged). expected_version makes it a compare-and-set (0: no current version)';
COMMENT ON FUNCTION chronicle.patch_state(text, text, jsonb, uuid) IS
  'Applies an RFC 7396 merge patch to the current state (or to {}) atomically; returns the resulting version';
COMMENT ON FUNCTION chronicle.revert_state(text, text, integer, uuid) IS
  'Writes an earlier version''s state as a new version; returns the resulting version';
COMMENT ON FUNCTION chronicle.delete_state(text, text) IS
  'Ends the current version of an entity (history stays; a later write continues the numbering); false if it had none';
COMMENT ON FUNCTION chronicle.state_diff(text, text, integer, integer) IS
  'The RFC 6902 JSON Patch turning version from_version of an entity into to_version';
COMMENT ON FUNCTION chronicle.set_state_schema(text, jsonb, text) IS
  'Attaches a JSON Schema (2020-12, or 7 by $schema) to an entity type: mode enforce refuses writes that do not validate (23514), warn writes and records them; returns the schema version';
COMMENT ON FUNCTION chronicle.drop_state_schema(text) IS
  'Removes an entity type''s schema (recorded as a new schema version); false if it had none';
COMMENT ON FUNCTION chronicle.validate_states(text, jsonb) IS
  'Dry run: the current states of an entity type that fail its schema (or the schema given), with up to 20 violations each';
COMMENT ON FUNCTION chronicle.json_schema_violations(jsonb, jsonb) IS
  'Violations of a JSON document against a JSON Schema (empty array: valid), up to 20; compiles the schema on each call';
