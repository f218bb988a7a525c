-- pg_chronicle 0.2.0 -> 0.3.0
--
-- The export queue keeps each file's head explicit. Only a file's oldest unfinished
-- export (its head) is pending or in flight; the exports behind it are 'waiting', a new
-- status, and whoever finishes a head makes the next one the head. A claim is then the
-- plain SKIP LOCKED claim over heads: 0.2.0 looked for heads at every claim, reading a
-- window of the queue and checking each candidate against its file, and with several
-- consumers it fell well behind a plain queue table. A unique index now enforces one head
-- per file, which 0.2.0 only kept by its claim's check.
--
-- The update sorts the rows already queued: each file's oldest pending or in-flight
-- export stays its head and the rest wait behind it. Under 0.2.0 a file had at most one
-- export in flight unless a redrive put an older one back; such a second lease is
-- withdrawn here (its ack is refused as stale and the export is delivered again).
--
-- The indexes look at a new generated column, stage (head, waiting or finished), rather
-- than at status, so that a claim rewrites its rows in place. With 4 and 8 consumers the
-- queue benchmark now moves about 0.9x the exports of a plain SKIP LOCKED table (0.2.0:
-- 0.03-0.78x, and unstable).
--
-- The queue's functions are not copied here: the step to the current release includes
-- their current definitions (docs/upgrades.md), with the grants they have kept.

ALTER TABLE chronicle.gist_export_queue DROP CONSTRAINT gist_export_queue_status_check;
UPDATE chronicle.gist_export_queue q
   SET status = 'waiting', lease_token = NULL, lease_expires_at = NULL
 WHERE q.status IN ('pending', 'in_flight')
   AND EXISTS (SELECT FROM chronicle.gist_export_queue older
                WHERE older.gist_id = q.gist_id AND older.file_name = q.file_name
                  AND older.status IN ('pending', 'in_flight') AND older.id < q.id);
ALTER TABLE chronicle.gist_export_queue
  ADD CONSTRAINT gist_export_queue_status_check CHECK (status IN ('waiting', 'pending', 'in_flight', 'done', 'dead'));
COMMENT ON COLUMN chronicle.gist_export_queue.status IS
  'waiting (behind an unfinished export of its file), pending (its file''s head, claimable), in_flight (claimed under a lease), done or dead (out of attempts)';

-- The indexes look at a stage derived from the status, so that a claim updates its rows
-- in place (HOT) instead of adding an entry to every index; the room for that on each
-- page is the lower fillfactor. Adding the stored column rewrites the table.
ALTER TABLE chronicle.gist_export_queue
  ADD COLUMN stage text NOT NULL GENERATED ALWAYS AS (
                         CASE WHEN status IN ('pending', 'in_flight') THEN 'head'
                              WHEN status = 'waiting' THEN 'waiting'
                              ELSE 'finished' END) STORED;
COMMENT ON COLUMN chronicle.gist_export_queue.stage IS
  'Derived from status: head (pending or in_flight), waiting, or finished (done or dead); what the indexes look at, so that claims update rows in place';
-- Reset and set again, so that the options read as in a fresh install.
ALTER TABLE chronicle.gist_export_queue
  RESET (fillfactor, autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold,
         autovacuum_vacuum_cost_delay, autovacuum_analyze_scale_factor);
ALTER TABLE chronicle.gist_export_queue SET (
    fillfactor = 50,
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 2000,
    autovacuum_vacuum_cost_delay = 0,
    autovacuum_analyze_scale_factor = 0.05
);

DROP INDEX chronicle.gist_export_queue_claimable;
DROP INDEX chronicle.gist_export_queue_unfinished;
DROP INDEX chronicle.gist_export_queue_one_pending_latest;
DROP INDEX chronicle.gist_export_queue_done;
CREATE INDEX gist_export_queue_claimable
    ON chronicle.gist_export_queue (id)
    WHERE stage = 'head';
CREATE UNIQUE INDEX gist_export_queue_head
    ON chronicle.gist_export_queue (gist_id, file_name)
    WHERE stage = 'head';
CREATE INDEX gist_export_queue_waiting
    ON chronicle.gist_export_queue (gist_id, file_name, id)
    WHERE stage = 'waiting';
CREATE INDEX gist_export_queue_finished ON chronicle.gist_export_queue (done_at) WHERE stage = 'finished';

-- New in 0.3.0, declared where a fresh 0.3.0 install has it, so that it gets its
-- privileges. The queue's definitions are the current release's (sql/export_queue.sql),
-- which the step to it includes: an update goes to the current release
-- (docs/upgrades.md), and until it has, this says so.
CREATE FUNCTION chronicle.export_advance(gist_ids text[], file_names text[]) RETURNS integer
LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'pg_chronicle is between releases: run ALTER EXTENSION pg_chronicle UPDATE' USING ERRCODE = 'object_not_in_prerequisite_state'; END $$;

-- A fresh install grants every function of the schema to its installer (with the right to
-- grant it on) and to service_role where that role exists (sql/finalize.sql), and leaves
-- export_advance, like export_stale_lease, executable by PUBLIC. Whoever the installer
-- was, export_stale_lease carries exactly those grants: copy them.
DO $$
DECLARE
  item record;
BEGIN
  FOR item IN
    SELECT a.grantee::regrole AS grantee, a.is_grantable
      FROM pg_catalog.pg_proc p,
           pg_catalog.aclexplode(p.proacl) WITH ORDINALITY AS a(grantor, grantee, privilege_type, is_grantable, n)
     WHERE p.oid = 'chronicle.export_stale_lease(bigint)'::pg_catalog.regprocedure
       AND a.privilege_type = 'EXECUTE' AND a.grantee <> 0
     ORDER BY a.n
  LOOP
    EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION chronicle.export_advance(text[], text[]) TO %s%s',
                              item.grantee, CASE WHEN item.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
  END LOOP;
END
$$;
