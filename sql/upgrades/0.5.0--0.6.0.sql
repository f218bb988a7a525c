-- pg_chronicle 0.5.0 -> 0.6.0. tests/integration/upgrade.sh checks that the result is
-- exactly a fresh install. Definitions are not copied here: whole files of sql/ are
-- included (build.rs), and the step ends by pointing every C function at 0.6.0's library.
-- The steps from earlier releases leave the queue's, the metrics' and the execution
-- functions' definitions to the files included here (docs/upgrades.md).
\echo Use "ALTER EXTENSION pg_chronicle UPDATE TO '0.6.0'" to load this file. \quit

-- Internal helpers carry a leading underscore; nobody but the owner may call them.
ALTER FUNCTION chronicle.export_advance(text[], text[]) RENAME TO _export_advance;
ALTER FUNCTION chronicle.export_stale_lease(bigint) RENAME TO _export_stale_lease;

-- export_stats also says how fast the exporters drain: its result type changes, so it is
-- made again (and its privileges given back below).
DROP FUNCTION chronicle.export_stats();

-- The queue's functions, which now call the helpers by their new names.
-- On Citus, exports wait in an outbox beside the states until a claim moves them; the
-- claim and export_stats read it.
\ir ../export_outbox.sql
CREATE FUNCTION chronicle."_export_take_outbox"() RETURNS bigint
VOLATILE PARALLEL UNSAFE STRICT
SET search_path TO pg_catalog, pg_temp
LANGUAGE c AS 'MODULE_PATHNAME', 'export_take_outbox_wrapper';
REVOKE ALL ON FUNCTION chronicle._export_take_outbox() FROM PUBLIC;

-- A head says whether exports may wait behind it, so that finishing one with none behind
-- skips looking (sql/export_queue.sql, _export_advance). Heads queued under 0.5.0 are
-- marked where exports wait behind them now.
ALTER TABLE chronicle.gist_export_queue ADD COLUMN has_waiting boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN chronicle.gist_export_queue.has_waiting IS
  'On a head: whether an export may be waiting behind it (set by whoever queues one there), so that finishing a head with none skips looking for the next';
UPDATE chronicle.gist_export_queue h
   SET has_waiting = true
 WHERE h.stage = 'head'
   AND EXISTS (SELECT FROM chronicle.gist_export_queue w
                WHERE w.gist_id = h.gist_id AND w.file_name = h.file_name AND w.stage = 'waiting');

-- An ack takes the export out of the queue and records it in gist_export_deliveries
-- (sql/export_deliveries.sql). What 0.5.0 delivered moves there; the done rows without a
-- revision (closed by export_redrive as superseded) are dropped, as export_redrive now
-- drops them.
\ir ../export_deliveries.sql
INSERT INTO chronicle.gist_export_deliveries
       (id, gist_id, file_name, operation, mode, entity_type, entity_id, version, checksum,
        payload, attempt, enqueued_at, gist_revision, delivered_at)
SELECT q.id, q.gist_id, q.file_name, q.operation, q.mode, q.entity_type, q.entity_id, q.version,
       q.checksum, q.payload, q.attempt, q.enqueued_at, q.gist_revision, q.done_at
  FROM chronicle.gist_export_queue q
 WHERE q.status = 'done' AND q.gist_revision IS NOT NULL
 ORDER BY q.done_at, q.id;
DELETE FROM chronicle.gist_export_queue WHERE status = 'done';
DROP INDEX chronicle.gist_export_queue_finished;
ALTER TABLE chronicle.gist_export_queue
  DROP COLUMN gist_revision,
  DROP COLUMN done_at,
  DROP CONSTRAINT gist_export_queue_status_check,
  ADD CONSTRAINT gist_export_queue_status_check CHECK (status IN ('waiting', 'pending', 'in_flight', 'dead'));
COMMENT ON TABLE chronicle.gist_export_queue IS
  'Exports waiting for, or handed to, a Gist exporter (chronicle-gist), and dead ones; filled in the same transaction as each state write, consumed through export_claim/export_ack/export_fail (an ack moves the export to chronicle.gist_export_deliveries)';
COMMENT ON COLUMN chronicle.gist_export_queue.status IS
  'waiting (behind an unfinished export of its file), pending (its file''s head, claimable), in_flight (claimed under a lease) or dead (out of attempts)';
COMMENT ON COLUMN chronicle.gist_export_queue.stage IS
  'Derived from status: head (pending or in_flight), waiting, or finished (dead); what the indexes look at, so that claims update rows in place';
-- Kept by pg_dump like the queue (last, as in sql/finalize.sql).
SELECT pg_catalog.pg_extension_config_dump('chronicle.gist_export_deliveries', '');

\ir ../export_queue.sql

-- The write path passes the clock in and adds its microsecond with an IMMUTABLE function,
-- as Citus requires (src/state/store.rs); the read functions are PL/pgSQL, which Citus can plan.
CREATE FUNCTION chronicle._microsecond_after(at timestamptz) RETURNS timestamptz
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'microsecond_after_wrapper';
REVOKE ALL ON FUNCTION chronicle._microsecond_after(timestamptz) FROM PUBLIC;
COMMENT ON FUNCTION chronicle._microsecond_after(timestamptz) IS
  'Internal to the state store''s write path: the time a microsecond after the given one';
\ir ../state_reads.sql

-- A new schema version reaches the writers by a trigger, which on Citus fires on every
-- node (src/state/schema.rs).
CREATE FUNCTION chronicle._state_schemas_changed() RETURNS trigger
LANGUAGE c AS 'MODULE_PATHNAME', 'state_schemas_changed_wrapper';
REVOKE ALL ON FUNCTION chronicle._state_schemas_changed() FROM PUBLIC;
COMMENT ON FUNCTION chronicle._state_schemas_changed() IS
  'Trigger: after a new schema version, waits for the state writes in flight and makes every backend reload the schemas at commit';
CREATE TRIGGER state_schemas_changed
    AFTER INSERT ON chronicle.state_schemas
    FOR EACH STATEMENT EXECUTE FUNCTION chronicle._state_schemas_changed();

-- GitHub's write budget and secondary-limit pause, shared by the exporters (new).
\ir ../gist_limits.sql

-- The metrics' and the execution functions, at their current definitions.
ALTER FUNCTION chronicle.refresh_buckets(timestamptz[], text[]) RENAME TO _refresh_buckets;
\ir ../metrics_refresh.sql
\ir ../executions_api.sql

-- Scale-out on Citus (new).
\ir ../citus.sql

-- The sketch aggregates keep their state in chronicle.sketch_state, which Citus can ship.
\ir 0.6.0-sketch-state.sql
\ir ../sketch_state.sql
\ir ../sketch.sql
DROP FUNCTION chronicle.rollup_trans(internal, chronicle.quantile_sketch);
DROP FUNCTION chronicle.sketch_combine(internal, internal);
DROP FUNCTION chronicle.sketch_serialize(internal);
DROP FUNCTION chronicle.sketch_deserialize(bytea, internal);
-- As sql/finalize.sql: PUBLIC may call the type's I/O and support functions (Citus calls
-- them as the querying role), granted explicitly as a fresh install grants them.
DO $$
DECLARE
  f regprocedure;
BEGIN
  FOR f IN SELECT p.oid FROM pg_catalog.pg_proc p
            WHERE p.pronamespace = 'chronicle'::regnamespace
              AND (p.proname LIKE 'sketch\_state\_%' OR p.proname LIKE '%\_state\_trans'
                   OR p.proname LIKE '%\_state\_final')
            ORDER BY p.oid
  LOOP
    EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
    EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO PUBLIC', f);
  END LOOP;
END
$$;

-- The administrators (the installer of a trusted install, service_role) hold the new
-- export_stats, the write budget and propagate_claims as they hold export_claim: in the
-- order and with the grant option they hold it, as sql/finalize.sql grants them in a
-- fresh install.
REVOKE ALL ON FUNCTION chronicle.export_stats() FROM PUBLIC;
DO $$
DECLARE
  admin record;
BEGIN
  FOR admin IN
    SELECT pg_catalog.quote_ident(e.grantee::regrole::text) AS role,
           CASE WHEN e.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END AS option
      FROM pg_catalog.pg_proc p,
           pg_catalog.aclexplode(p.proacl) WITH ORDINALITY AS e(grantor, grantee, privilege_type, is_grantable, n)
     WHERE p.oid = 'chronicle.export_claim(integer, interval)'::pg_catalog.regprocedure
       AND e.privilege_type = 'EXECUTE' AND e.grantee <> p.proowner AND e.grantee <> 0
     ORDER BY e.n
  LOOP
    EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION chronicle.export_stats(), chronicle.propagate_claims(), '
                   'chronicle.sketch_state_in(cstring), chronicle.sketch_state_out(chronicle.sketch_state), chronicle.sketch_state_recv(internal), chronicle.sketch_state_send(chronicle.sketch_state), chronicle.sketch_state_trans(chronicle.sketch_state, double precision), chronicle.sketch_state_trans_with_error(chronicle.sketch_state, double precision, double precision), chronicle.percentile_state_trans(chronicle.sketch_state, double precision, double precision), chronicle.percentiles_state_trans(chronicle.sketch_state, double precision, double precision[]), chronicle.rollup_state_trans(chronicle.sketch_state, chronicle.quantile_sketch), chronicle.sketch_state_combine(chronicle.sketch_state, chronicle.sketch_state), chronicle.sketch_state_final(chronicle.sketch_state), chronicle.percentile_state_final(chronicle.sketch_state), chronicle.percentiles_state_final(chronicle.sketch_state), '
                   'chronicle.gist_take_write_budget(integer, integer, interval, interval), '
                   'chronicle.gist_write_budget_wait(integer, integer, interval, interval), '
                   'chronicle.gist_note_secondary_limit(interval, interval, text), '
                   'chronicle.gist_write_budget_status(interval, interval) TO %s', admin.role) || admin.option;
    EXECUTE pg_catalog.format('GRANT SELECT ON chronicle.gist_write_log, chronicle.gist_rate_limit, '
                              'chronicle.gist_export_outbox, chronicle.gist_export_deliveries TO %s',
                              admin.role) || admin.option;
  END LOOP;
END
$$;

-- A signed-in user calls propagate_claims() as they call track().
DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'authenticated')
     AND pg_catalog.has_function_privilege('authenticated', 'chronicle.track(jsonb)', 'EXECUTE') THEN
    GRANT EXECUTE ON FUNCTION chronicle.propagate_claims() TO authenticated;
  END IF;
END
$$;

-- Catalog comments that say what each thing is.
\ir 0.6.0-comments.sql
