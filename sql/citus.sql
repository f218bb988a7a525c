-- Scale-out on Citus: chronicle.distribute() spreads the command executions, and the
-- record of which metrics they changed, over the workers. docs/citus.md says what is
-- distributed how, and why.
--
-- Every definition here can run again (CREATE OR REPLACE): an upgrade step includes this
-- file whole (sql/upgrades/) instead of copying it.

-- Statements for the workers, run there with Citus's propagation off: the workers' copies
-- of the tables were made by CREATE EXTENSION on each, and Citus keeps those copies of
-- an extension's tables, so they change as the coordinator's do. Each statement can run
-- again (IF EXISTS, IF NOT EXISTS): run_command_on_workers commits on its own.
CREATE OR REPLACE FUNCTION chronicle._distribute_on_workers(statements text[]) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  failure record;
BEGIN
  SELECT r.nodename, r.nodeport, r.result INTO failure
    FROM run_command_on_workers(
           'SET citus.enable_ddl_propagation TO off; ' || array_to_string(statements, '; ')) r
   WHERE NOT r.success
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'chronicle.distribute() could not prepare the worker %:%: %',
      failure.nodename, failure.nodeport, failure.result
      USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
END
$$;

CREATE OR REPLACE FUNCTION chronicle.distribute(shard_count integer DEFAULT NULL)
RETURNS TABLE (table_name regclass, distribution text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  execution_tables regclass[] := ARRAY['chronicle.command_executions', 'chronicle.metrics_changes']::regclass[];
  -- The state store, by entity_id: an entity's head, versions, deletion records, warn-mode
  -- violations and pending exports in one shard, so its writes run on one worker.
  state_tables regclass[] := ARRAY['chronicle.state_entities', 'chronicle.state_versions',
                                   'chronicle.state_deletions', 'chronicle.state_schema_violations',
                                   'chronicle.gist_export_outbox']::regclass[];
  -- Read by every write, on every worker.
  reference_tables regclass[] := ARRAY['chronicle.metrics_horizon', 'chronicle.state_schemas',
                                       'chronicle.gist_targets']::regclass[];
  -- The state writes, run on the worker that holds the entity (their second argument).
  delegated regprocedure[] := ARRAY['chronicle.put_state(text, text, jsonb, integer, uuid)',
                                    'chronicle.patch_state(text, text, jsonb, uuid)',
                                    'chronicle.revert_state(text, text, integer, uuid)',
                                    'chronicle.delete_state(text, text)']::regprocedure[];
  f regprocedure;
  t regclass;
  statement text;
  has_rows boolean;
  -- Citus refuses a sub-select in a policy of a distributed table: the function is called
  -- as it is, and evaluated where the rows are.
  policies text[] := ARRAY[
    'DROP POLICY IF EXISTS "Users see own executions" ON chronicle.command_executions',
    'DROP POLICY IF EXISTS "Users record own executions" ON chronicle.command_executions',
    'DROP POLICY IF EXISTS "Users update own executions" ON chronicle.command_executions'];
  -- The messageId index cannot hold on a table distributed by id; track() derives a
  -- message's id from its messageId and sender, so the primary key holds it instead.
  -- The changes get the distribution column of the executions.
  tables text[] := ARRAY[
    'DROP INDEX IF EXISTS chronicle.idx_command_executions_message_id',
    'ALTER TABLE chronicle.metrics_changes ADD COLUMN IF NOT EXISTS execution_id uuid NOT NULL DEFAULT gen_random_uuid()'];
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'citus') THEN
    RAISE EXCEPTION 'chronicle.distribute() needs Citus, and database % does not have it', current_database()
      USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'Preload citus (shared_preload_libraries), CREATE EXTENSION citus, register the workers with citus_add_node, then call chronicle.distribute() (docs/citus.md).';
  END IF;
  IF NOT citus_is_coordinator() THEN
    RAISE EXCEPTION 'chronicle.distribute() runs on the Citus coordinator, and this node is a worker'
      USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  IF NOT EXISTS (SELECT FROM pg_dist_node n WHERE n.groupid <> 0 AND n.isactive AND n.noderole = 'primary') THEN
    RAISE EXCEPTION 'chronicle.distribute() found no worker: register them first with citus_add_node'
      USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  -- The workers are prepared over connections of their own, which see only what has
  -- committed there: the extension itself, which Citus creates on them in this
  -- transaction when it is this transaction's.
  IF EXISTS (SELECT FROM pg_catalog.pg_extension e
              WHERE e.extname = 'pg_chronicle' AND e.xmin = pg_catalog.pg_current_xact_id()::xid) THEN
    RAISE EXCEPTION 'chronicle.distribute() cannot run in the transaction that created pg_chronicle'
      USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'Commit CREATE EXTENSION pg_chronicle first.';
  END IF;
  IF shard_count IS NOT NULL AND (shard_count < 1 OR shard_count > 64000) THEN
    RAISE EXCEPTION 'shard_count must be between 1 and 64000, not %', shard_count
      USING ERRCODE = 'invalid_parameter_value';
  END IF;

  -- The tables are distributed before any row is written: this release moves none.
  -- (Reference tables are copied with their rows.) What is distributed already is not
  -- looked at: each part below is done once, and a call after that changes nothing.
  FOREACH t IN ARRAY execution_tables || state_tables LOOP
    IF NOT EXISTS (SELECT FROM pg_dist_partition p WHERE p.logicalrelid = t) THEN
      EXECUTE format('SELECT EXISTS (SELECT FROM %s)', t) INTO has_rows;
      IF has_rows THEN
        RAISE EXCEPTION 'chronicle.distribute() cannot move the rows % already holds', t
          USING ERRCODE = 'object_not_in_prerequisite_state',
                HINT = 'Distribute right after CREATE EXTENSION pg_chronicle, before anything is written.';
      END IF;
    END IF;
  END LOOP;

  -- The triggers (lifecycle and redaction, metrics changes, the history guards) then run
  -- on every shard.
  PERFORM set_config('citus.enable_unsafe_triggers', 'on', true);
  IF shard_count IS NOT NULL THEN
    PERFORM set_config('citus.shard_count', shard_count::text, true);
  END IF;

  IF NOT EXISTS (SELECT FROM pg_dist_partition p WHERE p.logicalrelid = 'chronicle.command_executions'::regclass) THEN
    PERFORM chronicle._distribute_on_workers(policies || tables);
    FOREACH statement IN ARRAY policies || tables LOOP
      EXECUTE statement;
    END LOOP;

    PERFORM create_distributed_table('chronicle.command_executions', 'id');
    PERFORM create_distributed_table('chronicle.metrics_changes', 'execution_id',
                                     colocate_with => 'chronicle.command_executions');

    CREATE POLICY "Users see own executions" ON chronicle.command_executions
        FOR SELECT USING (user_id = chronicle.current_user_id());
    CREATE POLICY "Users record own executions" ON chronicle.command_executions
        FOR INSERT WITH CHECK (user_id = chronicle.current_user_id());
    CREATE POLICY "Users update own executions" ON chronicle.command_executions
        FOR UPDATE USING (user_id = chronicle.current_user_id())
        WITH CHECK (user_id = chronicle.current_user_id());
  END IF;

  FOREACH t IN ARRAY reference_tables LOOP
    IF NOT EXISTS (SELECT FROM pg_dist_partition p WHERE p.logicalrelid = t) THEN
      PERFORM create_reference_table(t);
    END IF;
  END LOOP;

  IF NOT EXISTS (SELECT FROM pg_dist_partition p WHERE p.logicalrelid = 'chronicle.state_entities'::regclass) THEN
    PERFORM create_distributed_table('chronicle.state_entities', 'entity_id');
    FOREACH t IN ARRAY state_tables[2:] LOOP
      PERFORM create_distributed_table(t, 'entity_id', colocate_with => 'chronicle.state_entities');
    END LOOP;
    FOREACH f IN ARRAY delegated LOOP
      PERFORM create_distributed_function(f, '$2', colocate_with => 'chronicle.state_entities');
    END LOOP;
  END IF;

  RETURN QUERY
  SELECT p.logicalrelid::regclass,
         CASE WHEN p.partmethod = 'h' THEN 'distributed by ' || column_to_column_name(p.logicalrelid, p.partkey)
              ELSE 'reference table' END
    FROM pg_dist_partition p
   WHERE p.logicalrelid = ANY (execution_tables || state_tables || reference_tables)
   ORDER BY p.logicalrelid::text;
END
$$;

-- Row-level security on the shards runs on the workers, where chronicle.current_user_id()
-- reads the JWT claims of the worker's session. Citus carries SET LOCAL to the workers of
-- a transaction (citus.propagate_set_commands = local), but not set_config(), which is
-- how PostgREST sets the claims: this turns the claims set so far into SET LOCAL. Called
-- first in each transaction (PostgREST's db-pre-request); without it the workers see no
-- user, and a user's statements see and change no execution.
CREATE OR REPLACE FUNCTION chronicle.propagate_claims() RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  setting text;
BEGIN
  IF current_setting('citus.propagate_set_commands', true) IS NULL THEN
    RETURN;  -- no Citus in this session: nothing to carry
  END IF;
  SET LOCAL citus.propagate_set_commands = 'local';
  FOREACH setting IN ARRAY ARRAY['request.jwt.claims', 'request.jwt.claim.sub'] LOOP
    IF coalesce(current_setting(setting, true), '') <> '' THEN
      EXECUTE format('SET LOCAL %s = %L', setting, current_setting(setting, true));
    END IF;
  END LOOP;
END
$$;

COMMENT ON FUNCTION chronicle._distribute_on_workers(text[]) IS
  'Internal to chronicle.distribute(): runs DDL on every worker with Citus''s propagation off, failing on the first worker that refuses';
COMMENT ON FUNCTION chronicle.distribute(integer) IS
  'On a Citus coordinator: distributes command_executions by id with the metrics changes co-located and the pruning horizon as a reference table; refuses without Citus, workers or on tables with rows; idempotent; returns what is distributed how';

COMMENT ON FUNCTION chronicle.propagate_claims() IS
  'On Citus: carries the JWT claims set with set_config() to the workers of the transaction (SET LOCAL), so that row-level security on the shards sees the user; call it first in each transaction (PostgREST db-pre-request); does nothing without Citus';

REVOKE ALL ON FUNCTION chronicle._distribute_on_workers(text[]), chronicle.distribute(integer),
    chronicle.propagate_claims()
FROM PUBLIC;
