-- Metrics: hourly and daily rollups refreshed incrementally, always equal to a direct
-- aggregate of the raw executions.
BEGIN;
SET LOCAL TimeZone = 'UTC';
SELECT setseed(0.3);
-- 3 commands over the 48 hours of the two UTC days before today, with users, failures
-- and durations.
CREATE TEMP VIEW base AS SELECT date_trunc('day', now(), 'UTC') - interval '2 days' AS day0;
INSERT INTO chronicle.command_executions (command_name, user_id, status, started_at, completed_at, duration_ms, error)
SELECT 'cmd_' || (i / 48 % 3),
       ('00000000-0000-4000-8000-' || lpad((i % 17)::text, 12, '0'))::uuid,
       CASE WHEN i % 10 = 0 THEN 'failed' ELSE 'success' END,
       day0 + (i % 48) * interval '1 hour' + (i % 60) * interval '1 second',
       day0 + (i % 48) * interval '1 hour' + (i % 60) * interval '1 second' + d * interval '1 millisecond',
       d,
       CASE WHEN i % 10 = 0 THEN jsonb_build_object('code', 'E' || (i % 4)) END
  FROM base, generate_series(1, 3000) i, LATERAL (SELECT round((10 + 1000 * random() ^ 3)::numeric, 3)::float8 AS d) x;

-- A refresh folds every changed bucket in and says what it did.
SELECT hourly_buckets, daily_buckets, executions_read, milliseconds >= 0 AS timed FROM chronicle.refresh_metrics();
-- Nothing changed since: nothing to do.
SELECT hourly_buckets, daily_buckets, executions_read FROM chronicle.refresh_metrics();

-- The rollups equal a direct aggregate of the raw rows: exact counts, users and error
-- codes; percentiles within the sketch's relative error of percentile_disc.
CREATE TEMP VIEW hourly_truth AS
SELECT date_trunc('hour', started_at, 'UTC') AS hour, command_name,
       count(*) AS executions, count(*) FILTER (WHERE status = 'success') AS successful,
       count(*) FILTER (WHERE status = 'failed') AS failed, avg(duration_ms) AS avg_ms,
       percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95,
       count(DISTINCT user_id) AS users,
       coalesce(array_agg(DISTINCT error ->> 'code') FILTER (WHERE error IS NOT NULL), '{}') AS codes
  FROM chronicle.command_executions GROUP BY 1, 2;
CREATE TEMP VIEW rollups_match AS
SELECT count(*) AS buckets,
       count(*) FILTER (WHERE m.executions = t.executions AND m.successful = t.successful AND m.failed = t.failed
                          AND m.unique_users = t.users AND m.error_codes = t.codes
                          AND abs(m.avg_time_ms - t.avg_ms) < 1e-9 * t.avg_ms
                          AND abs(m.p95_time_ms - t.p95) <= chronicle.relative_error(m.duration_sketch) * t.p95) AS matching,
       (SELECT count(*) FROM hourly_truth) AS truth_buckets
  FROM chronicle.command_metrics_hourly m JOIN hourly_truth t USING (hour, command_name);
SELECT * FROM rollups_match;

-- Daily rows roll the hours up; unique users stay exact across hours.
SELECT bool_and(d.executions = t.executions AND d.unique_users = t.users) AS daily_exact, count(*) AS days
  FROM chronicle.command_metrics_daily d
  JOIN (SELECT (started_at AT TIME ZONE 'UTC')::date AS date, command_name, count(*) AS executions,
               count(DISTINCT user_id) AS users
          FROM chronicle.command_executions GROUP BY 1, 2) t USING (date, command_name);

-- A late-arriving execution, a status change after the refresh, and a delete: each
-- rewrites just its bucket.
INSERT INTO chronicle.command_executions (command_name, user_id, status, started_at, completed_at, duration_ms)
SELECT 'cmd_1', '00000000-0000-4000-8000-000000000099', 'success',
       day0 + interval '20 hours', day0 + interval '20 hours 5 seconds', 5000 FROM base;
INSERT INTO chronicle.command_executions (id, command_name, status, started_at)
SELECT '66666666-6666-4666-8666-666666666666', 'cmd_2', 'running', day0 + interval '30 hours' FROM base;
SELECT hourly_buckets, daily_buckets FROM chronicle.refresh_metrics();
UPDATE chronicle.command_executions SET status = 'failed', error = '{"code": "E_LATE"}' WHERE id = '66666666-6666-4666-8666-666666666666';
DELETE FROM chronicle.command_executions WHERE command_name = 'cmd_0' AND started_at < (SELECT day0 + interval '1 hour' FROM base);
SELECT hourly_buckets, daily_buckets FROM chronicle.refresh_metrics();
SELECT * FROM rollups_match;
SELECT failed, 'E_LATE' = ANY (error_codes) AS late_code
  FROM chronicle.command_metrics_hourly, base WHERE command_name = 'cmd_2' AND hour = day0 + interval '30 hours';

-- The original schema's command_performance_mv, as a view of the last 7 days.
SELECT count(*) AS rows, count(DISTINCT command_name) AS commands, bool_and(p95_duration > 0) AS has_p95
  FROM chronicle.command_performance;

-- Sketches roll any range up: the p95 of a whole day from its hours.
SELECT abs(chronicle.approx_percentile(chronicle.rollup(duration_sketch), 0.95) - (
         SELECT percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_ms) FROM chronicle.command_executions
          WHERE command_name = 'cmd_1'))
       <= 0.0055 * (SELECT percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_ms) FROM chronicle.command_executions
                     WHERE command_name = 'cmd_1') AS all_time_p95_within_error
  FROM chronicle.command_metrics_hourly WHERE command_name = 'cmd_1';

-- Pruning deletes old raw executions (whole UTC days) and keeps their rollups, now final:
-- with older_than = 1 day, the day before yesterday goes.
SELECT sum(executions) AS before_prune FROM chronicle.command_metrics_hourly;
SELECT chronicle.prune_executions('1 day') = (SELECT count(*) FROM chronicle.command_executions, base
                                               WHERE started_at < day0 + interval '1 day') AS pruned_that_day;
SELECT sum(executions) AS after_prune FROM chronicle.command_metrics_hourly;
SELECT count(*) = 0 AS old_raw_rows_gone FROM chronicle.command_executions
 WHERE started_at < date_trunc('day', now() - interval '1 day', 'UTC');
SELECT regress.error_of($$INSERT INTO chronicle.command_executions (command_name, started_at) VALUES ('cmd_0', '2000-01-01')$$)
       LIKE '22023: cannot record a command execution started at Sat Jan 01 00:00:00 2000 UTC: executions before % were pruned and their metrics are final'
       AS old_write_refused;
SELECT regress.error_of($$SELECT chronicle.prune_executions('-1 day')$$);
ROLLBACK;

-- schedule_refresh needs pg_cron in this database.
SELECT regress.error_of($$SELECT chronicle.schedule_refresh()$$);
