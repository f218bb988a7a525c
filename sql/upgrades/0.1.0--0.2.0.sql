-- pg_chronicle 0.1.0 -> 0.2.0
--
-- export_claim no longer reads the whole backlog when a few files carry it: with
-- every_version targets on hot entities the front of the queue is all exports waiting
-- behind their file's oldest one, and a claim read on in id order through all of them
-- (tens of milliseconds per claim at 30,000 queued, so exporters fell behind). It now
-- reads a bounded front and then steps from file to file (sql/export_queue.sql says how).
--
-- Claim, ack, ack_all, fail and release no longer follow the queue's statistics, which
-- are often stale (a queue analyzed while empty, then given 50,000 exports, was read
-- whole for every candidate and every acknowledged row): they run with the planner held
-- to index scans in index order joined by nested loops.
--
-- A Gist target written directly into chronicle.gist_targets (not through
-- set_gist_target) now gets the same file-name template check, by a trigger. Targets
-- stored before the update are not re-checked; a bad one still makes each write of its
-- type fail with "stored target: ...", as in 0.1.0, until it is set again.
--
-- The queue's functions are not copied here: the step to the current release includes
-- their current definitions (docs/upgrades.md), with the grants they have kept.
-- tests/integration/upgrade.sh checks that the chain of steps ends exactly at a fresh
-- install.

\echo Use "ALTER EXTENSION pg_chronicle UPDATE TO '0.2.0'" to load this file. \quit

CREATE FUNCTION chronicle.gist_targets_check() RETURNS trigger
LANGUAGE c
AS 'MODULE_PATHNAME', 'gist_targets_check_wrapper';
COMMENT ON FUNCTION chronicle.gist_targets_check() IS
  'Trigger: refuses a Gist target whose file-name template cannot name the entities of its type (22023)';

CREATE TRIGGER gist_targets_check
    BEFORE INSERT OR UPDATE OF entity_type, filename_template ON chronicle.gist_targets
    FOR EACH ROW EXECUTE FUNCTION chronicle.gist_targets_check();

-- A fresh install grants every function of the schema to its installer (with the right to
-- grant it on) and to service_role where that role exists (sql/finalize.sql). Whoever
-- that was, the other trigger function of 0.1.0 carries exactly those grants: copy them.
DO $$
DECLARE
  item record;
BEGIN
  FOR item IN
    SELECT a.grantee::regrole AS grantee, a.is_grantable
      FROM pg_catalog.pg_proc p,
           pg_catalog.aclexplode(p.proacl) WITH ORDINALITY AS a(grantor, grantee, privilege_type, is_grantable, n)
     WHERE p.oid = 'chronicle.command_executions_lifecycle()'::pg_catalog.regprocedure
       AND a.privilege_type = 'EXECUTE' AND a.grantee <> 0
     ORDER BY a.n
  LOOP
    EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION chronicle.gist_targets_check() TO %s%s',
                              item.grantee, CASE WHEN item.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
  END LOOP;
END
$$;
