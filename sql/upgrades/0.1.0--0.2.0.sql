-- pg_chronicle 0.1.0 -> 0.2.0
--
-- export_claim no longer reads the whole backlog when a few files carry it: with
-- every_version targets on hot entities the front of the queue is all exports waiting
-- behind their file's oldest one, and a claim read on in id order through all of them
-- (tens of milliseconds per claim at 30,000 queued, so exporters fell behind). It now
-- reads a bounded front and then steps from file to file (sql/export_queue.sql says how).
-- Same signature, same results, same privileges: CREATE OR REPLACE keeps the grants and
-- the comment.
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
-- tests/integration/upgrade.sh checks that an updated database has the same objects,
-- definitions, privileges and comments as a fresh 0.2.0 install.

\echo Use "ALTER EXTENSION pg_chronicle UPDATE TO '0.2.0'" to load this file. \quit

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
DECLARE
  window_rows integer;
  front_first bigint;
  front_last bigint;
  front_rows integer;
  claimed integer;
  unfinished_first bigint;
  unfinished_last bigint;
  start_id bigint;
  start_gist_id text;
  start_file_name text;
BEGIN
  IF batch IS NULL OR batch < 1 OR batch > 10000 THEN
    RAISE EXCEPTION 'batch must be between 1 and 10000, not %', coalesce(batch::text, 'NULL')
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF lease IS NULL OR lease <= interval '0' THEN
    RAISE EXCEPTION 'lease must be a positive interval, not %', coalesce(lease::text, 'NULL')
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  window_rows := 2 * batch + 32;
  -- A file's head is its oldest unfinished export; only heads are claimable. Two ways to
  -- find them. The front of the queue (in id order) holds the heads when the backlog is
  -- spread over many files, so look there first: a bounded window of claimable rows.
  SELECT min(f.id), max(f.id), count(*)
    INTO front_first, front_last, front_rows
    FROM (SELECT q.id
            FROM chronicle.gist_export_queue q
           WHERE (q.status = 'pending' OR (q.status = 'in_flight' AND q.lease_expires_at <= clock_timestamp()))
             AND q.available_at <= clock_timestamp()
           ORDER BY q.id
           LIMIT window_rows) f;
  IF front_rows = 0 THEN
    RETURN;
  END IF;
  -- The same index, read again from the window's first row (not through the rows
  -- delivered but not yet vacuumed before it), stops after the batch.
  RETURN QUERY
  WITH candidates AS (
    SELECT q.id
      FROM chronicle.gist_export_queue q
     WHERE q.id BETWEEN front_first AND front_last
       AND (q.status = 'pending' OR (q.status = 'in_flight' AND q.lease_expires_at <= clock_timestamp()))
       AND q.available_at <= clock_timestamp()
       -- The oldest unfinished export of its file. A scalar subquery stays one index
       -- probe per candidate; a NOT EXISTS became an anti-join that, planned from the
       -- statistics of an empty queue, read the whole index for every candidate.
       AND q.id = (SELECT oldest.id
                     FROM chronicle.gist_export_queue oldest
                    WHERE oldest.gist_id = q.gist_id AND oldest.file_name = q.file_name
                      AND oldest.status IN ('pending', 'in_flight')
                    ORDER BY oldest.id
                    LIMIT 1)
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
  GET DIAGNOSTICS claimed = ROW_COUNT;
  -- A window that was not full held every claimable row: nothing more to find.
  IF claimed = batch OR front_rows < window_rows THEN
    RETURN;
  END IF;
  -- Short: a few files carry a deep backlog (every_version on hot entities), so the front
  -- is mostly exports waiting behind their file's head, and reading on in id order could
  -- cost the whole backlog. Step from file to file through gist_export_queue_unfinished
  -- instead, one index probe per file, until enough heads are claimed. The walk starts at
  -- the file of a random unfinished export and wraps around, so that files late in name
  -- order are not starved by early ones that always have a head to send.
  SELECT min(u.id), max(u.id) INTO unfinished_first, unfinished_last
    FROM chronicle.gist_export_queue u
   WHERE u.status IN ('pending', 'in_flight');
  -- The start is kept in variables, not computed in the queries, so that the planner
  -- sees each comparison against a known value and reads the index from there.
  start_id := unfinished_first + floor(random() * (unfinished_last - unfinished_first + 1))::bigint;
  SELECT u.gist_id, u.file_name INTO start_gist_id, start_file_name
    FROM chronicle.gist_export_queue u
   WHERE u.status IN ('pending', 'in_flight') AND u.id >= start_id
   ORDER BY u.id
   LIMIT 1;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  RETURN QUERY
  WITH RECURSIVE
  -- The files from the start to the end of the name order, then from the beginning up to
  -- the start: each step is the next file's first unfinished export, its head.
  from_start AS (
    (SELECT u.gist_id, u.file_name, u.id
       FROM chronicle.gist_export_queue u
      WHERE u.status IN ('pending', 'in_flight')
        AND (u.gist_id, u.file_name) >= (start_gist_id, start_file_name)
      ORDER BY u.gist_id, u.file_name, u.id
      LIMIT 1)
    UNION ALL
    SELECT next_file.*
      FROM from_start h
     CROSS JOIN LATERAL (
           SELECT u.gist_id, u.file_name, u.id
             FROM chronicle.gist_export_queue u
            WHERE u.status IN ('pending', 'in_flight')
              AND (u.gist_id, u.file_name) > (h.gist_id, h.file_name)
            ORDER BY u.gist_id, u.file_name, u.id
            LIMIT 1) next_file),
  up_to_start AS (
    (SELECT u.gist_id, u.file_name, u.id
       FROM chronicle.gist_export_queue u
      WHERE u.status IN ('pending', 'in_flight')
        AND (u.gist_id, u.file_name) < (start_gist_id, start_file_name)
      ORDER BY u.gist_id, u.file_name, u.id
      LIMIT 1)
    UNION ALL
    SELECT next_file.*
      FROM up_to_start h
     CROSS JOIN LATERAL (
           SELECT u.gist_id, u.file_name, u.id
             FROM chronicle.gist_export_queue u
            WHERE u.status IN ('pending', 'in_flight')
              AND (u.gist_id, u.file_name) > (h.gist_id, h.file_name)
              AND (u.gist_id, u.file_name) < (start_gist_id, start_file_name)
            ORDER BY u.gist_id, u.file_name, u.id
            LIMIT 1) next_file),
  -- At most a fixed number of files per claim, so that a claim stays cheap when many
  -- files have nothing claimable (all in backoff while GitHub is down); the next claim
  -- starts elsewhere.
  heads AS (
    SELECT walk.id
      FROM (SELECT f.id FROM from_start f
            UNION ALL
            SELECT f.id FROM up_to_start f) walk
     LIMIT (batch - claimed) * 8 + 1000),
  candidates AS (
    -- No ORDER BY: the walk is read lazily and stops once the batch is full.
    SELECT q.id
      FROM heads h JOIN chronicle.gist_export_queue q ON q.id = h.id
     WHERE (q.status = 'pending' OR (q.status = 'in_flight' AND q.lease_expires_at <= clock_timestamp()))
       AND q.available_at <= clock_timestamp()
     LIMIT batch - claimed
       FOR UPDATE OF q SKIP LOCKED)
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
BEGIN
  UPDATE chronicle.gist_export_queue q
     SET status = 'done', done_at = clock_timestamp(), gist_revision = export_ack.gist_revision,
         lease_token = NULL, lease_expires_at = NULL, last_error = NULL
   WHERE q.id = export_ack.id AND q.lease_token = export_ack.lease_token;
  IF NOT FOUND THEN
    PERFORM chronicle.export_stale_lease(export_ack.id);
  END IF;
END
$$;

CREATE OR REPLACE FUNCTION chronicle.export_ack_all(ids bigint[], lease_tokens uuid[], gist_revision text) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
SET enable_bitmapscan = off
SET enable_sort = off
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$
DECLARE
  acked bigint[];
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
    RETURNING q.id)
  SELECT coalesce(array_agg(done.id), '{}') INTO acked FROM done;
  SELECT min(i) INTO stale FROM unnest(ids) AS i WHERE i <> ALL (acked);
  IF stale IS NOT NULL THEN
    PERFORM chronicle.export_stale_lease(stale);
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
   WHERE q.id = export_fail.id AND q.lease_token = export_fail.lease_token;
  IF NOT FOUND THEN
    PERFORM chronicle.export_stale_lease(export_fail.id);
  END IF;
END
$$;

CREATE OR REPLACE FUNCTION chronicle.export_release(id bigint, lease_token uuid, retry_after interval DEFAULT '0 seconds')
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
SET enable_bitmapscan = off
SET enable_sort = off
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$
BEGIN
  UPDATE chronicle.gist_export_queue q
     SET status = 'pending', attempt = greatest(q.attempt - 1, 0),
         available_at = clock_timestamp() + greatest(coalesce(export_release.retry_after, interval '0'), interval '0'),
         lease_token = NULL, lease_expires_at = NULL
   WHERE q.id = export_release.id AND q.lease_token = export_release.lease_token;
  IF NOT FOUND THEN
    PERFORM chronicle.export_stale_lease(export_release.id);
  END IF;
END
$$;

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
