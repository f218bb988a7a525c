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
-- Same signatures for every function that existed: CREATE OR REPLACE keeps the grants.

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

-- The functions below are copies of sql/export_queue.sql (tests/integration/upgrade.sh
-- compares them with a fresh install).
-- BEGIN functions from sql/export_queue.sql
CREATE FUNCTION chronicle.export_advance(gist_ids text[], file_names text[]) RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
SET enable_bitmapscan = off
SET enable_sort = off
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$
DECLARE
  advanced integer;
BEGIN
  UPDATE chronicle.gist_export_queue q
     SET status = 'pending'
    FROM unnest(gist_ids, file_names) AS f(gist_id, file_name)
   CROSS JOIN LATERAL (
         SELECT w.id
           FROM chronicle.gist_export_queue w
          WHERE w.gist_id = f.gist_id AND w.file_name = f.file_name AND w.stage = 'waiting'
          ORDER BY w.id
          LIMIT 1) next_head
   WHERE q.id = next_head.id;
  GET DIAGNOSTICS advanced = ROW_COUNT;
  RETURN advanced;
END
$$;

COMMENT ON FUNCTION chronicle.export_advance(text[], text[]) IS
  'Makes the next waiting export of each given file its head; called after a file''s head is done or dead';

CREATE OR REPLACE FUNCTION chronicle.export_claim(batch integer DEFAULT 10, lease interval DEFAULT '1 minute')
RETURNS TABLE (
    id bigint, lease_token uuid, attempt integer, gist_id text, file_name text,
    operation text, payload text, mode text,
    entity_type text, entity_id text, version integer, checksum text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
SET enable_bitmapscan = off
SET enable_sort = off
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$
BEGIN
  IF batch IS NULL OR batch < 1 OR batch > 10000 THEN
    RAISE EXCEPTION 'batch must be between 1 and 10000, not %', coalesce(batch::text, 'NULL')
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF lease IS NULL OR lease <= interval '0' THEN
    RAISE EXCEPTION 'lease must be a positive interval, not %', coalesce(lease::text, 'NULL')
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  RETURN QUERY
  WITH candidates AS (
    SELECT q.id
      FROM chronicle.gist_export_queue q
     WHERE q.stage = 'head'
       AND (q.status = 'pending' OR (q.status = 'in_flight' AND q.lease_expires_at <= clock_timestamp()))
       AND q.available_at <= clock_timestamp()
     ORDER BY q.id
     LIMIT batch
       FOR UPDATE SKIP LOCKED)
  UPDATE chronicle.gist_export_queue q
     SET status = 'in_flight', lease_token = gen_random_uuid(),
         lease_expires_at = clock_timestamp() + lease, attempt = q.attempt + 1
    FROM candidates c
   WHERE q.id = c.id
  RETURNING q.id, q.lease_token, q.attempt, q.gist_id, q.file_name, q.operation, q.payload,
            q.mode, q.entity_type, q.entity_id, q.version, q.checksum;
END
$$;

CREATE OR REPLACE FUNCTION chronicle.export_ack(id bigint, lease_token uuid, gist_revision text) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
SET enable_bitmapscan = off
SET enable_sort = off
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$
DECLARE
  acked bigint;
  advanced integer;
BEGIN
  -- export_advance runs once the UPDATE has finished (see there why that matters).
  WITH done AS (
    UPDATE chronicle.gist_export_queue q
       SET status = 'done', done_at = clock_timestamp(), gist_revision = export_ack.gist_revision,
           lease_token = NULL, lease_expires_at = NULL, last_error = NULL
     WHERE q.id = export_ack.id AND q.lease_token = export_ack.lease_token
    RETURNING q.gist_id, q.file_name)
  SELECT count(*), chronicle.export_advance(array_agg(done.gist_id), array_agg(done.file_name))
    INTO acked, advanced
    FROM done;
  IF acked = 0 THEN
    PERFORM chronicle.export_stale_lease(export_ack.id);
  END IF;
END
$$;

CREATE OR REPLACE FUNCTION chronicle.export_ack_all(ids bigint[], lease_tokens uuid[], gist_revision text) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '200ms'
SET enable_seqscan = off
SET enable_bitmapscan = off
SET enable_sort = off
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$
DECLARE
  acked bigint[];
  advanced integer;
  stale bigint;
BEGIN
  IF cardinality(ids) IS DISTINCT FROM cardinality(lease_tokens) THEN
    RAISE EXCEPTION 'ids and lease_tokens must be arrays of the same length'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  WITH done AS (
    UPDATE chronicle.gist_export_queue q
       SET status = 'done', done_at = clock_timestamp(), gist_revision = export_ack_all.gist_revision,
           lease_token = NULL, lease_expires_at = NULL, last_error = NULL
     WHERE q.id = ANY (ids) AND q.lease_token = lease_tokens[array_position(ids, q.id)]
    RETURNING q.id, q.gist_id, q.file_name)
  SELECT coalesce(array_agg(done.id), '{}'), chronicle.export_advance(array_agg(done.gist_id), array_agg(done.file_name))
    INTO acked, advanced
    FROM done;
  -- Fewer rows than ids: one was not under its lease (or an id came twice, or is NULL).
  IF cardinality(acked) < cardinality(ids) THEN
    SELECT u.i INTO stale
      FROM unnest(ids) WITH ORDINALITY AS u(i, n)
     WHERE u.i IS NULL OR u.i <> ALL (acked)
     ORDER BY u.n
     LIMIT 1;
    IF FOUND THEN
      PERFORM chronicle.export_stale_lease(stale);
    END IF;
  END IF;
END
$$;

CREATE OR REPLACE FUNCTION chronicle.export_fail(id bigint, lease_token uuid, error text, retry_after interval DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
SET enable_bitmapscan = off
SET enable_sort = off
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$
DECLARE
  -- The setting exists once the extension's library is loaded; an exporter's session may
  -- only have called SQL functions, so fall back to the setting's default.
  max_attempts integer := coalesce(nullif(current_setting('chronicle.export_max_attempts', true), '')::integer, 10);
  new_status text;
  failed_gist_id text;
  failed_file_name text;
BEGIN
  IF retry_after < interval '0' THEN
    RAISE EXCEPTION 'retry_after must not be negative, not %', retry_after
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  UPDATE chronicle.gist_export_queue q
     SET status = CASE WHEN q.attempt >= max_attempts THEN 'dead' ELSE 'pending' END,
         available_at = clock_timestamp() + coalesce(
             retry_after,
             least(interval '1 hour', interval '2 seconds' * power(2, least(q.attempt - 1, 20)))
               * (0.5 + random())),
         last_error = export_fail.error, lease_token = NULL, lease_expires_at = NULL
   WHERE q.id = export_fail.id AND q.lease_token = export_fail.lease_token
  RETURNING q.status, q.gist_id, q.file_name INTO new_status, failed_gist_id, failed_file_name;
  IF NOT FOUND THEN
    PERFORM chronicle.export_stale_lease(export_fail.id);
  END IF;
  -- A dead export no longer holds its file back.
  IF new_status = 'dead' THEN
    PERFORM chronicle.export_advance(ARRAY[failed_gist_id], ARRAY[failed_file_name]);
  END IF;
END
$$;

CREATE OR REPLACE FUNCTION chronicle.export_redrive() RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  redriven bigint;
BEGIN
  LOCK TABLE chronicle.gist_export_queue IN SHARE ROW EXCLUSIVE MODE;
  UPDATE chronicle.gist_export_queue q
     SET status = 'done', done_at = clock_timestamp(), last_error = 'superseded by a newer export: ' || q.last_error
   WHERE q.status = 'dead' AND q.mode = 'latest'
     AND EXISTS (SELECT FROM chronicle.gist_export_queue newer
                  WHERE newer.gist_id = q.gist_id AND newer.file_name = q.file_name AND newer.id > q.id);
  UPDATE chronicle.gist_export_queue q
     SET status = 'waiting', attempt = 0, available_at = clock_timestamp()
   WHERE q.status = 'dead';
  GET DIAGNOSTICS redriven = ROW_COUNT;
  -- Every file without a head: its oldest waiting export becomes the head.
  UPDATE chronicle.gist_export_queue q
     SET status = 'pending'
    FROM (SELECT DISTINCT ON (w.gist_id, w.file_name) w.id
            FROM chronicle.gist_export_queue w
           WHERE w.stage = 'waiting'
             AND NOT EXISTS (SELECT FROM chronicle.gist_export_queue h
                              WHERE h.gist_id = w.gist_id AND h.file_name = w.file_name AND h.stage = 'head')
           ORDER BY w.gist_id, w.file_name, w.id) next_head
   WHERE q.id = next_head.id;
  IF redriven > 0 THEN
    PERFORM pg_notify('chronicle_export', '');
  END IF;
  RETURN redriven;
END
$$;

CREATE OR REPLACE FUNCTION chronicle.export_stats()
RETURNS TABLE (pending bigint, in_flight bigint, done bigint, dead bigint, oldest_pending_age interval)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT count(*) FILTER (WHERE q.status IN ('waiting', 'pending')),
         count(*) FILTER (WHERE q.status = 'in_flight'),
         count(*) FILTER (WHERE q.status = 'done'),
         count(*) FILTER (WHERE q.status = 'dead'),
         now() - min(q.enqueued_at) FILTER (WHERE q.status IN ('waiting', 'pending'))
    FROM chronicle.gist_export_queue q;
END;

CREATE OR REPLACE FUNCTION chronicle.prune_export_queue(older_than interval) RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  pruned bigint;
BEGIN
  IF older_than IS NULL OR older_than < interval '0' THEN
    RAISE EXCEPTION 'older_than must be a non-negative interval, not %', coalesce(older_than::text, 'NULL')
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  DELETE FROM chronicle.gist_export_queue q
   WHERE q.stage = 'finished' AND q.status = 'done' AND q.done_at < clock_timestamp() - older_than;
  GET DIAGNOSTICS pruned = ROW_COUNT;
  RETURN pruned;
END
$$;

COMMENT ON FUNCTION chronicle.export_claim(integer, interval) IS
  'Claims up to batch exports under a lease (FOR UPDATE SKIP LOCKED): files'' heads (their oldest unfinished exports), oldest first';

COMMENT ON FUNCTION chronicle.export_ack_all(bigint[], uuid[], text) IS
  'Marks several claimed exports delivered by one Gist revision, in one statement; all or nothing (55000 naming a row not under its lease; 55P03 after 200 ms waiting for a writer)';

COMMENT ON FUNCTION chronicle.export_redrive() IS
  'Puts dead exports back in the queue, each behind its file''s head (closing those a newer export of the same file superseded, in latest mode); returns how many';

COMMENT ON FUNCTION chronicle.export_stats() IS 'Queue counts by status (pending counts the waiting too) and the age of the oldest pending export';

-- END functions from sql/export_queue.sql

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
