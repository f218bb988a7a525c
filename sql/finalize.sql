-- Runs last: what pg_dump keeps, and who may do what.

-- An extension's tables are left out of pg_dump unless marked; these hold user data.
SELECT pg_catalog.pg_extension_config_dump('chronicle.state_versions', '');
SELECT pg_catalog.pg_extension_config_dump('chronicle.state_deletions', '');
SELECT pg_catalog.pg_extension_config_dump('chronicle.state_entities', '');
SELECT pg_catalog.pg_extension_config_dump('chronicle.command_executions', '');
SELECT pg_catalog.pg_extension_config_dump('chronicle.metrics_changes', '');
SELECT pg_catalog.pg_extension_config_dump('chronicle.metrics_horizon', '');
SELECT pg_catalog.pg_extension_config_dump('chronicle.command_metrics_hourly', '');
SELECT pg_catalog.pg_extension_config_dump('chronicle.command_metrics_daily', '');
SELECT pg_catalog.pg_extension_config_dump('chronicle.gist_targets', '');
SELECT pg_catalog.pg_extension_config_dump('chronicle.gist_export_queue', '');
SELECT pg_catalog.pg_extension_config_dump('chronicle.gist_imports', '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('chronicle.gist_export_queue', 'id'), '');

-- PostgreSQL lets PUBLIC execute every new function. The state API, the metrics
-- maintenance and the export protocol act for everyone (several are SECURITY DEFINER), so
-- they are granted per role instead: nothing here lets one user read or change another's
-- state, executions or queue rows.
REVOKE EXECUTE ON FUNCTION
    chronicle.put_state(text, text, jsonb, integer, uuid),
    chronicle.patch_state(text, text, jsonb, uuid),
    chronicle.revert_state(text, text, integer, uuid),
    chronicle.delete_state(text, text),
    chronicle.state_diff(text, text, integer, integer),
    chronicle.import_state_version(text, text, jsonb, timestamptz, text, text, text),
    chronicle.refresh_metrics(),
    chronicle.prune_executions(interval),
    chronicle.schedule_refresh(text),
    chronicle.unschedule_refresh(),
    chronicle.set_gist_target(text, text, text, text),
    chronicle.remove_gist_target(text),
    chronicle.gist_file_name(text, text),
    chronicle.export_claim(integer, interval),
    chronicle.export_ack(bigint, uuid, text),
    chronicle.export_ack_all(bigint[], uuid[], text),
    chronicle.export_fail(bigint, uuid, text, interval),
    chronicle.export_release(bigint, uuid, interval),
    chronicle.export_redrive(),
    chronicle.export_stats(),
    chronicle.prune_export_queue(interval),
    chronicle.record_metrics_changes()
FROM PUBLIC;

-- In a trusted install by a database owner, the objects belong to the bootstrap superuser:
-- the owner who ran CREATE EXTENSION (session_user) gets every right on them, with the
-- right to grant them on, so that they administer the extension as they would their own.
DO $$
BEGIN
  EXECUTE format('GRANT USAGE ON SCHEMA chronicle TO %I WITH GRANT OPTION', session_user);
  EXECUTE format('GRANT ALL ON ALL TABLES IN SCHEMA chronicle TO %I WITH GRANT OPTION', session_user);
  EXECUTE format('GRANT ALL ON ALL SEQUENCES IN SCHEMA chronicle TO %I WITH GRANT OPTION', session_user);
  EXECUTE format('GRANT ALL ON ALL FUNCTIONS IN SCHEMA chronicle TO %I WITH GRANT OPTION', session_user);
  -- Row-level security would otherwise hide every execution from the administrator too.
  EXECUTE format('CREATE POLICY "Installer sees all executions" ON chronicle.command_executions TO %I USING (true) WITH CHECK (true)',
                 session_user);
END
$$;

-- Supabase's roles, when the database has them: the service role runs everything; a
-- signed-in user records and reads their own command executions (row-level security
-- decides which rows); anon gets nothing but the schema. Other roles are granted by the
-- database owner (see the README).
DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'service_role') THEN
    GRANT USAGE ON SCHEMA chronicle TO service_role;
    GRANT SELECT ON ALL TABLES IN SCHEMA chronicle TO service_role;
    GRANT INSERT ON chronicle.state_store TO service_role;
    GRANT INSERT, UPDATE, DELETE ON chronicle.command_executions TO service_role;
    GRANT INSERT, UPDATE, DELETE ON chronicle.gist_targets TO service_role;
    GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA chronicle TO service_role;
  END IF;
  IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'authenticated') THEN
    GRANT USAGE ON SCHEMA chronicle TO authenticated;
    GRANT SELECT, INSERT, UPDATE ON chronicle.command_executions TO authenticated;
    GRANT SELECT ON chronicle.command_events TO authenticated;
  END IF;
  IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'anon') THEN
    GRANT USAGE ON SCHEMA chronicle TO anon;
  END IF;
END
$$;
