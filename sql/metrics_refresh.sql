-- Keeping the metrics: the trigger that records which buckets changed, the rollups
-- recomputed from the raw executions of those buckets, the pg_cron schedule, pruning, and
-- the command_performance view (sql/metrics.sql holds the tables).
--
-- Every definition here can run again (CREATE OR REPLACE): an upgrade step includes this
-- file whole (sql/upgrades/) instead of copying it.

-- Records the buckets a statement changed. Executions before the pruning horizon belong
-- to final buckets: writing one is refused.
CREATE OR REPLACE FUNCTION chronicle.record_metrics_changes() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  horizon timestamptz := coalesce((SELECT pruned_before FROM chronicle.metrics_horizon), '-infinity');
  too_old timestamptz;
  hours timestamptz[];
  commands text[];
  executions uuid[];
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    SELECT min(started_at) INTO too_old FROM new_executions WHERE started_at < horizon;
    IF too_old IS NOT NULL THEN
      RAISE EXCEPTION 'cannot record a command execution started at %: executions before % were pruned and their metrics are final',
        too_old, horizon
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
  END IF;
  -- On Citus (chronicle.distribute(), docs/citus.md) the trigger fires on a shard of
  -- command_executions, on the worker that holds it, and Citus lets a trigger there reach
  -- only that worker's shards. Each changed bucket is recorded with one of the
  -- statement's executions as its distribution value, so that it goes to the shard of
  -- metrics_changes co-located with theirs; the buckets are gathered first, as Citus
  -- cannot ship a query that reads a transition table.
  IF TG_RELID <> 'chronicle.command_executions'::regclass THEN
    IF TG_OP = 'TRUNCATE' THEN
      RAISE EXCEPTION 'TRUNCATE of a distributed chronicle.command_executions would leave its metrics stale'
        USING ERRCODE = 'feature_not_supported',
              HINT = 'DELETE the executions instead (their buckets are recorded), or prune them with chronicle.prune_executions().';
    ELSIF TG_OP = 'INSERT' THEN
      SELECT array_agg(k.hour), array_agg(k.command_name), array_agg(k.id) INTO hours, commands, executions
        FROM (SELECT DISTINCT ON (1, 2) date_trunc('hour', started_at, 'UTC') AS hour, command_name, id
                FROM new_executions) k;
    ELSIF TG_OP = 'UPDATE' THEN
      SELECT array_agg(k.hour), array_agg(k.command_name), array_agg(k.id) INTO hours, commands, executions
        FROM (SELECT DISTINCT ON (1, 2) date_trunc('hour', c.started_at, 'UTC') AS hour, c.command_name, c.id
                FROM (SELECT started_at, command_name, id FROM new_executions
                      UNION ALL
                      SELECT started_at, command_name, id FROM old_executions WHERE started_at >= horizon) c) k;
    ELSE
      SELECT array_agg(k.hour), array_agg(k.command_name), array_agg(k.id) INTO hours, commands, executions
        FROM (SELECT DISTINCT ON (1, 2) date_trunc('hour', started_at, 'UTC') AS hour, command_name, id
                FROM old_executions WHERE started_at >= horizon) k;
    END IF;
    INSERT INTO chronicle.metrics_changes (hour, command_name, execution_id)
    SELECT * FROM unnest(hours, commands, executions);
    RETURN NULL;
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

CREATE OR REPLACE TRIGGER command_executions_metrics_insert
    AFTER INSERT ON chronicle.command_executions
    REFERENCING NEW TABLE AS new_executions
    FOR EACH STATEMENT EXECUTE FUNCTION chronicle.record_metrics_changes();
CREATE OR REPLACE TRIGGER command_executions_metrics_update
    AFTER UPDATE ON chronicle.command_executions
    REFERENCING OLD TABLE AS old_executions NEW TABLE AS new_executions
    FOR EACH STATEMENT EXECUTE FUNCTION chronicle.record_metrics_changes();
CREATE OR REPLACE TRIGGER command_executions_metrics_delete
    AFTER DELETE ON chronicle.command_executions
    REFERENCING OLD TABLE AS old_executions
    FOR EACH STATEMENT EXECUTE FUNCTION chronicle.record_metrics_changes();
CREATE OR REPLACE TRIGGER command_executions_metrics_truncate
    AFTER TRUNCATE ON chronicle.command_executions
    FOR EACH STATEMENT EXECUTE FUNCTION chronicle.record_metrics_changes();

COMMENT ON FUNCTION chronicle.record_metrics_changes() IS
  'Trigger: records the hourly buckets a statement on command_executions changed, for chronicle.refresh_metrics()';

-- The aggregates of the given hourly buckets, computed from the raw executions: one row
-- per bucket, with 0 executions for a bucket that has none.
CREATE OR REPLACE FUNCTION chronicle._bucket_aggregates(key_hours timestamptz[], key_commands text[])
RETURNS TABLE (hour timestamptz, command_name text, executions bigint, successful bigint, failed bigint,
               sketch chronicle.quantile_sketch, user_ids uuid[], error_codes text[])
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF chronicle._metrics_distributed() THEN
    -- On Citus, one grouped query over the distributed executions: Citus runs it on
    -- every shard, where a subquery per bucket (below) could not go.
    RETURN QUERY
    SELECT k.hour, k.command_name, coalesce(b.executions, 0), coalesce(b.successful, 0),
           coalesce(b.failed, 0), b.sketch, coalesce(b.user_ids, '{}'), coalesce(b.error_codes, '{}')
      FROM unnest(key_hours, key_commands) AS k(hour, command_name)
      LEFT JOIN (
        SELECT date_trunc('hour', e.started_at, 'UTC') AS hour, e.command_name,
               count(*) AS executions,
               count(*) FILTER (WHERE e.status = 'success') AS successful,
               count(*) FILTER (WHERE e.status = 'failed') AS failed,
               chronicle.percentile_agg(e.duration_ms) AS sketch,
               array_agg(DISTINCT e.user_id) FILTER (WHERE e.user_id IS NOT NULL) AS user_ids,
               array_agg(DISTINCT e.error ->> 'code') FILTER (WHERE e.error ->> 'code' IS NOT NULL) AS error_codes
          FROM chronicle.command_executions e
         WHERE e.command_name = ANY (key_commands)
           AND e.started_at >= (SELECT min(h) FROM unnest(key_hours) AS h)
           AND e.started_at < (SELECT max(h) FROM unnest(key_hours) AS h) + interval '1 hour'
         GROUP BY 1, 2) b ON b.hour = k.hour AND b.command_name = k.command_name;
  ELSE
    -- LATERAL: each bucket is read through the (command_name, started_at) index; a plain
    -- join on the time range lets the planner scan the whole table instead.
    RETURN QUERY
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
           AND e.started_at >= k.hour AND e.started_at < k.hour + interval '1 hour') b;
  END IF;
END
$$;

-- Whether chronicle.distribute() has distributed the executions and their changes
-- (it adds metrics_changes.execution_id, their distribution column).
CREATE OR REPLACE FUNCTION chronicle._metrics_distributed() RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  SELECT EXISTS (SELECT FROM pg_catalog.pg_attribute a
                  WHERE a.attrelid = 'chronicle.metrics_changes'::pg_catalog.regclass
                    AND a.attname = 'execution_id' AND NOT a.attisdropped);
END;

-- Recomputes the given hourly buckets from the raw rows, and their days from the hours;
-- returns the executions read. Callers pass the keys in (hour, command) order: buckets
-- are locked in that one global order, so concurrent refreshes never deadlock.
CREATE OR REPLACE FUNCTION chronicle._refresh_buckets(key_hours timestamptz[], key_commands text[]) RETURNS bigint
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

  WITH fresh AS (SELECT * FROM chronicle._bucket_aggregates(key_hours, key_commands)),
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

-- Recomputes the changed buckets. Concurrent refreshes take disjoint sets of changes
-- (SKIP LOCKED) and lock the buckets they rewrite in one global order, so they never
-- deadlock and only wait for each other on a bucket both must rewrite; a bucket is
-- recomputed after its lock is held, from a snapshot that sees everything the previous
-- holder saw, so nothing is counted twice or lost.
--
-- All buckets are computed in one pass. Should that fail (a row that cannot be
-- aggregated, such as a time at the edge of the timestamp range written before 0.4.0
-- validated times), each bucket is computed on its own: those that fail are recorded in
-- chronicle.metrics_failures with a warning, and every other bucket is refreshed.
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
  IF chronicle._metrics_distributed() THEN
    -- Citus cannot lock rows of a distributed table by ctid: a concurrent refresh waits for
    -- the changes this one takes instead of skipping them, and then finds them gone.
    WITH taken AS (DELETE FROM chronicle.metrics_changes c RETURNING c.hour, c.command_name)
    SELECT array_agg(t.hour), array_agg(t.command_name) INTO key_hours, key_commands FROM taken t;
  ELSE
    WITH taken AS (
      DELETE FROM chronicle.metrics_changes c
       WHERE c.ctid = ANY (ARRAY(SELECT m.ctid FROM chronicle.metrics_changes m FOR UPDATE SKIP LOCKED))
      RETURNING c.hour, c.command_name)
    SELECT array_agg(t.hour), array_agg(t.command_name) INTO key_hours, key_commands FROM taken t;
  END IF;
  -- Each bucket once, in (hour, command) order; those before the horizon are final.
  SELECT coalesce(array_agg(k.hour ORDER BY k.hour, k.command_name), '{}'),
         coalesce(array_agg(k.command_name ORDER BY k.hour, k.command_name), '{}')
    INTO key_hours, key_commands
    FROM (SELECT DISTINCT t.hour, t.command_name
            FROM unnest(key_hours, key_commands) AS t(hour, command_name)
           WHERE t.hour >= horizon) k;

  IF cardinality(key_hours) > 0 THEN
    BEGIN
      rows_read := chronicle._refresh_buckets(key_hours, key_commands);
    EXCEPTION WHEN OTHERS THEN
      rows_read := 0;
      FOR i IN 1 .. cardinality(key_hours) LOOP
        BEGIN
          rows_read := rows_read + chronicle._refresh_buckets(ARRAY[key_hours[i]], ARRAY[key_commands[i]]);
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

-- Computes, once more, the buckets a refresh could not: after the rows that failed were
-- corrected or deleted. Returns how many buckets were queued.
CREATE OR REPLACE FUNCTION chronicle.retry_failed_metrics() RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  WITH queued AS (
    INSERT INTO chronicle.metrics_changes (hour, command_name)
    SELECT f.hour, f.command_name FROM chronicle.metrics_failures f
    RETURNING 1)
  SELECT count(*) FROM queued;
END;

-- The original schema's command_performance_mv (hourly, last 7 days), now a view over the rollup.
CREATE OR REPLACE VIEW chronicle.command_performance AS
SELECT m.command_name, m.hour, m.executions, m.avg_time_ms AS avg_duration,
       m.p95_time_ms AS p95_duration, m.failed AS failures
  FROM chronicle.command_metrics_hourly m
 WHERE m.hour > now() - interval '7 days';

CREATE OR REPLACE FUNCTION chronicle.schedule_refresh(schedule text DEFAULT '*/5 * * * *') RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF to_regclass('cron.job') IS NULL THEN
    RAISE EXCEPTION 'pg_cron is not installed in database %', current_database()
      USING ERRCODE = 'feature_not_supported',
            HINT = format('Add pg_cron to shared_preload_libraries, set cron.database_name = %L, and CREATE EXTENSION pg_cron; '
                          'or call chronicle.refresh_metrics() from any scheduler.', current_database());
  END IF;
  RETURN cron.schedule('chronicle_refresh_metrics', schedule, 'SELECT chronicle.refresh_metrics()');
END
$$;

CREATE OR REPLACE FUNCTION chronicle.unschedule_refresh() RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF to_regclass('cron.job') IS NULL THEN
    RAISE EXCEPTION 'pg_cron is not installed in database %', current_database()
      USING ERRCODE = 'feature_not_supported';
  END IF;
  IF NOT EXISTS (SELECT FROM cron.job WHERE jobname = 'chronicle_refresh_metrics') THEN
    RETURN false;
  END IF;
  RETURN cron.unschedule('chronicle_refresh_metrics');
END
$$;

-- Folds every pending change into the rollups, then deletes the raw executions of the
-- whole UTC days before now() - older_than. Their hours and days stay in the rollups,
-- final: executions that old can no longer be written.
CREATE OR REPLACE FUNCTION chronicle.prune_executions(older_than interval) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  cutoff timestamptz;
  pruned bigint;
BEGIN
  IF older_than IS NULL OR older_than < interval '0' THEN
    RAISE EXCEPTION 'older_than must be a non-negative interval, not %', coalesce(older_than::text, 'NULL')
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  cutoff := date_trunc('day', now() - older_than, 'UTC');
  PERFORM chronicle.refresh_metrics();
  INSERT INTO chronicle.metrics_horizon AS h (pruned_before) VALUES (cutoff)
  ON CONFLICT (singleton) DO UPDATE SET pruned_before = greatest(h.pruned_before, excluded.pruned_before);
  DELETE FROM chronicle.command_executions e WHERE e.started_at < cutoff;
  GET DIAGNOSTICS pruned = ROW_COUNT;
  RETURN pruned;
END
$$;

COMMENT ON FUNCTION chronicle._refresh_buckets(timestamptz[], text[]) IS
  'Internal to chronicle.refresh_metrics(): recomputes the given hourly buckets and their days';
COMMENT ON FUNCTION chronicle._bucket_aggregates(timestamptz[], text[]) IS
  'Internal to chronicle.refresh_metrics(): the counts, sketch, users and error codes of the given hourly buckets, from the raw executions';
COMMENT ON FUNCTION chronicle._metrics_distributed() IS
  'Internal: whether chronicle.distribute() has distributed the executions and their metrics changes over Citus';
COMMENT ON FUNCTION chronicle.retry_failed_metrics() IS
  'Queues the buckets listed in chronicle.metrics_failures for the next chronicle.refresh_metrics(); returns how many';
COMMENT ON FUNCTION chronicle.refresh_metrics() IS
  'Recomputes the hourly and daily metrics of the buckets changed since the last refresh; returns the buckets rewritten, executions read and milliseconds taken';
COMMENT ON VIEW chronicle.command_performance IS
  'Per command and hour of the last 7 days: executions, average and p95 duration, failures (the command_performance_mv of the original command-tracking schema, as a view of the hourly metrics)';
COMMENT ON FUNCTION chronicle.schedule_refresh(text) IS
  'Schedules chronicle.refresh_metrics() with pg_cron (job chronicle_refresh_metrics); returns the job id';
COMMENT ON FUNCTION chronicle.unschedule_refresh() IS 'Removes the pg_cron job of chronicle.schedule_refresh(); false if there was none';
COMMENT ON FUNCTION chronicle.prune_executions(interval) IS
  'Deletes raw command executions of whole UTC days older than older_than, keeping their rollups (made final); returns how many';

-- The helpers run inside the refresh; nobody else calls them.
REVOKE ALL ON FUNCTION chronicle._bucket_aggregates(timestamptz[], text[]), chronicle._metrics_distributed()
FROM PUBLIC;
