-- The versioned state store, as a user meets it. Each block runs in a transaction that
-- is rolled back, so the blocks are independent.

-- put_state numbers versions 1..n and returns the new version.
BEGIN;
SELECT chronicle.put_state('config', 'app', '{"theme": "dark"}') AS v1;
SELECT chronicle.put_state('config', 'app', '{"theme": "light"}') AS v2;
SELECT chronicle.get_state('config', 'app');
SELECT chronicle.state_version('config', 'app');
-- Exactly one version is current, and each version is closed where the next begins.
SELECT version, state, valid_to IS NULL AS is_current,
       valid_to = lead(valid_from) OVER (ORDER BY version) AS closed_at_next
  FROM chronicle.state_history('config', 'app');
ROLLBACK;

-- Writing the state that is already current writes nothing and returns the current
-- version. Key order and spacing do not matter; the canonical JSON is compared.
BEGIN;
SELECT chronicle.put_state('config', 'app', '{"a": 1, "b": [1, 2]}');
SELECT chronicle.put_state('config', 'app', '{ "b": [1,2], "a": 1.0 }');
SELECT count(*) AS versions FROM chronicle.state_store WHERE entity_id = 'app';
ROLLBACK;

-- A plain INSERT is versioned by the same trigger; values given for version, valid_from,
-- valid_to or checksum are replaced.
BEGIN;
INSERT INTO chronicle.state_store (entity_type, entity_id, state) VALUES ('config', 'app', '{"n": 1}');
INSERT INTO chronicle.state_store (entity_type, entity_id, state, version, valid_to, checksum)
VALUES ('config', 'app', '{"n": 2}', 42, now(), 'forged');
SELECT version, state, valid_to IS NULL AS is_current, checksum <> 'forged' AS checksum_assigned
  FROM chronicle.state_store WHERE entity_id = 'app' ORDER BY version;
-- An unchanged state inserted directly adds no row ("INSERT 0 0").
INSERT INTO chronicle.state_store (entity_type, entity_id, state) VALUES ('config', 'app', '{"n": 2}');
SELECT count(*) AS versions FROM chronicle.state_store WHERE entity_id = 'app';
ROLLBACK;

-- Two writes in one transaction still get strictly increasing timestamps.
BEGIN;
SELECT chronicle.put_state('config', 'fast', jsonb_build_object('i', i)) FROM generate_series(1, 5) i;
SELECT bool_and(valid_from < next_from) AS strictly_increasing,
       bool_and(valid_to = next_from) AS contiguous
  FROM (SELECT valid_from, valid_to, lead(valid_from) OVER (ORDER BY version) AS next_from
          FROM chronicle.state_history('config', 'fast')) h
 WHERE next_from IS NOT NULL;
ROLLBACK;

-- The checksum is the SHA-256 of the canonical JSON, the same for equal documents
-- however they are written.
BEGIN;
SELECT chronicle.put_state('config', 'x', '{"b": 1, "a": [true, null, "é"]}');
SELECT chronicle.put_state('config', 'y', '{"a":[true,null,"\u00e9"],"b":1.00}');
SELECT count(DISTINCT checksum) AS distinct_checksums, min(length(checksum)) AS hex_digits
  FROM chronicle.current_state WHERE entity_type = 'config';
ROLLBACK;

-- expected_version makes put_state a compare-and-set; 0 means "has no current version".
BEGIN;
SELECT chronicle.put_state('config', 'cas', '{"v": 1}', expected_version => 0);
SELECT chronicle.put_state('config', 'cas', '{"v": 2}', expected_version => 1);
SELECT regress.error_of($$SELECT chronicle.put_state('config', 'cas', '{"v": 3}', expected_version => 1)$$);
SELECT chronicle.get_state('config', 'cas');
ROLLBACK;

-- patch_state applies an RFC 7396 merge patch: null removes a key, objects merge.
BEGIN;
SELECT chronicle.put_state('config', 'app', '{"theme": "dark", "flags": {"beta": true, "old": 1}}');
SELECT chronicle.patch_state('config', 'app', '{"flags": {"old": null, "new": 2}, "lang": "en"}');
SELECT chronicle.get_state('config', 'app');
-- Patching an entity that has no current version starts from {}.
SELECT chronicle.patch_state('config', 'fresh', '{"created": true, "gone": null}');
SELECT chronicle.get_state('config', 'fresh');
ROLLBACK;

-- state_diff returns the RFC 6902 JSON Patch between two versions; revert_state writes an
-- old state as a new version.
BEGIN;
SELECT chronicle.put_state('config', 'app', '{"theme": "dark", "tags": ["a", "b"]}');
SELECT chronicle.put_state('config', 'app', '{"theme": "light", "tags": ["a", "b", "c"], "beta": true}');
SELECT chronicle.state_diff('config', 'app', 1, 2);
SELECT chronicle.state_diff('config', 'app', 2, 1);
SELECT chronicle.state_diff('config', 'app', 2, 2);
SELECT chronicle.revert_state('config', 'app', 1) AS reverted_to;
SELECT version, state FROM chronicle.state_history('config', 'app');
-- Reverting to the state that is already current changes nothing.
SELECT chronicle.revert_state('config', 'app', 3) AS still;
ROLLBACK;

-- delete_state closes the current version; the history stays and a later write
-- continues the numbering.
BEGIN;
SELECT chronicle.put_state('config', 'tmp', '{"n": 1}');
SELECT chronicle.put_state('config', 'tmp', '{"n": 2}');
SELECT chronicle.delete_state('config', 'tmp') AS deleted;
SELECT chronicle.delete_state('config', 'tmp') AS deleted_again;
SELECT chronicle.get_state('config', 'tmp') IS NULL AS gone,
       chronicle.state_version('config', 'tmp') IS NULL AS no_version,
       (SELECT count(*) FROM chronicle.current_state WHERE entity_id = 'tmp') AS current_rows;
SELECT chronicle.put_state('config', 'tmp', '{"n": 2}') AS after_delete;
SELECT version, state, valid_to IS NULL AS is_current FROM chronicle.state_history('config', 'tmp');
ROLLBACK;

-- state_as_of answers "what was the state at time t". Timestamps are set here so the
-- answers are stable: valid_from comes from the database, so we read it back.
BEGIN;
SELECT chronicle.put_state('config', 'clock', '{"step": 1}');
SELECT chronicle.put_state('config', 'clock', '{"step": 2}');
SELECT chronicle.delete_state('config', 'clock');
WITH h AS (SELECT version, valid_from, valid_to FROM chronicle.state_history('config', 'clock'))
SELECT chronicle.state_as_of('config', 'clock', (SELECT valid_from FROM h WHERE version = 1) - interval '1 second') AS before_first,
       chronicle.state_as_of('config', 'clock', (SELECT valid_from FROM h WHERE version = 1)) AS at_first,
       chronicle.state_as_of('config', 'clock', (SELECT valid_from FROM h WHERE version = 2)) AS at_second,
       chronicle.state_as_of('config', 'clock', (SELECT valid_to FROM h WHERE version = 2)) AS after_delete;
ROLLBACK;

-- created_by defaults to the acting user: the sub claim PostgREST sets.
BEGIN;
SELECT set_config('request.jwt.claims', '{"sub": "6f1c2a52-9d8e-4f7b-a3c1-0b6f2a9d1e11", "role": "authenticated"}', true);
SELECT chronicle.put_state('config', 'mine', '{}', command_id => '00000000-0000-0000-0000-000000000001');
SELECT created_by, command_id FROM chronicle.state_history('config', 'mine');
ROLLBACK;

-- A sub claim that is not a uuid means nobody. A function named auth.uid() is never
-- called (any role that can create a schema could define one; see security.sql): the
-- claims are read directly, as Supabase's own auth.uid() reads them.
BEGIN;
SELECT set_config('request.jwt.claims', '{"sub": "not-a-uuid"}', true) IS NOT NULL AS claims_set;
SELECT chronicle.current_user_id() IS NULL AS nobody;
CREATE SCHEMA auth;
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql AS $$ SELECT '11111111-1111-4111-8111-111111111111'::uuid $$;
SELECT chronicle.current_user_id() IS NULL AS still_nobody;
ROLLBACK;
