-- The export queue's functions: claim, ack, fail, release, redrive and their internal
-- helpers (the statements that enqueue are in sql/export_queue/, the table in
-- sql/export.sql). The protocol (heads, waiting exports, leases, tokens, coalescing,
-- backoff, dead rows) is explained once, in docs/export-queue.md; the comments here say
-- why each statement is written as it is.
--
-- Every definition here can run again (CREATE OR REPLACE): an upgrade step includes this
-- file whole (sql/upgrades/) instead of copying it.
--
-- Nobody but the extension's owner writes the queue table: the functions that change it
-- are SECURITY DEFINER (with search_path pinned), so an exporter needs EXECUTE on them and
-- no right on the table. They reach only the queue and each other; no role can attach a
-- trigger to the queue.
--
-- Claim, ack, fail and release run with the planner held to index scans in index order
-- joined by nested loops (the SET enable_* lines). Their plans must not follow the
-- queue's statistics, which are often stale: the queue empties and fills in bursts.
-- Analyzed while empty and then given 50,000 exports, the planner took the queue for one
-- row and read all of it for every claim and every row of an ack (10 to 100 ms each,
-- measured) until the next autoanalyze. For the same reason ack, fail and release find
-- their rows by id and lease token alone: a row carries a lease token only while in
-- flight (claim sets it; ack, fail and release clear it), so the token is the status
-- check, and a condition on status would let the planner, misled by the statistics of an
-- empty queue, prefer reading a whole partial index to the primary key.
--
-- They also run with plan_cache_mode = force_generic_plan: their statements are planned
-- once per session and kept. Left to choose, the plan cache replanned the claim at every
-- call (a generic plan of LIMIT batch looks dearer than a custom one), and planning was
-- a fifth of a claim's time (measured with perf, one consumer).
--
-- The same functions run with jit off. A disabled plan node is costed at 1e10, which is
-- past jit_above_cost, so with JIT available every call compiled its query: 192 ms for an
-- ack of ten exports against 4 ms without (PostgreSQL 17, 0.4.0). Their queries touch a
-- handful of rows; compiling never pays.

CREATE OR REPLACE FUNCTION chronicle.export_claim(batch integer DEFAULT 10, lease interval DEFAULT '1 minute')
RETURNS TABLE (
    id bigint, lease_token uuid, attempt integer, gist_id text, file_name text,
    operation text, payload text, mode text,
    entity_type text, entity_id text, version integer, checksum text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
SET enable_bitmapscan = off
SET enable_sort = off
SET enable_hashjoin = off
SET enable_mergejoin = off
SET jit = off
SET plan_cache_mode = force_generic_plan
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
  -- On Citus, the exports that writes on the workers added to the outbox join the queue
  -- first (docs/export-queue.md#on-citus). One server has no outbox to take from, and
  -- this test costs a catalog lookup where the call would cost a statement.
  IF to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL THEN
    PERFORM chronicle._export_take_outbox();
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

-- The files whose head was just finished (delivered or dead): each one's next waiting export
-- becomes its head; returns how many did. Called once the heads are finished (in the
-- statement that finished them, after it has: a volatile function's statement takes a
-- snapshot of its own), so that it sees every export enqueued behind them by a writer
-- that the finishing statement waited for. Only for heads marked has_waiting: whoever
-- queues an export behind a head marks it while holding its lock, so a head finished
-- without the mark has nothing behind it, and most acks skip this statement (it cost a
-- third of an ack of ten, measured). A new head is marked, as more may wait behind it.
--
-- It has no settings of its own: only ack, ack_all and fail call it (nobody else may),
-- and it runs under theirs (search_path and planner settings included).
CREATE OR REPLACE FUNCTION chronicle._export_advance(gist_ids text[], file_names text[]) RETURNS integer
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
  advanced integer;
BEGIN
  UPDATE chronicle.gist_export_queue q
     SET status = 'pending', has_waiting = true
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

-- The row an exporter acts on must still be under the lease it was given.
CREATE OR REPLACE FUNCTION chronicle._export_stale_lease(queue_id bigint) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  RAISE EXCEPTION 'export % is not under this lease', queue_id
    USING ERRCODE = 'object_not_in_prerequisite_state',
          DETAIL = 'The lease expired and the row was claimed again, or it was already acknowledged, failed or released, or the id or token is wrong.',
          HINT = 'Drop the result; the holder of the current lease will deliver it.';
END
$$;

CREATE OR REPLACE FUNCTION chronicle.export_ack(id bigint, lease_token uuid, gist_revision text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
SET enable_bitmapscan = off
SET enable_sort = off
SET enable_hashjoin = off
SET enable_mergejoin = off
SET jit = off
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
  acked bigint;
  advanced integer;
BEGIN
  IF export_ack.gist_revision IS NULL THEN
    RAISE EXCEPTION 'gist_revision must not be NULL: an acknowledgement names the Gist revision that carries the export'
      USING ERRCODE = 'null_value_not_allowed';
  END IF;
  -- The export leaves the queue for the deliveries (sql/export_deliveries.sql);
  -- _export_advance runs once the DELETE has finished (see there why that matters).
  WITH done AS (
    DELETE FROM chronicle.gist_export_queue q
     WHERE q.id = export_ack.id AND q.lease_token = export_ack.lease_token
    RETURNING q.*),
  delivered AS (
    INSERT INTO chronicle.gist_export_deliveries
           (id, gist_id, file_name, operation, mode, entity_type, entity_id, version, checksum,
            payload, attempt, enqueued_at, gist_revision, delivered_at)
    SELECT done.id, done.gist_id, done.file_name, done.operation, done.mode, done.entity_type,
           done.entity_id, done.version, done.checksum, done.payload, done.attempt, done.enqueued_at,
           export_ack.gist_revision, clock_timestamp()
      FROM done)
  SELECT count(*),
         CASE WHEN bool_or(done.has_waiting)
              THEN chronicle._export_advance(array_agg(done.gist_id), array_agg(done.file_name)) END
    INTO acked, advanced
    FROM done;
  IF acked = 0 THEN
    PERFORM chronicle._export_stale_lease(export_ack.id);
  END IF;
END
$$;

-- Several exports delivered by one request (a Gist PATCH carrying several files): one
-- statement. All or nothing: if any row is no longer under its lease, none is
-- acknowledged, and the error names it.
--
-- A writer that queued an export behind one of these heads holds the head's row lock
-- until it commits, and the ack waits for it while holding the rows it has already
-- updated. Should that writer then want one of those (it writes another entity whose
-- head is in the same batch), the two would deadlock, and the deadlock detector might
-- choose the writer. The ack gives up first (lock_timeout, below the default
-- deadlock_timeout of 1 s) with 55P03 and changes nothing; the exporter delivers the
-- exports again once their leases expire.
CREATE OR REPLACE FUNCTION chronicle.export_ack_all(ids bigint[], lease_tokens uuid[], gist_revision text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '200ms'
SET enable_seqscan = off
SET enable_bitmapscan = off
SET enable_sort = off
SET enable_hashjoin = off
SET enable_mergejoin = off
SET jit = off
SET plan_cache_mode = force_generic_plan
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
  IF export_ack_all.gist_revision IS NULL THEN
    RAISE EXCEPTION 'gist_revision must not be NULL: an acknowledgement names the Gist revision that carries the exports'
      USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF ids IS NULL OR lease_tokens IS NULL OR array_position(ids, NULL) IS NOT NULL THEN
    RAISE EXCEPTION 'ids and lease_tokens must not be NULL, nor hold a NULL id'
      USING ERRCODE = 'null_value_not_allowed';
  END IF;
  WITH done AS (
    DELETE FROM chronicle.gist_export_queue q
     USING unnest(ids, lease_tokens) AS presented(id, lease_token)
     WHERE q.id = presented.id AND q.lease_token = presented.lease_token
    RETURNING q.*),
  delivered AS (
    INSERT INTO chronicle.gist_export_deliveries
           (id, gist_id, file_name, operation, mode, entity_type, entity_id, version, checksum,
            payload, attempt, enqueued_at, gist_revision, delivered_at)
    SELECT done.id, done.gist_id, done.file_name, done.operation, done.mode, done.entity_type,
           done.entity_id, done.version, done.checksum, done.payload, done.attempt, done.enqueued_at,
           export_ack_all.gist_revision, clock_timestamp()
      FROM done)
  SELECT coalesce(array_agg(done.id), '{}'),
         CASE WHEN bool_or(done.has_waiting)
              THEN chronicle._export_advance(array_agg(done.gist_id) FILTER (WHERE done.has_waiting),
                                             array_agg(done.file_name) FILTER (WHERE done.has_waiting)) END
    INTO acked, advanced
    FROM done;
  -- Fewer rows than ids: an id came twice, or one was not under its lease. Either error
  -- undoes the statement above.
  IF cardinality(acked) < cardinality(ids) THEN
    -- One token per row: an id given twice could be acknowledged under either token.
    IF cardinality(ids) > (SELECT count(DISTINCT u.i) FROM unnest(ids) AS u(i)) THEN
      RAISE EXCEPTION 'ids must not repeat an export'
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT u.i INTO stale
      FROM unnest(ids) WITH ORDINALITY AS u(i, n)
     WHERE u.i IS NULL OR u.i <> ALL (acked)
     ORDER BY u.n
     LIMIT 1;
    IF FOUND THEN
      PERFORM chronicle._export_stale_lease(stale);
    END IF;
  END IF;
END
$$;

-- Failed: back to pending after an exponential backoff with jitter (or after GitHub's
-- Retry-After), or dead once the row has had chronicle.export_max_attempts attempts.
CREATE OR REPLACE FUNCTION chronicle.export_fail(id bigint, lease_token uuid, error text, retry_after interval DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
SET enable_bitmapscan = off
SET enable_sort = off
SET enable_hashjoin = off
SET enable_mergejoin = off
SET jit = off
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
  -- The setting exists once the extension's library is loaded; an exporter's session may
  -- only have called SQL functions, so fall back to the setting's default.
  max_attempts integer := coalesce(nullif(current_setting('chronicle.export_max_attempts', true), '')::integer, 10);
  new_status text;
  failed_gist_id text;
  failed_file_name text;
  failed_has_waiting boolean;
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
  RETURNING q.status, q.gist_id, q.file_name, q.has_waiting
       INTO new_status, failed_gist_id, failed_file_name, failed_has_waiting;
  IF NOT FOUND THEN
    PERFORM chronicle._export_stale_lease(export_fail.id);
  END IF;
  -- A dead export no longer holds its file back.
  IF new_status = 'dead' AND failed_has_waiting THEN
    PERFORM chronicle._export_advance(ARRAY[failed_gist_id], ARRAY[failed_file_name]);
  END IF;
END
$$;

-- Given back without having been tried (the exporter is stopping, or GitHub's rate
-- limit is exhausted): pending again, and the attempt does not count.
CREATE OR REPLACE FUNCTION chronicle.export_release(id bigint, lease_token uuid, retry_after interval DEFAULT '0 seconds')
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
SET enable_bitmapscan = off
SET enable_sort = off
SET enable_hashjoin = off
SET enable_mergejoin = off
SET jit = off
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
  UPDATE chronicle.gist_export_queue q
     SET status = 'pending', attempt = greatest(q.attempt - 1, 0),
         available_at = clock_timestamp() + greatest(coalesce(export_release.retry_after, interval '0'), interval '0'),
         lease_token = NULL, lease_expires_at = NULL
   WHERE q.id = export_release.id AND q.lease_token = export_release.lease_token;
  IF NOT FOUND THEN
    PERFORM chronicle._export_stale_lease(export_release.id);
  END IF;
END
$$;

-- Dead rows back to the queue with fresh attempts, each behind its file's head if the file
-- has one. In latest mode a dead row that a newer export of its file has superseded is
-- dropped instead: sending it now would put old content over newer. In every_version mode
-- each version must still become its own revision, so a superseded dead row is delivered,
-- and the file's newest export is queued again behind it: the file always ends at the
-- newest content, never at the redriven one (the newest export may have been delivered
-- already: the deliveries keep its content until pruned). The queue is locked
-- against writes meanwhile (enqueueing, claims and acks wait), so that a file cannot gain
-- a head between the check for one and the promotion of its redriven export.
CREATE OR REPLACE FUNCTION chronicle.export_redrive() RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  redriven bigint;
BEGIN
  LOCK TABLE chronicle.gist_export_queue IN SHARE ROW EXCLUSIVE MODE;
  DELETE FROM chronicle.gist_export_queue q
   WHERE q.status = 'dead' AND q.mode = 'latest'
     AND (EXISTS (SELECT FROM chronicle.gist_export_queue newer
                   WHERE newer.gist_id = q.gist_id AND newer.file_name = q.file_name AND newer.id > q.id)
          OR EXISTS (SELECT FROM chronicle.gist_export_deliveries newer
                      WHERE newer.gist_id = q.gist_id AND newer.file_name = q.file_name AND newer.id > q.id));
  WITH revived AS (
    UPDATE chronicle.gist_export_queue q
       SET status = 'waiting', attempt = 0, available_at = clock_timestamp()
     WHERE q.status = 'dead'
    RETURNING q.id, q.gist_id, q.file_name),
  exports AS (
    SELECT e.id, e.gist_id, e.file_name, e.operation, e.mode, e.entity_type, e.entity_id, e.version,
           e.checksum, e.payload
      FROM chronicle.gist_export_queue e
    UNION ALL
    SELECT d.id, d.gist_id, d.file_name, d.operation, d.mode, d.entity_type, d.entity_id, d.version,
           d.checksum, d.payload
      FROM chronicle.gist_export_deliveries d),
  superseded AS (
    SELECT r.gist_id, r.file_name, max(n.id) AS newest
      FROM revived r
      JOIN exports n ON n.gist_id = r.gist_id AND n.file_name = r.file_name AND n.id > r.id
     GROUP BY r.gist_id, r.file_name),
  newest_again AS (
    -- The file's newest export, queued again behind the revived ones (unless it is one).
    INSERT INTO chronicle.gist_export_queue
           (gist_id, file_name, operation, mode, entity_type, entity_id, version, checksum, payload, status)
    SELECT n.gist_id, n.file_name, n.operation, n.mode, n.entity_type, n.entity_id, n.version, n.checksum,
           n.payload, 'waiting'
      FROM superseded s
      JOIN exports n ON n.id = s.newest
     WHERE s.newest NOT IN (SELECT r.id FROM revived r)
    RETURNING 1)
  SELECT count(*) INTO redriven FROM revived;
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
  -- Every head with exports now behind it is marked, as enqueueing marks the heads it
  -- queues behind.
  UPDATE chronicle.gist_export_queue h
     SET has_waiting = true
   WHERE h.stage = 'head' AND NOT h.has_waiting
     AND EXISTS (SELECT FROM chronicle.gist_export_queue w
                  WHERE w.gist_id = h.gist_id AND w.file_name = h.file_name AND w.stage = 'waiting');
  IF redriven > 0 THEN
    PERFORM pg_notify('chronicle_export', '');
  END IF;
  RETURN redriven;
END
$$;

-- How far behind the exporters are and how fast they catch up: the backlog, its oldest
-- export's age, the exports delivered in the last ten minutes as a rate per minute, and
-- the time the backlog takes at that rate (NULL when nothing is pending or nothing was
-- delivered lately). With the write budget spent, an every_version backlog grows
-- visibly here instead of the exporters exceeding GitHub's limits.
-- PL/pgSQL rather than SQL: on Citus the outbox is distributed, and Citus plans no
-- statement of a SQL function on a distributed table.
CREATE OR REPLACE FUNCTION chronicle.export_stats()
RETURNS TABLE (pending bigint, in_flight bigint, done bigint, dead bigint, oldest_pending_age interval,
               drain_per_minute double precision, estimated_drain_time interval)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  in_outbox bigint := (SELECT count(*) FROM chronicle.gist_export_outbox);
BEGIN
  RETURN QUERY
  WITH counts AS (
    SELECT count(*) FILTER (WHERE q.status IN ('waiting', 'pending')) + in_outbox AS pending,
           count(*) FILTER (WHERE q.status = 'in_flight') AS in_flight,
           count(*) FILTER (WHERE q.status = 'dead') AS dead,
           now() - min(q.enqueued_at) FILTER (WHERE q.status IN ('waiting', 'pending')) AS oldest_pending_age
      FROM chronicle.gist_export_queue q),
  delivered AS (
    SELECT count(*) AS done,
           count(*) FILTER (WHERE d.delivered_at > now() - interval '10 minutes') / 10.0 AS drain_per_minute
      FROM chronicle.gist_export_deliveries d)
  SELECT c.pending, c.in_flight, d.done, c.dead, c.oldest_pending_age,
         d.drain_per_minute::double precision,
         CASE WHEN c.pending + c.in_flight > 0 AND d.drain_per_minute > 0
              THEN make_interval(secs => ((c.pending + c.in_flight) / d.drain_per_minute * 60)::double precision) END
    FROM counts c, delivered d;
END
$$;

CREATE OR REPLACE FUNCTION chronicle.prune_export_queue(older_than interval) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  pruned bigint;
BEGIN
  IF older_than IS NULL OR older_than < interval '0' THEN
    RAISE EXCEPTION 'older_than must be a non-negative interval, not %', coalesce(older_than::text, 'NULL')
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  DELETE FROM chronicle.gist_export_deliveries d
   WHERE d.delivered_at < clock_timestamp() - older_than;
  GET DIAGNOSTICS pruned = ROW_COUNT;
  RETURN pruned;
END
$$;

-- Every target is checked, however it is written (set_gist_target or directly).
CREATE OR REPLACE TRIGGER gist_targets_check
    BEFORE INSERT OR UPDATE OF entity_type, gist_id, filename_template ON chronicle.gist_targets
    FOR EACH ROW EXECUTE FUNCTION chronicle.gist_targets_check();

CREATE OR REPLACE FUNCTION chronicle.remove_gist_target(entity_type text) RETURNS boolean
LANGUAGE sql VOLATILE STRICT
BEGIN ATOMIC
  WITH removed AS (
    DELETE FROM chronicle.gist_targets t WHERE t.entity_type = remove_gist_target.entity_type RETURNING 1)
  SELECT EXISTS (SELECT FROM removed);
END;

COMMENT ON FUNCTION chronicle.set_gist_target(text, text, text, text) IS
  'Exports an entity type to a Gist: file-name template ({entity_type}, {entity_id}; no /) and mode (latest or every_version); checked when set';
COMMENT ON FUNCTION chronicle.remove_gist_target(text) IS 'Stops exporting an entity type; false if it had no target';
COMMENT ON FUNCTION chronicle.gist_file_name(text, text) IS
  'The Gist file name of an entity under its type''s enabled target; NULL without one';
COMMENT ON FUNCTION chronicle._export_take_outbox() IS
  'Internal to export_claim: on Citus, moves committed exports from the outbox into the queue, oldest change first; returns how many';
COMMENT ON FUNCTION chronicle.import_state_version(text, text, jsonb, timestamptz, text, text, text) IS
  'Appends a Gist file revision as a version with the revision''s time as valid_from (later than the entity''s last change); NULL if that revision was already imported';
COMMENT ON FUNCTION chronicle.export_claim(integer, interval) IS
  'Claims up to batch exports under a lease (FOR UPDATE SKIP LOCKED): files'' heads (their oldest unfinished exports), oldest first';
COMMENT ON FUNCTION chronicle._export_advance(text[], text[]) IS
  'Makes the next waiting export of each given file its head; called after a file''s head is done or dead';
COMMENT ON FUNCTION chronicle._export_stale_lease(bigint) IS 'Raises the error for an export not under the presented lease (SQLSTATE 55000)';
COMMENT ON FUNCTION chronicle.export_ack(bigint, uuid, text) IS
  'Marks a claimed export delivered, with the Gist revision that carries it; a stale or wrong lease token is refused (55000)';
COMMENT ON FUNCTION chronicle.export_ack_all(bigint[], uuid[], text) IS
  'Marks several claimed exports delivered by one Gist revision, in one statement; all or nothing (55000 naming a row not under its lease; 55P03 after 200 ms waiting for a writer)';
COMMENT ON FUNCTION chronicle.export_fail(bigint, uuid, text, interval) IS
  'Records a failed delivery: retried after an exponential backoff with jitter or retry_after; dead after chronicle.export_max_attempts';
COMMENT ON FUNCTION chronicle.export_release(bigint, uuid, interval) IS
  'Gives a claimed export back untried (exporter stopping, rate limit): pending again after retry_after, the attempt not counted';
COMMENT ON FUNCTION chronicle.export_redrive() IS
  'Puts dead exports back in the queue, each behind its file''s head (dropping those a newer export of the same file superseded, in latest mode); returns how many';
COMMENT ON FUNCTION chronicle.export_stats() IS
  'Queue counts by status (pending counts the waiting too, done the deliveries not yet pruned), the age of the oldest pending export, exports delivered per minute over the last ten minutes and the time the backlog takes at that rate';
COMMENT ON FUNCTION chronicle.prune_export_queue(interval) IS 'Deletes the records of exports delivered longer ago than older_than (chronicle.gist_export_deliveries); returns how many';
