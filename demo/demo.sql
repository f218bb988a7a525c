-- A small demo: a command-based tool's configuration and command state, written the way
-- its commands would, so every part of pg_chronicle has something to show.

\echo '== versioned state: put, patch, compare-and-set, direct INSERT'
SELECT chronicle.put_state('config', 'app', '{"theme": "dark", "commands": {"deploy": {"enabled": true}}}');
SELECT chronicle.patch_state('config', 'app', '{"theme": "light", "max_parallel": 4}');
SELECT chronicle.put_state('config', 'app', '{"theme": "light", "max_parallel": 8, "commands": {"deploy": {"enabled": false}}}',
                           expected_version => 2);
INSERT INTO chronicle.state_store (entity_type, entity_id, state)
VALUES ('command_state', 'deploy', '{"last_run": "2026-11-24T10:00:00Z", "status": "success"}');

\echo '== history and diff of config/app'
SELECT version, valid_from, valid_to, state FROM chronicle.state_history('config', 'app');
SELECT chronicle.state_diff('config', 'app', 1, 3);

\echo '== command executions (secrets redacted) and hourly/daily metrics'
SELECT count(chronicle.record_command(
         'cmd_' || (i % 3), jsonb_build_object('env', 'prod', 'api_key', 'k-' || i),
         ('00000000-0000-4000-8000-' || lpad((i % 5)::text, 12, '0'))::uuid,
         CASE WHEN i % 10 = 0 THEN 'failed' ELSE 'success' END, 20 + (i * 37) % 400))
  FROM generate_series(1, 200) i;
SELECT parameters FROM chronicle.command_executions LIMIT 1;
SELECT * FROM chronicle.refresh_metrics();
SELECT command_name, executions, failed, round(avg_time_ms) AS avg_ms, round(p95_time_ms) AS p95_ms, unique_users
  FROM chronicle.command_metrics_daily ORDER BY command_name;
SELECT chronicle.schedule_refresh() AS cron_job;

\echo '== Gist export: config goes to a Gist, each write is queued'
SELECT * FROM chronicle.set_gist_target('config', 'aa11bb22cc33dd44');
SELECT chronicle.patch_state('config', 'app', '{"max_parallel": 16}');
SELECT * FROM chronicle.export_stats();
