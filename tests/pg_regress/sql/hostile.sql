-- Hostile input: every one gets a clear error or is stored as plain data; nothing is
-- executed, nothing half-written, no backend lost.
BEGIN;
-- Injection-shaped names are data: no function builds SQL from its arguments.
SELECT chronicle.put_state($$x'); DROP TABLE chronicle.state_versions; --$$, 'a"b', '{"v": 1}');
SELECT chronicle.get_state($$x'); DROP TABLE chronicle.state_versions; --$$, 'a"b');
SELECT chronicle.record_command($$deploy'; DELETE FROM chronicle.command_executions; --$$) IS NOT NULL AS recorded;
SELECT count(*) AS still_there FROM chronicle.state_versions;
SELECT * FROM chronicle.set_gist_target('cfg', 'abc123', '{entity_id}.json');
SELECT regress.error_of($$SELECT chronicle.put_state('cfg', '../../etc/passwd', '{}')$$);
SELECT regress.error_of($$SELECT chronicle.put_state('cfg', E'new\nline', '{}')$$);

-- Huge and deeply nested JSON.
SELECT regress.error_of($$SELECT chronicle.put_state('t', 'huge', jsonb_build_object('x', repeat('y', 11 * 1024 * 1024)))$$);
SELECT regress.error_of(format('SELECT chronicle.put_state(%L, %L, %L)', 't', 'deep', repeat('[', 1500) || repeat(']', 1500)));
SELECT regress.error_of(format('SELECT chronicle.patch_state(%L, %L, %L)', 't', 'deep', '{"a": ' || repeat('[', 1500) || repeat(']', 1500) || '}'));
SELECT regress.error_of(format('SELECT chronicle.start_command(%L, %L)', 'c', '{"a": ' || repeat('{"b": ', 1500) || '1' || repeat('}', 1500) || '}'));

-- Out-of-range timestamps and numbers.
SELECT regress.error_of($$SELECT chronicle.track('{"event": "command_executed", "anonymousId": "a", "timestamp": "294277-01-01T00:00:00Z", "properties": {"command_name": "x"}}')$$);
SELECT regress.error_of($$SELECT chronicle.track('{"event": "command_executed", "anonymousId": "a", "timestamp": "2026-11-25T12:00:00Z", "properties": {"command_name": "x", "execution_time_ms": 1e400}}')$$);
SELECT regress.error_of($$SELECT chronicle.track('{"event": "command_executed", "anonymousId": "a", "timestamp": "2026-11-25T12:00:00Z", "properties": {"command_name": "x", "state_size_bytes": 99999999999999999999}}')$$);
SELECT regress.error_of($$SELECT chronicle.import_state_version('t', 'a', '{}', 'infinity', 'g1', 'r1', 'f.json')$$);
SELECT regress.error_of($$SELECT chronicle.record_command('x', duration_ms => 'Infinity')$$);
SELECT regress.error_of($$SELECT chronicle.approx_percentile_rank(chronicle.percentile_agg(x), 'NaN') FROM generate_series(1, 3) x$$);
SELECT regress.error_of($$SELECT chronicle.percentile_agg(x) FROM unnest('{1, -Infinity}'::float8[]) x$$);

-- Corrupt and truncated sketches.
SELECT regress.error_of($$SELECT 'qsketch:////'::chronicle.quantile_sketch$$);
SELECT regress.error_of($$SELECT 'qsketch:AQAGZg=='::chronicle.quantile_sketch$$);
SELECT regress.error_of($$SELECT ('qsketch:' || encode(decode(substr(encode(decode(substr(chronicle.percentile_agg(x)::text, 9), 'base64'), 'hex'), 1, 40), 'hex'), 'base64'))::chronicle.quantile_sketch FROM generate_series(1, 100) x$$);
ROLLBACK;
