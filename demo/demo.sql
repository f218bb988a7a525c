-- A small demo: the state of a command-based tool's configuration, written the way its
-- commands would, so every chronicle feature has something to show.
\echo 'demo: versioned state'
SELECT chronicle.put_state('config', 'app', '{"theme": "dark", "commands": {"deploy": {"enabled": true}}}');
SELECT chronicle.patch_state('config', 'app', '{"theme": "light", "max_parallel": 4}');
SELECT chronicle.put_state('config', 'app', '{"theme": "light", "max_parallel": 8, "commands": {"deploy": {"enabled": false}}}',
                           expected_version => 2);
INSERT INTO chronicle.state_store (entity_type, entity_id, state)
VALUES ('command_state', 'deploy', '{"last_run": "2026-11-24T10:00:00Z", "status": "success"}');
SELECT chronicle.patch_state('command_state', 'deploy', '{"status": "running"}');

\echo 'demo: history and diff of config/app'
SELECT version, valid_from, valid_to, state FROM chronicle.state_history('config', 'app');
SELECT chronicle.state_diff('config', 'app', 1, 3);
