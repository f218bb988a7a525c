-- pg_chronicle 0.3.0 -> 0.4.0: the security release. Every change of a fresh 0.4.0
-- install, applied to a 0.3.0 database; tests/integration/upgrade.sh checks that the
-- result is exactly a fresh install. Definitions are copies of sql/ as released.

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

-- The export queue is written only through its protocol (SECURITY DEFINER).
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
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
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
  IF export_ack.gist_revision IS NULL THEN
    RAISE EXCEPTION 'gist_revision must not be NULL: an acknowledgement names the Gist revision that carries the export'
      USING ERRCODE = 'null_value_not_allowed';
  END IF;
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
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
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
  IF export_ack_all.gist_revision IS NULL THEN
    RAISE EXCEPTION 'gist_revision must not be NULL: an acknowledgement names the Gist revision that carries the exports'
      USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF ids IS NULL OR lease_tokens IS NULL OR array_position(ids, NULL) IS NOT NULL THEN
    RAISE EXCEPTION 'ids and lease_tokens must not be NULL, nor hold a NULL id'
      USING ERRCODE = 'null_value_not_allowed';
  END IF;
  -- One token per row: an id given twice would be acknowledged under whichever token
  -- came first, and the second would pass unchecked.
  IF cardinality(ids) > (SELECT count(DISTINCT u.i) FROM unnest(ids) AS u(i)) THEN
    RAISE EXCEPTION 'ids must not repeat an export'
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
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
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

CREATE OR REPLACE FUNCTION chronicle.export_release(id bigint, lease_token uuid, retry_after interval DEFAULT '0 seconds')
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
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

CREATE OR REPLACE FUNCTION chronicle.export_redrive() RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
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
  WITH revived AS (
    UPDATE chronicle.gist_export_queue q
       SET status = 'waiting', attempt = 0, available_at = clock_timestamp()
     WHERE q.status = 'dead'
    RETURNING q.id, q.gist_id, q.file_name),
  superseded AS (
    SELECT r.gist_id, r.file_name, max(n.id) AS newest
      FROM revived r
      JOIN chronicle.gist_export_queue n ON n.gist_id = r.gist_id AND n.file_name = r.file_name AND n.id > r.id
     GROUP BY r.gist_id, r.file_name),
  newest_again AS (
    -- The file's newest export, queued again behind the revived ones (unless it is one).
    INSERT INTO chronicle.gist_export_queue
           (gist_id, file_name, operation, mode, entity_type, entity_id, version, checksum, payload, status)
    SELECT n.gist_id, n.file_name, n.operation, n.mode, n.entity_type, n.entity_id, n.version, n.checksum,
           n.payload, 'waiting'
      FROM superseded s
      JOIN chronicle.gist_export_queue n ON n.id = s.newest
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
  IF redriven > 0 THEN
    PERFORM pg_notify('chronicle_export', '');
  END IF;
  RETURN redriven;
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
  DELETE FROM chronicle.gist_export_queue q
   WHERE q.stage = 'finished' AND q.status = 'done' AND q.done_at < clock_timestamp() - older_than;
  GET DIAGNOSTICS pruned = ROW_COUNT;
  RETURN pruned;
END
$$;

CREATE OR REPLACE FUNCTION chronicle.remove_gist_target(entity_type text) RETURNS boolean
LANGUAGE sql VOLATILE STRICT
BEGIN ATOMIC
  WITH removed AS (
    DELETE FROM chronicle.gist_targets t WHERE t.entity_type = remove_gist_target.entity_type RETURNING 1)
  SELECT EXISTS (SELECT FROM removed);
END;

COMMENT ON SEQUENCE chronicle.gist_export_queue_id_seq IS 'Numbers the exports: a file''s exports leave in this order';

-- track() is idempotent per sender.
DROP INDEX chronicle.idx_command_executions_message_id;
CREATE UNIQUE INDEX idx_command_executions_message_id
    ON chronicle.command_executions (message_id, user_id, anonymous_id) NULLS NOT DISTINCT
    WHERE message_id IS NOT NULL;
COMMENT ON COLUMN chronicle.command_executions.parameters IS 'Command parameters; secrets (keys matching chronicle.redact_keys, header lists, JSON in strings) are stored as "[REDACTED]"';
COMMENT ON COLUMN chronicle.command_executions.message_id IS 'RudderStack messageId; tracking the same message twice from the same sender (user_id, anonymous_id) records it once';

CREATE OR REPLACE FUNCTION chronicle.record_command(
    command_name text, parameters jsonb DEFAULT '{}', user_id uuid DEFAULT NULL,
    status text DEFAULT 'success', duration_ms double precision DEFAULT NULL,
    error jsonb DEFAULT NULL, metadata jsonb DEFAULT NULL)
RETURNS uuid
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  recorded uuid;
  finished_at timestamptz := clock_timestamp();
BEGIN
  IF record_command.status IS NULL OR record_command.status NOT IN ('success', 'failed') THEN
    RAISE EXCEPTION 'record_command records a finished execution: status must be success or failed, not %',
      coalesce(quote_literal(record_command.status), 'NULL')
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF record_command.duration_ms < 0 OR record_command.duration_ms IN ('NaN', 'Infinity') THEN
    RAISE EXCEPTION 'duration_ms must be a finite, non-negative number of milliseconds, not %', record_command.duration_ms
      USING ERRCODE = 'numeric_value_out_of_range';
  END IF;
  -- Executions carry times from 1970 on (see the lifecycle trigger).
  IF record_command.duration_ms > extract(epoch FROM finished_at - timestamptz '1970-01-01 00:00+00') * 1000 THEN
    RAISE EXCEPTION 'duration_ms % would start the execution before 1970-01-01, the earliest time an execution may carry',
      record_command.duration_ms
      USING ERRCODE = 'datetime_field_overflow';
  END IF;
  INSERT INTO chronicle.command_executions
         (command_name, parameters, user_id, status, started_at, completed_at, duration_ms, error, metadata)
  VALUES (record_command.command_name, coalesce(record_command.parameters, '{}'),
          coalesce(record_command.user_id, chronicle.current_user_id()), record_command.status,
          finished_at - make_interval(secs => coalesce(record_command.duration_ms, 0) / 1000),
          finished_at, record_command.duration_ms, record_command.error, record_command.metadata)
  RETURNING id INTO recorded;
  RETURN recorded;
END
$$;


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

CREATE OR REPLACE FUNCTION chronicle.record_metrics_changes() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  horizon timestamptz := coalesce((SELECT pruned_before FROM chronicle.metrics_horizon), '-infinity');
  too_old timestamptz;
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    SELECT min(started_at) INTO too_old FROM new_executions WHERE started_at < horizon;
    IF too_old IS NOT NULL THEN
      RAISE EXCEPTION 'cannot record a command execution started at %: executions before % were pruned and their metrics are final',
        too_old, horizon
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
  END IF;
  IF TG_OP = 'INSERT' THEN
    INSERT INTO chronicle.metrics_changes (hour, command_name)
    SELECT DISTINCT date_trunc('hour', started_at, 'UTC'), command_name FROM new_executions;
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO chronicle.metrics_changes (hour, command_name)
    SELECT date_trunc('hour', started_at, 'UTC'), command_name FROM new_executions
     UNION
    SELECT date_trunc('hour', started_at, 'UTC'), command_name FROM old_executions WHERE started_at >= horizon;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO chronicle.metrics_changes (hour, command_name)
    SELECT DISTINCT date_trunc('hour', started_at, 'UTC'), command_name FROM old_executions
     WHERE started_at >= horizon;
  ELSE
    -- TRUNCATE names no rows: every bucket that is not final may have lost some.
    INSERT INTO chronicle.metrics_changes (hour, command_name)
    SELECT m.hour, m.command_name FROM chronicle.command_metrics_hourly m WHERE m.hour >= horizon;
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER command_executions_metrics_truncate
    AFTER TRUNCATE ON chronicle.command_executions
    FOR EACH STATEMENT EXECUTE FUNCTION chronicle.record_metrics_changes();

CREATE FUNCTION chronicle.refresh_buckets(key_hours timestamptz[], key_commands text[]) RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  day_dates date[];
  day_commands text[];
  rows_read bigint := 0;
BEGIN
  -- Lock the hourly buckets, creating missing ones, in (hour, command) order.
  INSERT INTO chronicle.command_metrics_hourly AS m
         (hour, command_name, executions, successful, failed, unique_users, error_codes, user_ids, refreshed_at)
  SELECT k.hour, k.command_name, 0, 0, 0, 0, '{}', '{}', clock_timestamp()
    FROM unnest(key_hours, key_commands) AS k(hour, command_name)
   ORDER BY k.hour, k.command_name
  ON CONFLICT DO NOTHING;
  PERFORM FROM chronicle.command_metrics_hourly m
    JOIN unnest(key_hours, key_commands) AS k(hour, command_name)
      ON m.hour = k.hour AND m.command_name = k.command_name
   ORDER BY m.hour, m.command_name
     FOR UPDATE OF m;

  -- LATERAL: each bucket is read through the (command_name, started_at) index; a plain
  -- join on the time range lets the planner scan the whole table instead.
  WITH fresh AS (
    SELECT k.hour, k.command_name, b.*
      FROM unnest(key_hours, key_commands) AS k(hour, command_name)
      CROSS JOIN LATERAL (
        SELECT count(*) AS executions,
               count(*) FILTER (WHERE e.status = 'success') AS successful,
               count(*) FILTER (WHERE e.status = 'failed') AS failed,
               chronicle.percentile_agg(e.duration_ms) AS sketch,
               coalesce(array_agg(DISTINCT e.user_id) FILTER (WHERE e.user_id IS NOT NULL), '{}') AS user_ids,
               coalesce(array_agg(DISTINCT e.error ->> 'code') FILTER (WHERE e.error ->> 'code' IS NOT NULL), '{}') AS error_codes
          FROM chronicle.command_executions e
         WHERE e.command_name = k.command_name
           AND e.started_at >= k.hour AND e.started_at < k.hour + interval '1 hour') b),
  written AS (
    UPDATE chronicle.command_metrics_hourly m
       SET executions = f.executions, successful = f.successful, failed = f.failed,
           avg_time_ms = chronicle.mean(f.sketch), duration_sketch = f.sketch,
           p50_time_ms = p[1], p95_time_ms = p[2], p99_time_ms = p[3],
           unique_users = cardinality(f.user_ids), error_codes = f.error_codes,
           user_ids = f.user_ids, refreshed_at = clock_timestamp()
      FROM fresh f
      LEFT JOIN LATERAL (SELECT chronicle.approx_percentiles(f.sketch, '{0.5, 0.95, 0.99}') AS p) ps ON true
     WHERE m.hour = f.hour AND m.command_name = f.command_name
    RETURNING f.executions)
  SELECT coalesce(sum(w.executions), 0) INTO rows_read FROM written w;

  -- Hours whose executions were all deleted have nothing to report.
  DELETE FROM chronicle.command_metrics_hourly m
   USING unnest(key_hours, key_commands) AS k(hour, command_name)
   WHERE m.hour = k.hour AND m.command_name = k.command_name AND m.executions = 0;

  -- The days of those hours, rolled up from the hours.
  SELECT coalesce(array_agg(d.date ORDER BY d.date, d.command_name), '{}'),
         coalesce(array_agg(d.command_name ORDER BY d.date, d.command_name), '{}')
    INTO day_dates, day_commands
    FROM (SELECT DISTINCT (k.hour AT TIME ZONE 'UTC')::date AS date, k.command_name
            FROM unnest(key_hours, key_commands) AS k(hour, command_name)) d;

  INSERT INTO chronicle.command_metrics_daily AS m
         (date, command_name, executions, successful, failed, unique_users, error_codes, user_ids, refreshed_at)
  SELECT d.date, d.command_name, 0, 0, 0, 0, '{}', '{}', clock_timestamp()
    FROM unnest(day_dates, day_commands) AS d(date, command_name)
   ORDER BY d.date, d.command_name
  ON CONFLICT DO NOTHING;
  PERFORM FROM chronicle.command_metrics_daily m
    JOIN unnest(day_dates, day_commands) AS d(date, command_name)
      ON m.date = d.date AND m.command_name = d.command_name
   ORDER BY m.date, m.command_name
     FOR UPDATE OF m;

  WITH fresh AS (
    SELECT d.date, d.command_name, b.*
      FROM unnest(day_dates, day_commands) AS d(date, command_name)
      CROSS JOIN LATERAL (
        SELECT coalesce(sum(h.executions), 0) AS executions,
               coalesce(sum(h.successful), 0) AS successful,
               coalesce(sum(h.failed), 0) AS failed,
               chronicle.rollup(h.duration_sketch) AS sketch,
               (SELECT coalesce(array_agg(DISTINCT u.user_id), '{}')
                  FROM chronicle.command_metrics_hourly h2, unnest(h2.user_ids) AS u(user_id)
                 WHERE h2.command_name = d.command_name
                   AND h2.hour >= d.date::timestamp AT TIME ZONE 'UTC'
                   AND h2.hour < (d.date + 1)::timestamp AT TIME ZONE 'UTC') AS user_ids,
               (SELECT coalesce(array_agg(DISTINCT c.code), '{}')
                  FROM chronicle.command_metrics_hourly h2, unnest(h2.error_codes) AS c(code)
                 WHERE h2.command_name = d.command_name
                   AND h2.hour >= d.date::timestamp AT TIME ZONE 'UTC'
                   AND h2.hour < (d.date + 1)::timestamp AT TIME ZONE 'UTC') AS error_codes
          FROM chronicle.command_metrics_hourly h
         WHERE h.command_name = d.command_name
           AND h.hour >= d.date::timestamp AT TIME ZONE 'UTC'
           AND h.hour < (d.date + 1)::timestamp AT TIME ZONE 'UTC') b)
  UPDATE chronicle.command_metrics_daily m
     SET executions = f.executions, successful = f.successful, failed = f.failed,
         avg_time_ms = chronicle.mean(f.sketch), duration_sketch = f.sketch,
         p50_time_ms = p[1], p95_time_ms = p[2], p99_time_ms = p[3],
         unique_users = cardinality(f.user_ids), error_codes = f.error_codes,
         user_ids = f.user_ids, refreshed_at = clock_timestamp()
    FROM fresh f
    LEFT JOIN LATERAL (SELECT chronicle.approx_percentiles(f.sketch, '{0.5, 0.95, 0.99}') AS p) ps ON true
   WHERE m.date = f.date AND m.command_name = f.command_name;

  DELETE FROM chronicle.command_metrics_daily m
   USING unnest(day_dates, day_commands) AS d(date, command_name)
   WHERE m.date = d.date AND m.command_name = d.command_name AND m.executions = 0;
  DELETE FROM chronicle.metrics_failures f
   USING unnest(key_hours, key_commands) AS k(hour, command_name)
   WHERE f.hour = k.hour AND f.command_name = k.command_name;
  RETURN rows_read;
END
$$;

CREATE OR REPLACE FUNCTION chronicle.refresh_metrics()
RETURNS TABLE (hourly_buckets integer, daily_buckets integer, executions_read bigint, milliseconds double precision)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  started timestamptz := clock_timestamp();
  horizon timestamptz := coalesce((SELECT pruned_before FROM chronicle.metrics_horizon), '-infinity');
  key_hours timestamptz[];
  key_commands text[];
  rows_read bigint := 0;
  days integer;
  i integer;
  failed_state text;
  failed_message text;
BEGIN
  WITH taken AS (
    DELETE FROM chronicle.metrics_changes c
     WHERE c.ctid = ANY (ARRAY(SELECT m.ctid FROM chronicle.metrics_changes m FOR UPDATE SKIP LOCKED))
    RETURNING c.hour, c.command_name)
  SELECT coalesce(array_agg(k.hour ORDER BY k.hour, k.command_name), '{}'),
         coalesce(array_agg(k.command_name ORDER BY k.hour, k.command_name), '{}')
    INTO key_hours, key_commands
    FROM (SELECT DISTINCT t.hour, t.command_name FROM taken t WHERE t.hour >= horizon) k;

  IF cardinality(key_hours) > 0 THEN
    BEGIN
      rows_read := chronicle.refresh_buckets(key_hours, key_commands);
    EXCEPTION WHEN OTHERS THEN
      rows_read := 0;
      FOR i IN 1 .. cardinality(key_hours) LOOP
        BEGIN
          rows_read := rows_read + chronicle.refresh_buckets(ARRAY[key_hours[i]], ARRAY[key_commands[i]]);
        EXCEPTION WHEN OTHERS THEN
          GET STACKED DIAGNOSTICS failed_state = RETURNED_SQLSTATE, failed_message = MESSAGE_TEXT;
          -- A bucket whose executions are all gone has nothing to compute: it is empty.
          IF NOT EXISTS (SELECT FROM chronicle.command_executions e
                          WHERE e.command_name = key_commands[i]
                            AND date_trunc('hour', e.started_at, 'UTC') = key_hours[i]) THEN
            DELETE FROM chronicle.command_metrics_hourly m
             WHERE m.hour = key_hours[i] AND m.command_name = key_commands[i];
            DELETE FROM chronicle.metrics_failures f
             WHERE f.hour = key_hours[i] AND f.command_name = key_commands[i];
            CONTINUE;
          END IF;
          RAISE WARNING 'pg_chronicle: metrics of command % in the hour of % were not refreshed: %',
            key_commands[i], key_hours[i], failed_message
            USING HINT = 'The bucket is listed in chronicle.metrics_failures; the other buckets were refreshed.';
          INSERT INTO chronicle.metrics_failures AS f (hour, command_name, sqlstate, message, failed_at)
          VALUES (key_hours[i], key_commands[i], failed_state, failed_message, clock_timestamp())
          ON CONFLICT (hour, command_name) DO UPDATE
             SET sqlstate = excluded.sqlstate, message = excluded.message, failed_at = excluded.failed_at;
        END;
      END LOOP;
    END;
  END IF;

  SELECT count(DISTINCT ((k.hour AT TIME ZONE 'UTC')::date, k.command_name)) INTO days
    FROM unnest(key_hours, key_commands) AS k(hour, command_name);
  RETURN QUERY SELECT cardinality(key_hours), days, rows_read,
                      (extract(epoch FROM clock_timestamp() - started) * 1000)::double precision;
END
$$;

CREATE FUNCTION chronicle.retry_failed_metrics() RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  WITH queued AS (
    INSERT INTO chronicle.metrics_changes (hour, command_name)
    SELECT f.hour, f.command_name FROM chronicle.metrics_failures f
    RETURNING 1)
  SELECT count(*) FROM queued;
END;

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
