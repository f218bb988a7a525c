-- The findings of the independent attack on 0.3.0, each replayed: they must all fail
-- now, with a clear error, and change nothing.

-- 1. A function named auth.uid() is never called: identity is read from the JWT claims,
-- so a role that can create a schema cannot run code as the definer of put_state.
BEGIN;
CREATE SCHEMA auth;
CREATE TABLE regress.hijacked (by_role text);
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO regress.hijacked VALUES (current_user);
  RETURN '00000000-0000-0000-0000-00000000dead';
END $$;
SET LOCAL request.jwt.claims = '{"sub": "11111111-1111-1111-1111-111111111111"}';
SELECT chronicle.put_state('t', 'e', '{}');
INSERT INTO chronicle.state_store (entity_type, entity_id, state) VALUES ('t', 'e', '{"v": 2}');
SELECT version, created_by FROM chronicle.state_history('t', 'e');
SELECT chronicle.current_user_id();
SELECT count(*) AS calls_of_the_planted_function FROM regress.hijacked;
ROLLBACK;

-- 2. An administrator cannot write the history or plant triggers (service_role here;
-- the owner of a trusted install is tested in tests/integration/trusted_install.sh).
BEGIN;
SELECT chronicle.put_state('t', 'e', '{}');
SET LOCAL ROLE service_role;
SELECT regress.error_of($$INSERT INTO chronicle.state_versions VALUES ('t', 'e', 5, '{}', now(), 'x', gen_random_uuid(), NULL, NULL)$$);
SELECT regress.error_of($$TRUNCATE chronicle.state_entities$$);
SELECT regress.error_of($$CREATE TRIGGER planted BEFORE INSERT ON chronicle.state_versions FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()$$);
SELECT regress.error_of($$CREATE TRIGGER planted BEFORE UPDATE ON chronicle.command_metrics_hourly FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()$$);
SELECT regress.error_of($$UPDATE chronicle.gist_export_queue SET status = 'done'$$);
SELECT regress.error_of($$DELETE FROM chronicle.command_metrics_daily$$);
SELECT regress.error_of($$SELECT chronicle._export_advance('{}', '{}')$$);
RESET ROLE;
-- Even the owner cannot empty the version counters.
SELECT regress.error_of($$TRUNCATE chronicle.state_entities$$);
ROLLBACK;

-- 3. Derived outputs are bounded: a state nested 990 deep with many leaves is written,
-- its Gist file is the compact JSON (indented it would be ~670 times larger), and a diff
-- that would be ~650 times larger is refused with 54000 before it is built.
BEGIN;
SELECT * FROM chronicle.set_gist_target('deep', 'g1');
SELECT chronicle.put_state('deep', 'a', (repeat('[', 990) || repeat('0,', 5000) || '0' || repeat(']', 990))::jsonb);
SELECT chronicle.put_state('deep', 'a', (repeat('[', 990) || repeat('1,', 5000) || '1' || repeat(']', 990))::jsonb);
SELECT version, length(payload) < 2 * (5001 * 2 + 1980) AS compact_payload, left(payload, 5)
  FROM regress.exports WHERE entity_type = 'deep' ORDER BY id;
SET LOCAL chronicle.max_state_bytes = '1MB';
SELECT regress.error_of($$SELECT chronicle.state_diff('deep', 'a', 1, 2)$$);
RESET chronicle.max_state_bytes;
SELECT jsonb_array_length(chronicle.state_diff('deep', 'a', 1, 2)) AS diff_operations_under_the_default_limit;
-- A document over twice the limit is not even read.
SET LOCAL chronicle.max_state_bytes = '1kB';
SELECT regress.error_of(format('SELECT chronicle.start_command(%L, %L)', 'c', jsonb_build_object('x', repeat('y', 3000))));
ROLLBACK;

-- 4. Times outside 1970..9999 are refused at the edge, naming the field, and a bucket
-- that cannot be computed does not stop the others.
BEGIN;
CREATE FUNCTION regress.masked_error_of(statement text) RETURNS text LANGUAGE sql
RETURN regexp_replace(regress.error_of(statement), '[0-9a-f]{8}-[0-9a-f-]{27}', '<id>');
SELECT regress.masked_error_of($$INSERT INTO chronicle.command_executions (command_name, started_at) VALUES ('x', '294276-12-31 23:30+00')$$);
SELECT regress.masked_error_of($$INSERT INTO chronicle.command_executions (command_name, started_at) VALUES ('x', '-infinity')$$);
SELECT regress.masked_error_of($$INSERT INTO chronicle.command_executions (command_name, started_at) VALUES ('x', '1969-12-31 23:59+00')$$);
SELECT regress.masked_error_of($$INSERT INTO chronicle.command_executions (command_name, status, started_at, completed_at) VALUES ('x', 'success', '2026-01-01', 'infinity')$$);
SELECT regress.masked_error_of($$INSERT INTO chronicle.command_executions (command_name, status, duration_ms) VALUES ('x', 'success', 1e300)$$);
SELECT regress.error_of($$SELECT chronicle.track('{"event": "command_executed", "anonymousId": "a", "timestamp": "infinity", "properties": {"command_name": "x"}}')$$);
SELECT regress.error_of($$SELECT chronicle.track('{"event": "command_executed", "anonymousId": "a", "timestamp": "2026-11-25T12:00:00Z", "properties": {"command_name": "x", "execution_time_ms": 1e300}}')$$);
SELECT regress.error_of($$SELECT chronicle.record_command('x', duration_ms => 1e300)$$);
SELECT regress.error_of($$SELECT chronicle.track('{"event": "command_executed", "anonymousId": "a", "timestamp": "1970-01-01T00:00:01Z", "properties": {"command_name": "x", "execution_time_ms": 2000}}')$$);
-- A row from before times were checked (the trigger is bypassed to plant it), among good ones.
SELECT chronicle.record_command('good', duration_ms => 5) IS NOT NULL AS recorded;
ALTER TABLE chronicle.command_executions DISABLE TRIGGER command_executions_lifecycle;
INSERT INTO chronicle.command_executions (command_name, status, started_at, completed_at, duration_ms)
VALUES ('poison', 'success', '294276-12-31 23:30+00', '294276-12-31 23:30+00', 0);
ALTER TABLE chronicle.command_executions ENABLE TRIGGER command_executions_lifecycle;
SELECT hourly_buckets, daily_buckets, executions_read FROM chronicle.refresh_metrics();
SELECT command_name, executions FROM chronicle.command_metrics_hourly ORDER BY 1;
SELECT command_name, sqlstate, message FROM chronicle.metrics_failures;
-- Deleting the row and retrying clears it.
DELETE FROM chronicle.command_executions WHERE command_name = 'poison';
SELECT hourly_buckets FROM chronicle.refresh_metrics();
SELECT count(*) AS failures_left FROM chronicle.metrics_failures;
ROLLBACK;

-- 5. Two entities can never share a Gist file.
BEGIN;
SELECT * FROM chronicle.set_gist_target('a', 'g1', '{entity_id}.json');
SELECT regress.error_of($$SELECT chronicle.set_gist_target('b', 'g1', '{entity_id}.json')$$);
SELECT regress.error_of($$INSERT INTO chronicle.gist_targets (entity_type, gist_id, filename_template) VALUES ('b', 'g1', 'x{entity_id}.json')$$);
SELECT entity_type FROM chronicle.set_gist_target('b', 'g2', '{entity_id}.json');
SELECT regress.error_of($$UPDATE chronicle.gist_targets SET gist_id = 'g1' WHERE entity_type = 'b'$$);
-- The default template keeps types apart unless one type's name extends the other's.
SELECT entity_type FROM chronicle.set_gist_target('x', 'g3');
SELECT entity_type FROM chronicle.set_gist_target('y', 'g3');
SELECT regress.error_of($$SELECT chronicle.set_gist_target('x.y', 'g3')$$);
-- An existing entity the template cannot name is listed, and the target refused.
SELECT chronicle.put_state('slashed', 'a/b', '{}'), chronicle.put_state('slashed', 'ok', '{}');
SELECT regress.error_of($$SELECT chronicle.set_gist_target('slashed', 'g4')$$);
SELECT count(*) AS targets FROM chronicle.gist_targets;
SELECT chronicle.remove_gist_target('a') AS removed, chronicle.remove_gist_target('none') AS removed_nothing;
ROLLBACK;

-- 6. track() is idempotent per sender: the same messageId from the same user gives the
-- first id; another user's identical messageId is a separate execution.
BEGIN;
SELECT chronicle.track('{"event": "command_executed", "userId": "11111111-1111-1111-1111-111111111111", "messageId": "m-1", "timestamp": "2026-11-25T12:00:00Z", "properties": {"command_name": "x"}}') AS first \gset
SELECT chronicle.track('{"event": "command_executed", "userId": "11111111-1111-1111-1111-111111111111", "messageId": "m-1", "timestamp": "2026-11-25T12:00:00Z", "properties": {"command_name": "x"}}') = :'first' AS same_id;
SELECT chronicle.track('{"event": "command_executed", "userId": "22222222-2222-2222-2222-222222222222", "messageId": "m-1", "timestamp": "2026-11-25T12:00:00Z", "properties": {"command_name": "x"}}') <> :'first' AS other_sender_other_id;
SELECT chronicle.track('{"event": "command_executed", "anonymousId": "anon-1", "messageId": "m-1", "timestamp": "2026-11-25T12:00:00Z", "properties": {"command_name": "x"}}') <> :'first' AS anonymous_sender_other_id;
SELECT count(*) FROM chronicle.command_executions WHERE message_id = 'm-1';
ROLLBACK;

-- 8. Redaction: spellings, header lists, JSON inside strings, and every document a
-- reader of command_events sees.
BEGIN;
SELECT chronicle.record_command('deploy',
   parameters => jsonb_build_object(
       'api.key', 'k1', E'pass\tword', 'k2', E'pass\u00a0word', 'k3', E'pass\u00adword', 'k4',
       'ｐａｓｓｗｏｒｄ', 'k5', 'pwd', 'k6', 'jwt', 'k7', 'private_key', 'k8', 'author', 'kept',
       'headers', jsonb_build_array(jsonb_build_array('Authorization', 'Bearer k9'), jsonb_build_array('Accept', 'json')),
       'list', jsonb_build_array(jsonb_build_object('name', 'Cookie', 'value', 'k10')),
       'blob', '{"client_secret": "k11", "id": 7}'),
   metadata => '{"token": "k12"}', error => '{"code": "E1", "message": "bad", "session": "k13"}') AS rid \gset
-- (The soft hyphen is shown as <SHY>: psql's idea of its width changed in 17.)
SELECT replace(jsonb_pretty(parameters), E'\u00ad', '<SHY>') AS parameters, metadata, error
  FROM chronicle.command_executions WHERE id = :'rid';
-- A tracked event's context too.
SELECT chronicle.track('{"event": "command_executed", "anonymousId": "a", "timestamp": "2026-11-25T12:00:00Z", "context": {"cookie": "k14", "ip": "127.0.0.1"}, "properties": {"command_name": "x"}}') AS tid \gset
SELECT context FROM chronicle.command_executions WHERE id = :'tid';
ROLLBACK;

-- 9. The smaller ones.
BEGIN;
SELECT * FROM chronicle.set_gist_target('cfg', 'g1');
SELECT chronicle.put_state('cfg', 'a', '{"v": 1}');
SELECT id AS qid, lease_token AS token FROM chronicle.export_claim(1) \gset
SELECT regress.error_of(format('SELECT chronicle.export_ack(%s, %L, NULL)', :qid, :'token'));
SELECT regress.error_of(format('SELECT chronicle.export_ack_all(ARRAY[%s, %s], ARRAY[%L, gen_random_uuid()]::uuid[], %L)', :qid, :qid, :'token', 'rev'));
SELECT regress.error_of($$SELECT chronicle.export_ack_all(NULL, NULL, 'rev')$$);
SELECT status FROM regress.exports WHERE id = :qid;
-- A NULL quantile: the accessors are STRICT (NULL in, NULL out), the aggregates refuse it.
SELECT chronicle.approx_percentile(chronicle.percentile_agg(x), NULL) IS NULL AS strict_null FROM generate_series(1, 3) x;
SELECT regress.error_of($$SELECT chronicle.approx_percentile(x::float8, NULL) FROM generate_series(1, 3) x$$);
-- TRUNCATE of the executions is followed by the rollups at the next refresh.
SELECT chronicle.record_command('gone', duration_ms => 1) IS NOT NULL;
SELECT hourly_buckets FROM chronicle.refresh_metrics();
TRUNCATE chronicle.command_executions;
SELECT hourly_buckets FROM chronicle.refresh_metrics();
SELECT count(*) AS rollups_left FROM chronicle.command_metrics_hourly;
ROLLBACK;

-- Writing an exported type inside a prepared transaction: no NOTIFY in the way.
BEGIN;
SELECT * FROM chronicle.set_gist_target('prepared', 'g9');
COMMIT;
BEGIN;
SELECT chronicle.put_state('prepared', 'a', '{"v": 1}');
PREPARE TRANSACTION 'chronicle_regress_2pc';
COMMIT PREPARED 'chronicle_regress_2pc';
SELECT entity_id, version, status FROM regress.exports WHERE entity_type = 'prepared';
-- Clean up what the committed transactions left.
SELECT chronicle.remove_gist_target('prepared');
SELECT chronicle.delete_state('prepared', 'a');

-- A database in another encoding is refused at CREATE EXTENSION.
CREATE DATABASE chronicle_latin1 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;
\c chronicle_latin1
\set VERBOSITY terse
CREATE EXTENSION pg_chronicle;
\set VERBOSITY default
\c chronicle_regress
DROP DATABASE chronicle_latin1;
