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
-- Since 0.4.0 (last, as an update from 0.3.0 adds it).
SELECT pg_catalog.pg_extension_config_dump('chronicle.metrics_failures', '');
SELECT pg_catalog.pg_extension_config_dump('chronicle.state_schemas', '');
SELECT pg_catalog.pg_extension_config_dump('chronicle.state_schema_violations', '');
-- Since 0.6.0.
SELECT pg_catalog.pg_extension_config_dump('chronicle.gist_export_deliveries', '');

-- Privileges: closed by default, opened by name. This is the only place the extension
-- grants anything; tests/pg_regress/sql/privileges.sql lists the result and fails when an
-- object appears without a decision here.
--
-- PostgreSQL lets PUBLIC execute every new function, and a trusted install used to hand
-- the installing owner every right on every table. Both are taken back first: nobody but
-- the extension's owner (the bootstrap superuser) may write the storage, queue and rollup
-- tables, or hold TRIGGER, REFERENCES or TRUNCATE anywhere, because a trigger attached to
-- a table that SECURITY DEFINER code writes would run as that superuser.
REVOKE ALL ON ALL TABLES IN SCHEMA chronicle FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA chronicle FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA chronicle FROM PUBLIC;
REVOKE ALL ON SCHEMA chronicle FROM PUBLIC;

-- What any role that is given USAGE on the schema may call: the quantile sketch (pure
-- functions over their arguments, reading no table), JSON Schema validation of a value
-- (bounded, reading nothing) and the acting user's own id. The sketch aggregates' state
-- type and support functions too: Citus's worker_partial_agg and coord_combine_agg call
-- them as the querying role (the transitions and the combine refuse to run outside an
-- aggregate).
GRANT EXECUTE ON FUNCTION
    chronicle.quantile_sketch_in(cstring), chronicle.quantile_sketch_out(chronicle.quantile_sketch),
    chronicle.quantile_sketch_recv(internal), chronicle.quantile_sketch_send(chronicle.quantile_sketch),
    chronicle.percentile_agg(double precision), chronicle.percentile_agg(double precision, double precision),
    chronicle.rollup(chronicle.quantile_sketch),
    chronicle.approx_percentile(double precision, double precision),
    chronicle.approx_percentiles(double precision, double precision[]),
    chronicle.approx_percentile(chronicle.quantile_sketch, double precision),
    chronicle.approx_percentiles(chronicle.quantile_sketch, double precision[]),
    chronicle.approx_percentile_rank(chronicle.quantile_sketch, double precision),
    chronicle.num_vals(chronicle.quantile_sketch), chronicle.mean(chronicle.quantile_sketch),
    chronicle.min_val(chronicle.quantile_sketch), chronicle.max_val(chronicle.quantile_sketch),
    chronicle.relative_error(chronicle.quantile_sketch), chronicle.histogram(chronicle.quantile_sketch),
    chronicle.sketch_state_in(cstring), chronicle.sketch_state_out(chronicle.sketch_state),
    chronicle.sketch_state_recv(internal), chronicle.sketch_state_send(chronicle.sketch_state),
    chronicle.sketch_state_trans(chronicle.sketch_state, double precision),
    chronicle.sketch_state_trans_with_error(chronicle.sketch_state, double precision, double precision),
    chronicle.percentile_state_trans(chronicle.sketch_state, double precision, double precision),
    chronicle.percentiles_state_trans(chronicle.sketch_state, double precision, double precision[]),
    chronicle.rollup_state_trans(chronicle.sketch_state, chronicle.quantile_sketch),
    chronicle.sketch_state_combine(chronicle.sketch_state, chronicle.sketch_state),
    chronicle.sketch_state_final(chronicle.sketch_state),
    chronicle.percentile_state_final(chronicle.sketch_state),
    chronicle.percentiles_state_final(chronicle.sketch_state),
    chronicle.current_user_id(), chronicle.json_schema_violations(jsonb, jsonb)
TO PUBLIC;

-- An administrator of pg_chronicle (the owner who ran CREATE EXTENSION in a trusted
-- install, and Supabase's service_role): reads everything; writes state through the
-- versioning (functions, or INSERT into the state_store view), executions and Gist
-- targets directly, and the queue and rollups only through their functions.
-- The internal helpers (_export_advance, _export_stale_lease, _export_take_outbox,
-- _microsecond_after, _state_schemas_changed, _refresh_buckets, _bucket_aggregates,
-- _metrics_distributed, _distribute_on_workers and the write budget's _gist_budget_wait
-- and _gist_check_budget_arguments) stay the owner's: they run inside the functions
-- above. So does distribute(), which only the tables' owner can run.
CREATE FUNCTION chronicle.grant_administration(grantee text, with_grant_option boolean)
RETURNS void LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  option text := CASE WHEN with_grant_option THEN ' WITH GRANT OPTION' ELSE '' END;
BEGIN
  EXECUTE format('GRANT USAGE ON SCHEMA chronicle TO %I', grantee) || option;
  EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA chronicle TO %I', grantee) || option;
  EXECUTE format('GRANT INSERT ON chronicle.state_store TO %I', grantee) || option;
  EXECUTE format('GRANT INSERT, UPDATE, DELETE ON chronicle.command_executions, chronicle.gist_targets TO %I', grantee) || option;
  EXECUTE format('GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA chronicle TO %I', grantee) || option;
  EXECUTE format('REVOKE EXECUTE ON FUNCTION chronicle._export_advance(text[], text[]), '
                 'chronicle._export_stale_lease(bigint), chronicle._export_take_outbox(), '
                 'chronicle._microsecond_after(timestamptz), chronicle._state_schemas_changed(), '
                 'chronicle._refresh_buckets(timestamptz[], text[]), '
                 'chronicle._bucket_aggregates(timestamptz[], text[]), chronicle._metrics_distributed(), '
                 'chronicle._distribute_on_workers(text[]), chronicle.distribute(integer), '
                 'chronicle._gist_budget_wait(integer, integer, interval, interval, timestamptz), '
                 'chronicle._gist_check_budget_arguments(integer, integer, interval, interval), '
                 'chronicle.grant_administration(text, boolean) FROM %I', grantee);
END
$$;

DO $$
BEGIN
  -- In a trusted install by a database owner the objects belong to the bootstrap
  -- superuser, and the owner who ran CREATE EXTENSION (session_user) administers them,
  -- with the right to grant that on. A superuser who installs owns them already.
  IF NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = session_user) THEN
    PERFORM chronicle.grant_administration(session_user, true);
    -- Row-level security would otherwise hide every execution from the administrator too.
    EXECUTE format('CREATE POLICY "Installer sees all executions" ON chronicle.command_executions '
                   'TO %I USING (true) WITH CHECK (true)', session_user);
  END IF;
  -- Supabase's roles, when the database has them: the service role administers; a
  -- signed-in user records and reads their own command executions (row-level security
  -- decides which rows) and nothing else; anon gets the schema and the sketch functions.
  -- Other roles are granted by the administrator (see the README).
  IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'service_role') THEN
    PERFORM chronicle.grant_administration('service_role', false);
  END IF;
  IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'authenticated') THEN
    GRANT USAGE ON SCHEMA chronicle TO authenticated;
    GRANT SELECT, INSERT, UPDATE ON chronicle.command_executions TO authenticated;
    GRANT SELECT ON chronicle.command_events TO authenticated;
    GRANT EXECUTE ON FUNCTION
        chronicle.start_command(text, jsonb, uuid, jsonb),
        chronicle.finish_command(uuid, text, jsonb),
        chronicle.record_command(text, jsonb, uuid, text, double precision, jsonb, jsonb),
        chronicle.track(jsonb), chronicle.propagate_claims()
    TO authenticated;
  END IF;
  IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'anon') THEN
    GRANT USAGE ON SCHEMA chronicle TO anon;
  END IF;
END
$$;

DROP FUNCTION chronicle.grant_administration(text, boolean);
