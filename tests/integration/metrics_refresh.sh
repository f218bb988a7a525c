#!/usr/bin/env bash
# Incremental metrics under real concurrency, and the pg_cron job.
#  1. Writers insert, finish and delete executions (late arrivals included) while two
#     refreshes run in a loop at once; after a final refresh every rollup equals a direct
#     aggregate of the raw rows. (The soak; two refreshes meeting on a bucket, step by
#     step, are tests/isolation/specs/refresh_metrics_concurrent.spec.)
#  2. chronicle.schedule_refresh() with the real pg_cron: the job runs and refreshes.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
DB=chronicle_regress   # pg_cron's database (cron.database_name) on the test cluster
S=$(mktemp -d)
trap 'rm -rf "$S"' EXIT

sql $DB "DROP EXTENSION IF EXISTS pg_chronicle CASCADE; CREATE EXTENSION pg_chronicle; CREATE EXTENSION IF NOT EXISTS pg_cron" >/dev/null
sql $DB "SELECT cron.unschedule(jobid) FROM cron.job" >/dev/null

cat >"$S/write.sql" <<'SQL'
\set c random(1, 20)
\set u random(1, 50)
\set h random(0, 47)
INSERT INTO chronicle.command_executions (command_name, user_id, status, started_at, completed_at, duration_ms)
SELECT 'cmd_' || :c, ('00000000-0000-4000-8000-' || lpad(:u::text, 12, '0'))::uuid, 'success',
       t, t + d * interval '1 millisecond', d
  FROM (SELECT date_trunc('hour', now()) - :h * interval '1 hour' AS t, 1 + 500 * random() ^ 2 AS d) x;
SQL
cat >"$S/lifecycle.sql" <<'SQL'
\set c random(1, 20)
SELECT chronicle.start_command('cmd_' || :c, '{}', '00000000-0000-4000-8000-000000000001') AS id \gset
SELECT pg_sleep(0.002);
SELECT status FROM chronicle.finish_command(':id'::uuid, CASE WHEN random() < 0.2 THEN 'failed' ELSE 'success' END);
SQL
cat >"$S/delete.sql" <<'SQL'
DELETE FROM chronicle.command_executions
 WHERE id = (SELECT id FROM chronicle.command_executions WHERE status IN ('success', 'failed') ORDER BY random() LIMIT 1);
SQL
cat >"$S/refresh.sql" <<'SQL'
SELECT hourly_buckets FROM chronicle.refresh_metrics();
SQL

log "writers and two concurrent refreshes"
pgbench -h "$IT_HOST" -p "$IT_PORT" -U postgres -n -T 8 -c 2 -f "$S/refresh.sql" $DB >"$S/refresh.log" 2>&1 &
refreshers=$!
bench $DB 8 4 -f "$S/write.sql@6" -f "$S/lifecycle.sql@3" -f "$S/delete.sql@1"
# A deadlock between the two refreshers is a failed transaction, not an abort: pgbench
# still exits 0, so pgbench_ok reads its count of failed transactions.
status=0
wait $refreshers || status=$?
pgbench_ok "$S/refresh.log" 16 $status
sql $DB "SELECT chronicle.refresh_metrics()" >/dev/null

expect_zero $DB "hourly rollups equal the raw rows (counts, users, error codes, p95 within error)" "
  WITH truth AS (
    SELECT date_trunc('hour', started_at, 'UTC') AS hour, command_name, count(*) AS executions,
           count(*) FILTER (WHERE status = 'success') AS successful, count(*) FILTER (WHERE status = 'failed') AS failed,
           count(DISTINCT user_id) AS users,
           percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95
      FROM chronicle.command_executions GROUP BY 1, 2)
  SELECT count(*) FROM truth t FULL JOIN chronicle.command_metrics_hourly m USING (hour, command_name)
   WHERE m.executions IS DISTINCT FROM t.executions OR m.successful IS DISTINCT FROM t.successful
      OR m.failed IS DISTINCT FROM t.failed OR m.unique_users IS DISTINCT FROM t.users
      OR abs(m.p95_time_ms - t.p95) > chronicle.relative_error(m.duration_sketch) * t.p95"
expect_zero $DB "daily rollups equal the raw rows" "
  WITH truth AS (
    SELECT (started_at AT TIME ZONE 'UTC')::date AS date, command_name, count(*) AS executions, count(DISTINCT user_id) AS users
      FROM chronicle.command_executions GROUP BY 1, 2)
  SELECT count(*) FROM truth t FULL JOIN chronicle.command_metrics_daily m USING (date, command_name)
   WHERE m.executions IS DISTINCT FROM t.executions OR m.unique_users IS DISTINCT FROM t.users"
expect_zero $DB "no change left behind" "SELECT count(*) FROM chronicle.metrics_changes"
echo "ok: $(sql $DB "SELECT count(*) FROM chronicle.command_executions") executions, $(sql $DB "SELECT count(*) FROM chronicle.command_metrics_hourly") hourly buckets" >&2

log "pg_cron runs chronicle.refresh_metrics() (pg_cron 1.4 schedules by the minute: up to ~70 s)"
sql $DB "SELECT chronicle.record_command('cron_probe')" >/dev/null
job=$(sql $DB "SELECT chronicle.schedule_refresh('* * * * *')")
ran=
for _ in $(seq 1 80); do
  ran=$(sql $DB "SELECT count(*) FROM cron.job_run_details WHERE jobid = $job AND status = 'succeeded'")
  [ "$ran" -gt 0 ] && break
  sleep 1
done
[ "${ran:-0}" -gt 0 ] || { sql $DB "SELECT status, return_message FROM cron.job_run_details" >&2; echo "FAIL: the cron job did not run" >&2; exit 1; }
expect_zero $DB "the cron job refreshed the metrics" \
  "SELECT 1 - count(*) FROM chronicle.command_metrics_hourly WHERE command_name = 'cron_probe'"
[ "$(sql $DB "SELECT chronicle.unschedule_refresh()")" = t ] || { echo "FAIL: unschedule" >&2; exit 1; }
[ "$(sql $DB "SELECT chronicle.unschedule_refresh()")" = f ] || { echo "FAIL: second unschedule" >&2; exit 1; }
echo "ok: pg_cron job $job ran and was unscheduled" >&2
