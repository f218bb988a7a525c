-- Command executions: the lifecycle the database enforces for every writer, redaction of
-- secrets, RudderStack track calls, and row-level security.
BEGIN;
SET LOCAL TimeZone = 'UTC';

-- start_command records a running execution; finish_command stamps completed_at and
-- duration_ms.
SELECT chronicle.start_command('deploy', '{"env": "prod"}', '11111111-1111-4111-8111-111111111111') AS deploy_id \gset
SELECT command_name, status, completed_at IS NULL AS open, duration_ms FROM chronicle.command_executions WHERE id = :'deploy_id';
SELECT status, completed_at >= started_at AS stamped, duration_ms >= 0 AS has_duration, updated_at >= created_at AS updated
  FROM chronicle.finish_command(:'deploy_id', 'success');

-- record_command records an execution that already finished, with the caller's duration.
SELECT chronicle.record_command('lint', '{}', '11111111-1111-4111-8111-111111111111', 'failed', 1250.5,
                                '{"code": "E_LINT", "message": "3 errors"}') AS lint_id \gset
SELECT status, duration_ms, round(extract(epoch FROM completed_at - started_at)::numeric, 4) AS seconds, error
  FROM chronicle.command_executions WHERE id = :'lint_id';

-- A plain INSERT or UPDATE goes through the same lifecycle.
INSERT INTO chronicle.command_executions (id, command_name, status, started_at)
VALUES ('22222222-2222-4222-8222-222222222222', 'build', 'pending', '2026-11-25 10:00:00+00');
UPDATE chronicle.command_executions SET status = 'running' WHERE id = '22222222-2222-4222-8222-222222222222';
UPDATE chronicle.command_executions SET status = 'success', completed_at = '2026-11-25 10:00:02.5+00'
 WHERE id = '22222222-2222-4222-8222-222222222222';
SELECT status, duration_ms FROM chronicle.command_executions WHERE id = '22222222-2222-4222-8222-222222222222';

-- Status never goes back, and a finished execution is final.
SELECT regress.error_of($$UPDATE chronicle.command_executions SET status = 'running' WHERE id = '22222222-2222-4222-8222-222222222222'$$);
SELECT regress.error_of($$UPDATE chronicle.command_executions SET status = 'failed' WHERE id = '22222222-2222-4222-8222-222222222222'$$);
SELECT regress.error_of($$UPDATE chronicle.command_executions SET duration_ms = 1 WHERE id = '22222222-2222-4222-8222-222222222222'$$);
INSERT INTO chronicle.command_executions (id, command_name, status) VALUES ('33333333-3333-4333-8333-333333333333', 'test', 'running');
SELECT regress.error_of($$UPDATE chronicle.command_executions SET status = 'pending' WHERE id = '33333333-3333-4333-8333-333333333333'$$);
SELECT regress.error_of($$UPDATE chronicle.command_executions SET status = 'done' WHERE id = '33333333-3333-4333-8333-333333333333'$$);
SELECT regress.error_of($$UPDATE chronicle.command_executions SET completed_at = now() WHERE id = '33333333-3333-4333-8333-333333333333'$$);
SELECT regress.error_of($$SELECT chronicle.finish_command('33333333-3333-4333-8333-333333333333', 'running')$$);
SELECT regress.error_of($$SELECT chronicle.finish_command('44444444-4444-4444-8444-444444444444', 'success')$$);
SELECT regress.error_of($$SELECT chronicle.record_command('x', status => 'pending')$$);
SELECT regress.error_of($$SELECT chronicle.record_command('x', duration_ms => -1)$$);
SELECT regress.error_of($$SELECT chronicle.record_command('x', duration_ms => 'NaN')$$);
SELECT regress.error_of($$INSERT INTO chronicle.command_executions (command_name, status, duration_ms, completed_at) VALUES ('x', 'success', 'Infinity', now())$$);
SELECT regress.error_of($$INSERT INTO chronicle.command_executions (command_name) VALUES ('')$$);
SELECT regress.error_of($$INSERT INTO chronicle.command_executions (id, command_name, status, started_at, completed_at)
                          VALUES ('55555555-5555-4555-8555-555555555555', 'x', 'success', '2026-11-25 10:00+00', '2026-11-25 09:00+00')$$);
SELECT status FROM chronicle.command_executions WHERE id = '33333333-3333-4333-8333-333333333333';

-- Secrets never reach disk: keys matching chronicle.redact_keys, at any depth, whatever
-- their case or separators, in every write path.
SELECT chronicle.start_command('login',
  '{"user": "ada", "Password": "hunter2", "headers": {"Authorization": "Bearer x", "X-Api-Key": "k"},
    "steps": [{"client_secret": {"nested": true}}, {"note": "a token in a value is data"}]}') AS login_id \gset
SELECT parameters FROM chronicle.command_executions WHERE id = :'login_id';
INSERT INTO chronicle.command_executions (command_name, parameters) VALUES ('direct', '{"db_password": "p"}') RETURNING parameters;
SET LOCAL chronicle.redact_keys = 'pin';
SELECT chronicle.start_command('unlock', '{"PIN": 1234, "password": "now kept"}') AS unlock_id \gset
SELECT parameters FROM chronicle.command_executions WHERE id = :'unlock_id';
RESET chronicle.redact_keys;

-- chronicle.track records RudderStack track calls, once per messageId.
SELECT chronicle.track('{
  "type": "track", "event": "command_executed", "userId": "11111111-1111-4111-8111-111111111111",
  "messageId": "msg-1", "timestamp": "2026-11-25T12:00:05Z", "sentAt": "2026-11-25T12:00:06Z",
  "context": {"page": {"path": "/deploy", "url": "https://example.com/deploy"}},
  "properties": {"command_name": "deploy", "command_category": "ops", "execution_time_ms": 5000,
                 "parameters": {"env": "prod", "token": "s3cr3t"}, "success": true,
                 "hooks_executed": ["pre-deploy"], "hooks_blocked": [], "total_hook_time_ms": 120,
                 "state_reads": 3, "state_writes": 1, "state_size_bytes": 2048,
                 "chain_depth": 1, "chain_commands": ["build", "deploy"]}}') AS tracked_id \gset
SELECT chronicle.track('{"event": "command_executed", "userId": "11111111-1111-4111-8111-111111111111", "messageId": "msg-1",
                         "timestamp": "2026-11-25T12:00:05Z", "properties": {"command_name": "deploy"}}') = :'tracked_id' AS same_message_once;
SELECT chronicle.track('{"event": "hook_blocked", "anonymousId": "anon-7", "timestamp": "2026-11-25T12:01:00Z",
                         "properties": {"command_name": "deploy", "hooks_blocked": ["policy"], "error_message": "blocked by policy"}}') AS blocked_id \gset
SELECT command_name, status, started_at, completed_at, duration_ms, parameters, hooks_executed, chain_commands,
       state_size_bytes, event
  FROM chronicle.command_executions WHERE id IN (:'tracked_id', :'blocked_id') ORDER BY completed_at;

-- The warehouse shape (RudderStack track events as loaded into BigQuery).
SELECT id = :'tracked_id'::text AS id_matches, anonymous_id, user_id, event, sent_at, "timestamp", context, properties
  FROM chronicle.command_events WHERE id IN (:'tracked_id', :'blocked_id') ORDER BY "timestamp";

-- Malformed track calls name the field at fault.
SELECT regress.error_of($$SELECT chronicle.track('[]')$$);
SELECT regress.error_of($$SELECT chronicle.track('{"userId": "11111111-1111-4111-8111-111111111111", "timestamp": "2026-11-25T12:00:00Z", "properties": {}}')$$);
SELECT regress.error_of($$SELECT chronicle.track('{"event": "command_started", "userId": "11111111-1111-4111-8111-111111111111"}')$$);
SELECT regress.error_of($$SELECT chronicle.track('{"event": "command_executed", "userId": "ada", "timestamp": "2026-11-25T12:00:00Z", "properties": {"command_name": "x"}}')$$);
SELECT regress.error_of($$SELECT chronicle.track('{"event": "command_executed", "timestamp": "2026-11-25T12:00:00Z", "properties": {"command_name": "x"}}')$$);
SELECT regress.error_of($$SELECT chronicle.track('{"event": "command_executed", "anonymousId": "a", "properties": {"command_name": "x"}}')$$);
SELECT regress.error_of($$SELECT chronicle.track('{"event": "command_executed", "anonymousId": "a", "timestamp": "yesterday-ish", "properties": {"command_name": "x"}}')$$);
SELECT regress.error_of($$SELECT chronicle.track('{"event": "command_executed", "anonymousId": "a", "timestamp": "2026-11-25T12:00:00Z", "properties": "deploy"}')$$);
SELECT regress.error_of($$SELECT chronicle.track('{"event": "command_executed", "anonymousId": "a", "timestamp": "2026-11-25T12:00:00Z", "properties": {}}')$$);
SELECT regress.error_of($$SELECT chronicle.track('{"event": "command_executed", "anonymousId": "a", "timestamp": "2026-11-25T12:00:00Z", "properties": {"command_name": "x", "execution_time_ms": "fast"}}')$$);
SELECT regress.error_of($$SELECT chronicle.track('{"event": "command_executed", "anonymousId": "a", "timestamp": "2026-11-25T12:00:00Z", "properties": {"command_name": "x", "execution_time_ms": -5}}')$$);
SELECT regress.error_of($$SELECT chronicle.track('{"event": "command_executed", "anonymousId": "a", "timestamp": "2026-11-25T12:00:00Z", "properties": {"command_name": "x", "hooks_executed": ["a", 2]}}')$$);
SELECT regress.error_of($$SELECT chronicle.track('{"event": "command_executed", "anonymousId": "a", "timestamp": "2026-11-25T12:00:00Z", "properties": {"command_name": "x", "state_reads": 1.5}}')$$);
SELECT regress.error_of($$SELECT chronicle.track(NULL)$$);
ROLLBACK;

-- Row-level security with real roles: each user sees and writes only their own
-- executions; anon sees nothing; the service role sees everything.
BEGIN;
GRANT USAGE ON SCHEMA chronicle TO anon, authenticated, service_role;
GRANT SELECT, INSERT, UPDATE ON chronicle.command_executions TO authenticated, service_role;
GRANT SELECT ON chronicle.command_events TO authenticated, service_role;
SELECT count(chronicle.record_command('deploy', user_id => u::uuid)) AS recorded
  FROM unnest(ARRAY['aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb',
                    'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb']) AS u;

SET LOCAL ROLE authenticated;
SELECT set_config('request.jwt.claims', '{"sub": "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", "role": "authenticated"}', true) IS NOT NULL AS as_user_a;
SELECT user_id, count(*) FROM chronicle.command_executions GROUP BY user_id;
SELECT count(*) AS events_seen FROM chronicle.command_events;
SELECT chronicle.start_command('build') IS NOT NULL AS started_own;
SELECT regress.error_of($$SELECT chronicle.start_command('build', user_id => 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb')$$);
WITH touched AS (UPDATE chronicle.command_executions SET metadata = '{"x": 1}'
                  WHERE user_id = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb' RETURNING id)
SELECT count(*) AS others_rows_updated FROM touched;
SELECT set_config('request.jwt.claims', '{"sub": "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb", "role": "authenticated"}', true) IS NOT NULL AS as_user_b;
SELECT user_id, count(*) FROM chronicle.command_executions GROUP BY user_id;
RESET ROLE;

SET LOCAL ROLE anon;
SELECT regress.error_of($$SELECT count(*) FROM chronicle.command_executions$$);
RESET ROLE;

SET LOCAL ROLE service_role;
SELECT user_id, count(*) FROM chronicle.command_executions GROUP BY user_id ORDER BY user_id;
RESET ROLE;
ROLLBACK;
