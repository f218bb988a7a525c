-- Attaches the versioning triggers to chronicle.state_store and documents the Rust
-- functions of the state store, once they exist.

-- Fires for every writer, the chronicle functions and a plain INSERT alike.
CREATE TRIGGER state_store_version
    BEFORE INSERT ON chronicle.state_store
    FOR EACH ROW EXECUTE FUNCTION chronicle.state_store_version();

CREATE TRIGGER state_store_append_only
    BEFORE UPDATE OR DELETE ON chronicle.state_store
    FOR EACH ROW EXECUTE FUNCTION chronicle.state_store_append_only();

CREATE TRIGGER state_store_no_truncate
    BEFORE TRUNCATE ON chronicle.state_store
    FOR EACH STATEMENT EXECUTE FUNCTION chronicle.state_store_append_only();

COMMENT ON FUNCTION chronicle.put_state(text, text, jsonb, integer, uuid) IS
  'Writes a new version of an entity''s state; returns its number (the current one if the state is unchanged). expected_version makes it a compare-and-set (0: no current version)';
COMMENT ON FUNCTION chronicle.patch_state(text, text, jsonb, uuid) IS
  'Applies an RFC 7396 merge patch to the current state (or to {}) atomically; returns the resulting version';
COMMENT ON FUNCTION chronicle.revert_state(text, text, integer, uuid) IS
  'Writes an earlier version''s state as a new version; returns the resulting version';
COMMENT ON FUNCTION chronicle.delete_state(text, text) IS
  'Closes the current version of an entity (history stays; a later write continues the numbering); false if it had none';
COMMENT ON FUNCTION chronicle.state_diff(text, text, integer, integer) IS
  'The RFC 6902 JSON Patch turning version from_version of an entity into to_version';
