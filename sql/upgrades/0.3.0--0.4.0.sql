-- pg_chronicle 0.3.0 -> 0.4.0: the security release. The changes of tables, triggers and
-- privileges a fresh 0.4.0 install has, applied to a 0.3.0 database. Functions are not
-- copied here: the step to the current release includes their current definitions
-- (docs/upgrades.md). tests/integration/upgrade.sh checks that the chain of steps ends
-- exactly at a fresh install.

\echo Use "ALTER EXTENSION pg_chronicle UPDATE TO '0.4.0'" to load this file. \quit

-- Refuse to go on in a database whose encoding the extension cannot work in.
DO $$
BEGIN
  IF pg_catalog.getdatabaseencoding() <> 'UTF8' THEN
    RAISE EXCEPTION 'pg_chronicle needs a UTF8 database, and % is %',
      pg_catalog.current_database(), pg_catalog.getdatabaseencoding()
      USING ERRCODE = 'feature_not_supported',
            HINT = 'Create the database with ENCODING ''UTF8'' (and a UTF-8 locale, or TEMPLATE template0).';
  END IF;
END
$$;

-- Identity no longer calls auth.uid(); the C function keeps its symbol.
COMMENT ON FUNCTION chronicle.current_user_id() IS
  'The acting user: the uuid in the sub claim of request.jwt.claims (PostgREST, Supabase; what auth.uid() reads), else NULL';

-- The version counters cannot be emptied, even by the owner.
CREATE TRIGGER state_entities_no_truncate
    BEFORE TRUNCATE ON chronicle.state_entities
    FOR EACH STATEMENT EXECUTE FUNCTION chronicle.state_history_guard();

-- Functions that need no owner's rights run as their caller.
ALTER FUNCTION chronicle.state_diff(text, text, integer, integer) SECURITY INVOKER;
ALTER FUNCTION chronicle.gist_file_name(text, text) SECURITY INVOKER;
ALTER FUNCTION chronicle.set_gist_target(text, text, text, text) SECURITY INVOKER;

-- Gist targets: checked against the other targets of their Gist and the existing entities.
DROP TRIGGER gist_targets_check ON chronicle.gist_targets;
CREATE TRIGGER gist_targets_check
    BEFORE INSERT OR UPDATE OF entity_type, gist_id, filename_template ON chronicle.gist_targets
    FOR EACH ROW EXECUTE FUNCTION chronicle.gist_targets_check();
COMMENT ON FUNCTION chronicle.gist_targets_check() IS
  'Trigger: refuses a Gist target whose file-name template cannot name the entities of its type, or could give two entities of its Gist one file (22023)';

COMMENT ON SEQUENCE chronicle.gist_export_queue_id_seq IS 'Numbers the exports: a file''s exports leave in this order';

-- track() is idempotent per sender.
DROP INDEX chronicle.idx_command_executions_message_id;
CREATE UNIQUE INDEX idx_command_executions_message_id
    ON chronicle.command_executions (message_id, user_id, anonymous_id) NULLS NOT DISTINCT
    WHERE message_id IS NOT NULL;
COMMENT ON COLUMN chronicle.command_executions.parameters IS 'Command parameters; secrets (keys matching chronicle.redact_keys, header lists, JSON in strings) are stored as "[REDACTED]"';
COMMENT ON COLUMN chronicle.command_executions.message_id IS 'RudderStack messageId; tracking the same message twice from the same sender (user_id, anonymous_id) records it once';

-- Metrics: one bucket that cannot be computed no longer stops the others; TRUNCATE is followed.
CREATE TABLE chronicle.metrics_failures (
    hour         timestamptz NOT NULL,
    command_name text        NOT NULL,
    sqlstate     text        NOT NULL,
    message      text        NOT NULL,
    failed_at    timestamptz NOT NULL,
    CONSTRAINT metrics_failures_pkey PRIMARY KEY (hour, command_name)
);

COMMENT ON TABLE chronicle.metrics_failures IS
  'Hourly buckets chronicle.refresh_metrics() could not compute, with the error; the other buckets were refreshed';
SELECT pg_catalog.pg_extension_config_dump('chronicle.metrics_failures', '');

CREATE TRIGGER command_executions_metrics_truncate
    AFTER TRUNCATE ON chronicle.command_executions
    FOR EACH STATEMENT EXECUTE FUNCTION chronicle.record_metrics_changes();

-- New in 0.4.0, declared where a fresh 0.4.0 install has them, so that they get its
-- privileges. Their definitions are the current release's (sql/metrics_refresh.sql),
-- which the step to it includes: an update goes to the current release
-- (docs/upgrades.md), and until it has, these say so.
CREATE FUNCTION chronicle.refresh_buckets(key_hours timestamptz[], key_commands text[]) RETURNS bigint
LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'pg_chronicle is between releases: run ALTER EXTENSION pg_chronicle UPDATE' USING ERRCODE = 'object_not_in_prerequisite_state'; END $$;
CREATE FUNCTION chronicle.retry_failed_metrics() RETURNS bigint
LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'pg_chronicle is between releases: run ALTER EXTENSION pg_chronicle UPDATE' USING ERRCODE = 'object_not_in_prerequisite_state'; END $$;

COMMENT ON FUNCTION chronicle.refresh_buckets(timestamptz[], text[]) IS
  'Internal to chronicle.refresh_metrics(): recomputes the given hourly buckets and their days';
COMMENT ON FUNCTION chronicle.retry_failed_metrics() IS
  'Queues the buckets listed in chronicle.metrics_failures for the next chronicle.refresh_metrics(); returns how many';

-- Privileges: closed by default, as sql/finalize.sql decides them for a fresh install.
-- What nobody but the extension's owner may hold is taken from every role that has it;
-- other rights an administrator granted stay.
DO $$
DECLARE
  grantee text;
BEGIN
  FOR grantee IN
    SELECT DISTINCT quote_ident(e.grantee::regrole::text)
      FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) e
     WHERE c.relnamespace = 'chronicle'::regnamespace AND e.grantee <> c.relowner AND e.grantee <> 0
  LOOP
    EXECUTE format('REVOKE TRIGGER, REFERENCES, TRUNCATE ON ALL TABLES IN SCHEMA chronicle FROM %s', grantee);
    EXECUTE format('REVOKE INSERT, UPDATE, DELETE ON chronicle.state_versions, chronicle.state_deletions, '
                   'chronicle.state_entities, chronicle.gist_export_queue, chronicle.gist_imports, '
                   'chronicle.metrics_changes, chronicle.metrics_horizon, chronicle.command_metrics_hourly, '
                   'chronicle.command_metrics_daily, chronicle.command_performance, chronicle.current_state, '
                   'chronicle.command_events FROM %s', grantee);
    EXECUTE format('REVOKE UPDATE, DELETE ON chronicle.state_store FROM %s', grantee);
    EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA chronicle FROM %s', grantee);
  END LOOP;
  FOR grantee IN
    SELECT DISTINCT quote_ident(e.grantee::regrole::text)
      FROM pg_catalog.pg_proc p, pg_catalog.aclexplode(p.proacl) e
     WHERE p.pronamespace = 'chronicle'::regnamespace AND e.grantee <> p.proowner AND e.grantee <> 0
  LOOP
    EXECUTE format('REVOKE EXECUTE ON FUNCTION chronicle.export_advance(text[], text[]), '
                   'chronicle.export_stale_lease(bigint) FROM %s', grantee);
  END LOOP;
END
$$;
-- 0.3.0 granted the owner its own rights again, with grant option: back to an owner's
-- plain rights, as in a fresh install.
DO $$
DECLARE
  owner text := (SELECT quote_ident(n.nspowner::regrole::text) FROM pg_catalog.pg_namespace n WHERE n.nspname = 'chronicle');
BEGIN
  EXECUTE format('REVOKE GRANT OPTION FOR ALL ON ALL TABLES IN SCHEMA chronicle FROM %s', owner);
  EXECUTE format('REVOKE GRANT OPTION FOR ALL ON ALL SEQUENCES IN SCHEMA chronicle FROM %s', owner);
  EXECUTE format('REVOKE GRANT OPTION FOR ALL ON ALL FUNCTIONS IN SCHEMA chronicle FROM %s', owner);
  EXECUTE format('REVOKE GRANT OPTION FOR ALL ON SCHEMA chronicle FROM %s', owner);
  -- Functions are granted anew below, in the order a fresh install grants them.
  REVOKE ALL ON ALL FUNCTIONS IN SCHEMA chronicle FROM PUBLIC;
  IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'service_role') THEN
    REVOKE ALL ON ALL FUNCTIONS IN SCHEMA chronicle FROM service_role;
  END IF;
  IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'authenticated') THEN
    REVOKE ALL ON ALL FUNCTIONS IN SCHEMA chronicle FROM authenticated;
  END IF;
END
$$;
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
    chronicle.current_user_id()
TO PUBLIC;

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
  EXECUTE format('REVOKE EXECUTE ON FUNCTION chronicle.export_advance(text[], text[]), '
                 'chronicle.export_stale_lease(bigint), chronicle.refresh_buckets(timestamptz[], text[]), '
                 'chronicle.grant_administration(text, boolean) FROM %I', grantee);
END
$$;

DO $$
DECLARE
  installer text;
BEGIN
  -- The owners who installed 0.3.0 as trusted hold USAGE on the schema with grant option.
  FOR installer IN
    SELECT e.grantee::regrole::text
      FROM pg_catalog.pg_namespace n, pg_catalog.aclexplode(n.nspacl) e
      JOIN pg_catalog.pg_roles r ON r.oid = e.grantee
     WHERE n.nspname = 'chronicle' AND e.privilege_type = 'USAGE' AND e.is_grantable AND NOT r.rolsuper
       AND e.grantee <> n.nspowner
  LOOP
    PERFORM chronicle.grant_administration(installer, true);
  END LOOP;
  -- 0.3.0 gave a superuser who installed a policy it never needed.
  IF EXISTS (SELECT FROM pg_catalog.pg_policy pol
              WHERE pol.polrelid = 'chronicle.command_executions'::regclass
                AND pol.polname = 'Installer sees all executions'
                AND (SELECT bool_and(r.rolsuper) FROM pg_catalog.pg_roles r WHERE r.oid = ANY (pol.polroles))) THEN
    DROP POLICY "Installer sees all executions" ON chronicle.command_executions;
  END IF;
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
        chronicle.track(jsonb)
    TO authenticated;
  END IF;
END
$$;

DROP FUNCTION chronicle.grant_administration(text, boolean);
