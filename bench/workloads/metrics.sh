#!/usr/bin/env bash
# Incremental metrics (issue: command executions and metrics). 2M executions over 7 days
# and 100 commands; then 20k new or changed executions, as an hour of ingestion brings
# them (10k recorded finished, 5k started and then finished); then the incremental
# refresh_metrics() against REFRESH MATERIALIZED VIEW CONCURRENTLY of the original schema's
# command_performance_mv over the same rows, in one run. Also 1k late arrivals spread over
# the whole week (the worst case for an incremental refresh), the dashboard queries
# against the same questions asked of the raw table, and a check that the rollups equal
# a direct aggregate of the raw rows.
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
DB=chronicle_bench_metrics
ROWS=${BENCH_METRICS_ROWS:-2000000}
S=$(mktemp -d)
trap 'rm -rf "$S"' EXIT
fresh_db $DB

log "loading $ROWS executions over 7 days"
bench_psql $DB -q -o /dev/null <<SQL
SELECT setseed(0.5);
INSERT INTO chronicle.command_executions (command_name, user_id, status, started_at, completed_at, duration_ms, error)
SELECT 'cmd_' || (i % 100),
       ('00000000-0000-4000-8000-' || lpad((i * 7 % 1000)::text, 12, '0'))::uuid,
       CASE WHEN i % 20 = 0 THEN 'failed' ELSE 'success' END,
       t, t + d * interval '1 millisecond', d,
       CASE WHEN i % 20 = 0 THEN jsonb_build_object('code', 'E' || (i % 7)) END
  FROM generate_series(1, $ROWS) i,
       LATERAL (SELECT now() - interval '7 days' + (i::float8 / $ROWS) * interval '7 days' - interval '1 hour' AS t,
                       exp(4 + 0.8 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())) AS d) x;
VACUUM ANALYZE chronicle.command_executions;
SQL
initial=$(value $DB "SELECT round(milliseconds) FROM chronicle.refresh_metrics()")

# The original schema's materialized view, verbatim but for the table's schema, with the unique
# index REFRESH ... CONCURRENTLY requires.
bench_psql $DB -q <<'SQL'
CREATE MATERIALIZED VIEW command_performance_mv AS
SELECT
  command_name,
  date_trunc('hour', started_at) as hour,
  COUNT(*) as executions,
  AVG(duration_ms) as avg_duration,
  PERCENTILE_CONT(0.95) WITHIN GROUP (ORDER BY duration_ms) as p95_duration,
  SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) as failures
FROM chronicle.command_executions
WHERE started_at > NOW() - INTERVAL '7 days'
GROUP BY command_name, hour
WITH DATA;
CREATE UNIQUE INDEX ON command_performance_mv (command_name, hour);
SQL

# timed SQL: milliseconds of one run (server-side statement time, as psql reports it).
timed() {
  bench_psql $DB -c '\timing on' -c "$1" | awk '/^Time: / {print $2}' | tail -1
}
log "20k new or changed executions in the last hour"
cat >"$S/record.sql" <<'SQL'
\set c random(0, 99)
\set u random(0, 999)
SELECT chronicle.record_command('cmd_' || :c, '{}', ('00000000-0000-4000-8000-' || lpad(:u::text, 12, '0'))::uuid,
                                'success', 20 + 200 * random());
SQL
cat >"$S/start_finish.sql" <<'SQL'
\set c random(0, 99)
SELECT chronicle.start_command('cmd_' || :c, '{}', '00000000-0000-4000-8000-000000000001') AS id \gset
SELECT status FROM chronicle.finish_command(':id'::uuid, 'success');
SQL
pgbench -h "$BENCH_HOST" -p "$BENCH_PORT" -U postgres -n -c 4 -j 2 -t 2500 -f "$S/record.sql" $DB >/dev/null
pgbench -h "$BENCH_HOST" -p "$BENCH_PORT" -U postgres -n -c 4 -j 2 -t 1250 -f "$S/start_finish.sql" $DB >/dev/null
bench_psql $DB -q -c "VACUUM ANALYZE chronicle.command_executions" >/dev/null
incremental=$(value $DB "SELECT round(milliseconds::numeric, 1) || '|' || hourly_buckets || '|' || executions_read FROM chronicle.refresh_metrics()")
inc_ms=${incremental%%|*}
inc_rest=${incremental#*|}
inc_buckets=${inc_rest%%|*}
inc_read=${inc_rest#*|}
full=$(timed "REFRESH MATERIALIZED VIEW CONCURRENTLY command_performance_mv")

log "1k late arrivals over the whole week"
bench_psql $DB -q -c "INSERT INTO chronicle.command_executions (command_name, status, started_at, completed_at, duration_ms)
  SELECT 'cmd_' || (i % 100), 'success', t, t + interval '50 milliseconds', 50
    FROM generate_series(1, 1000) i, LATERAL (SELECT now() - random() * interval '7 days' + i * interval '0' AS t) x" >/dev/null
late=$(value $DB "SELECT round(milliseconds::numeric, 1) || '|' || hourly_buckets FROM chronicle.refresh_metrics()")
late_ms=${late%%|*}
late_buckets=${late#*|}
full_late=$(timed "REFRESH MATERIALIZED VIEW CONCURRENTLY command_performance_mv")

violations=$(value $DB "
  WITH truth AS (
    SELECT date_trunc('hour', started_at, 'UTC') AS hour, command_name, count(*) AS executions,
           count(*) FILTER (WHERE status = 'failed') AS failed, count(DISTINCT user_id) AS users,
           percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95
      FROM chronicle.command_executions GROUP BY 1, 2)
  SELECT count(*) FROM truth t FULL JOIN chronicle.command_metrics_hourly m USING (hour, command_name)
   WHERE m.executions IS DISTINCT FROM t.executions OR m.failed IS DISTINCT FROM t.failed
      OR m.unique_users IS DISTINCT FROM t.users
      OR abs(m.p95_time_ms - t.p95) > chronicle.relative_error(m.duration_sketch) * t.p95")

q1=$(fastest $DB "SELECT hour, p95_time_ms FROM chronicle.command_metrics_hourly WHERE command_name = 'cmd_42' AND hour > now() - interval '7 days' ORDER BY hour")
q1_raw=$(fastest $DB "SELECT date_trunc('hour', started_at) AS hour, percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) FROM chronicle.command_executions WHERE command_name = 'cmd_42' AND started_at > now() - interval '7 days' GROUP BY 1 ORDER BY 1")
q2=$(fastest $DB "SELECT date, command_name, p50_time_ms, p95_time_ms, p99_time_ms FROM chronicle.command_metrics_daily WHERE date > current_date - 30 ORDER BY date, command_name")
q2_raw=$(fastest $DB "SELECT date_trunc('day', started_at) AS date, command_name, percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY duration_ms) FROM chronicle.command_executions WHERE started_at > now() - interval '30 days' GROUP BY 1, 2 ORDER BY 1, 2")
q3=$(fastest $DB "SELECT command_name, chronicle.approx_percentiles(chronicle.rollup(duration_sketch), '{0.5, 0.95, 0.99}') FROM chronicle.command_metrics_daily WHERE date > current_date - 30 GROUP BY 1")
q3_raw=$(fastest $DB "SELECT command_name, percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY duration_ms) FROM chronicle.command_executions WHERE started_at > now() - interval '30 days' GROUP BY 1")

cat <<TABLE
### Incremental metrics over $ROWS executions (7 days, 100 commands)

| refresh | ms | vs REFRESH MATERIALIZED VIEW CONCURRENTLY | target |
|---|---:|---:|---|
| original schema's \`command_performance_mv\`, \`REFRESH ... CONCURRENTLY\` | $full | 1.00 | |
| \`chronicle.refresh_metrics()\` after 20k new or changed executions ($inc_buckets hourly buckets, $inc_read executions read) | $inc_ms | $(ratio "$inc_ms" "$full") | ≤ 0.02 |
| \`chronicle.refresh_metrics()\` after 1k late arrivals spread over the week ($late_buckets hourly buckets) | $late_ms | $(ratio "$late_ms" "$full_late") | |
| first \`chronicle.refresh_metrics()\` of all $ROWS rows (hourly and daily, with sketches) | $initial | | |

| dashboard query | rollup (ms) | raw table (ms) | speedup | target |
|---|---:|---:|---:|---|
| 7 days of hourly p95 for one command | $q1 | $q1_raw | $(ratio "$q1_raw" "$q1")× | < 5 ms |
| daily p50/p95/p99 of every command, 30 days | $q2 | $q2_raw | $(ratio "$q2_raw" "$q2")× | < 5 ms |
| 30-day p50/p95/p99 per command (daily sketches rolled up) | $q3 | $q3_raw | $(ratio "$q3_raw" "$q3")× | |

Rollups differing from a direct aggregate of the raw rows (exact counts and users, p95 within the sketch's error): **$violations** buckets.
TABLE
