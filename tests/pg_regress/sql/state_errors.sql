-- Bad input gets a clear error with a proper SQLSTATE and writes nothing.
BEGIN;
SELECT chronicle.put_state('config', 'app', '{"v": 1}');

-- Entity names must be given and not empty.
SELECT regress.error_of($$SELECT chronicle.put_state(NULL, 'app', '{}')$$);
SELECT regress.error_of($$SELECT chronicle.put_state('config', '', '{}')$$);
SELECT regress.error_of($$INSERT INTO chronicle.state_store (entity_type, entity_id, state) VALUES ('', 'x', '{}')$$);
SELECT regress.error_of($$SELECT chronicle.put_state(repeat('t', 101), 'app', '{}')$$);
SELECT regress.error_of($$SELECT chronicle.patch_state('config', NULL, '{}')$$);
SELECT regress.error_of($$SELECT chronicle.delete_state(NULL, 'app')$$);

-- A NULL state is not a deletion.
SELECT regress.error_of($$SELECT chronicle.put_state('config', 'app', NULL)$$);

-- States over chronicle.max_state_bytes are refused.
SET chronicle.max_state_bytes = '1kB';
SELECT regress.error_of($$SELECT chronicle.put_state('config', 'big', jsonb_build_object('blob', repeat('x', 2000)))$$);
RESET chronicle.max_state_bytes;

-- A stale expected_version names the current version.
SELECT regress.error_of($$SELECT chronicle.put_state('config', 'app', '{"v": 2}', expected_version => 7)$$);
SELECT regress.error_of($$SELECT chronicle.put_state('config', 'nobody', '{"v": 2}', expected_version => 1)$$);

-- A merge patch must be an object.
SELECT regress.error_of($$SELECT chronicle.patch_state('config', 'app', '[1, 2]')$$);
SELECT regress.error_of($$SELECT chronicle.patch_state('config', 'app', '"text"')$$);

-- Unknown versions in diff and revert.
SELECT regress.error_of($$SELECT chronicle.state_diff('config', 'app', 1, 9)$$);
SELECT regress.error_of($$SELECT chronicle.revert_state('config', 'app', 0)$$);
SELECT regress.error_of($$SELECT chronicle.revert_state('config', 'missing', 1)$$);

-- History is immutable.
SELECT regress.error_of($$UPDATE chronicle.state_store SET state = '{}'$$);
SELECT regress.error_of($$UPDATE chronicle.state_store SET valid_to = now()$$);
SELECT regress.error_of($$DELETE FROM chronicle.state_store$$);
SELECT regress.error_of($$TRUNCATE chronicle.state_store$$);
-- ... including through the tables behind the view, even for their owner.
SELECT regress.error_of($$UPDATE chronicle.state_versions SET state = '{}'$$);
SELECT regress.error_of($$DELETE FROM chronicle.state_versions$$);
SELECT regress.error_of($$TRUNCATE chronicle.state_versions$$);

-- None of the above changed anything.
SELECT entity_type, entity_id, version, state, valid_to IS NULL AS is_current FROM chronicle.state_store;
SELECT entity_type, entity_id, last_version, current_checksum IS NOT NULL AS live FROM chronicle.state_entities;
ROLLBACK;
