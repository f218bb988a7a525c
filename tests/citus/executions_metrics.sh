#!/usr/bin/env bash
# Command executions and their metrics on a Citus coordinator and two workers (three
# servers on localhost): chronicle.distribute() refuses where it must and is idempotent;
# the lifecycle and redaction trigger runs on the shards; row-level security keeps each
# user to their own rows through the coordinator, with the claims carried to the workers
# by chronicle.propagate_claims(); track() stays idempotent; refresh_metrics() gives
# rollups equal to aggregates of the raw rows spread over the workers.
set -euo pipefail
CITUS_CLUSTER=citus-test
CITUS_PORT=${CHRONICLE_CITUS_TEST_PORT:-54360}
export CHRONICLE_CLUSTER=$CITUS_CLUSTER CHRONICLE_PORT=$CITUS_PORT
# shellcheck source=../integration/lib.sh
source "$(dirname "$0")/../integration/lib.sh"
DB=chronicle_citus

citus_cluster_start "$CITUS_CLUSTER" "$CITUS_PORT" "fsync = off"
trap 'citus_cluster_stop "$CITUS_CLUSTER"' EXIT
create_supabase_roles "$CITUS_CLUSTER" "$CITUS_PORT"
citus_create_database "$CITUS_CLUSTER" "$CITUS_PORT" "$DB"
# Citus opens its connections to the workers as the current role: a role that reaches the
# distributed tables through the coordinator logs in on the workers (docs/citus.md).
sql "$DB" "ALTER ROLE authenticated LOGIN; ALTER ROLE service_role LOGIN" >/dev/null
expect_error "$DB" 55000 "distribute() refuses the transaction that created the extension" \
  "CREATE EXTENSION pg_chronicle; SELECT chronicle.distribute()"
sql "$DB" "CREATE EXTENSION pg_chronicle" >/dev/null

# As a signed-in user: the claims set the way PostgREST sets them, then carried to the
# workers. Prints the query's result.
as_user() {
  local user=$1 carry=$2 query=$3
  cluster_psql "$CITUS_CLUSTER" "$CITUS_PORT" -d "$DB" -At <<SQL
BEGIN;
SET LOCAL ROLE authenticated;
\o /dev/null
SELECT set_config('request.jwt.claims', '{"sub": "$user"}', true);
$([ "$carry" = carry ] && echo 'SELECT chronicle.propagate_claims();')
\o
$query
COMMIT;
SQL
}
ALICE=11111111-1111-4111-8111-111111111111
BOB=22222222-2222-4222-8222-222222222222

# --- distribute(): where it refuses, and that it is idempotent.
worker_refusal=$(cluster_psql "$CITUS_CLUSTER-worker1" $((CITUS_PORT + 1)) -d "$DB" -At -v VERBOSITY=verbose \
                   -c "SELECT chronicle.distribute()" 2>&1 || true)
grep -q "ERROR:  55000: chronicle.distribute() runs on the Citus coordinator" <<<"$worker_refusal" \
  || { echo "$worker_refusal" >&2; echo "FAIL: distribute() on a worker is refused (55000)" >&2; exit 1; }
echo "ok: distribute() on a worker is refused (55000)" >&2
sql "$DB" "SELECT chronicle.record_command('early', '{}')" >/dev/null
expect_error "$DB" 55000 "distribute() refuses tables that hold rows" "SELECT chronicle.distribute(shard_count => 4)"
expect_zero "$DB" "a refused distribute() changes nothing" \
  "SELECT count(*) FROM pg_dist_partition WHERE logicalrelid::text LIKE 'chronicle.%'"
sql "$DB" "DELETE FROM chronicle.command_executions; DELETE FROM chronicle.metrics_changes" >/dev/null
expect_error "$DB" 22023 "distribute() refuses a shard count out of range" "SELECT chronicle.distribute(shard_count => 0)"
# (tests/citus/state.sh checks the state store's part.)
first=$(sql "$DB" "SELECT * FROM chronicle.distribute(shard_count => 4) WHERE table_name::text !~ 'state|gist'")
again=$(sql "$DB" "SELECT * FROM chronicle.distribute() WHERE table_name::text !~ 'state|gist'")
expected="chronicle.command_executions|distributed by id
chronicle.metrics_changes|distributed by execution_id
chronicle.metrics_horizon|reference table"
[ "$first" = "$expected" ] || { echo "$first" >&2; echo "FAIL: distribute() reports what it distributed" >&2; exit 1; }
[ "$again" = "$expected" ] || { echo "$again" >&2; echo "FAIL: distribute() again changes nothing and says so" >&2; exit 1; }
echo "ok: distribute() distributes the executions by id, their changes co-located, and is idempotent" >&2
expect_zero "$DB" "executions and their changes are co-located, on both workers" \
  "SELECT (SELECT count(DISTINCT colocationid) - 1 FROM pg_dist_partition
            WHERE logicalrelid IN ('chronicle.command_executions'::regclass, 'chronicle.metrics_changes'::regclass))
        + (2 - (SELECT count(DISTINCT p.nodeport) FROM pg_dist_shard_placement p JOIN pg_dist_shard s USING (shardid)
                 WHERE s.logicalrelid = 'chronicle.command_executions'::regclass))"

# --- The lifecycle and redaction trigger on the shards.
id=$(sql "$DB" "SELECT chronicle.start_command('deploy', '{\"api_key\": \"s3cret\", \"region\": \"eu\"}')")
expect_zero "$DB" "secrets are redacted on the worker that stores the row" \
  "SELECT count(*) FROM chronicle.command_executions WHERE id = '$id' AND parameters <> '{\"api_key\": \"[REDACTED]\", \"region\": \"eu\"}'"
sql "$DB" "SELECT chronicle.finish_command('$id', 'success')" >/dev/null
expect_error "$DB" 55000 "a finished execution cannot go back to running" \
  "UPDATE chronicle.command_executions SET status = 'running' WHERE id = '$id'"
expect_zero "$DB" "finishing sets completed_at and duration_ms" \
  "SELECT count(*) FROM chronicle.command_executions WHERE id = '$id' AND (completed_at IS NULL OR duration_ms IS NULL)"

# --- Row-level security through the coordinator: two users and service_role.
as_user $ALICE carry "SELECT count(chronicle.start_command('alice_' || i, '{}')) FROM generate_series(1, 6) i;" >/dev/null
as_user $BOB carry "SELECT count(chronicle.start_command('bob_' || i, '{}')) FROM generate_series(1, 4) i;" >/dev/null
[ "$(as_user $ALICE carry "SELECT count(*) FROM chronicle.command_executions;")" = 6 ] \
  || { echo "FAIL: alice sees her 6 executions" >&2; exit 1; }
[ "$(as_user $ALICE carry "SELECT count(*) FROM chronicle.command_executions WHERE user_id <> '$ALICE';")" = 0 ] \
  || { echo "FAIL: alice sees no one else's execution" >&2; exit 1; }
[ "$(as_user $BOB carry "SELECT count(*) FROM chronicle.command_executions;")" = 4 ] \
  || { echo "FAIL: bob sees his 4 executions" >&2; exit 1; }
[ "$(as_user $BOB carry "UPDATE chronicle.command_executions SET metadata = '{}' WHERE user_id = '$ALICE' RETURNING 1;" | grep -c 1 || true)" = 0 ] \
  || { echo "FAIL: bob cannot change alice's executions" >&2; exit 1; }
echo "ok: through the coordinator each user sees and changes only their own executions" >&2
[ "$(as_user $ALICE plain "SELECT count(*) FROM chronicle.command_executions;")" = 0 ] \
  || { echo "FAIL: without propagate_claims() the workers see no user, and so no row" >&2; exit 1; }
echo "ok: without propagate_claims() a user sees nothing (the workers see no claims)" >&2
[ "$(sql "$DB" "BEGIN; SET LOCAL ROLE service_role; SELECT count(*) FROM chronicle.command_executions WHERE command_name LIKE 'alice_%' OR command_name LIKE 'bob_%'; COMMIT;")" = 10 ] \
  || { echo "FAIL: service_role sees every user's executions" >&2; exit 1; }
echo "ok: service_role sees every user's executions" >&2

# --- track() is idempotent per message and sender on a table distributed by id.
event='{"event": "command_executed", "messageId": "m-1", "anonymousId": "a-1", "timestamp": "2026-12-01T10:00:00Z",
        "properties": {"command_name": "tracked", "execution_time_ms": 5}}'
t1=$(sql "$DB" "SELECT chronicle.track('$event')")
t2=$(sql "$DB" "SELECT chronicle.track('$event')")
[ "$t1" = "$t2" ] || { echo "FAIL: the same message tracked twice gives one id ($t1, $t2)" >&2; exit 1; }
expect_zero "$DB" "the same message tracked twice is recorded once" \
  "SELECT count(*) - 1 FROM chronicle.command_executions WHERE message_id = 'm-1'"

# --- Metrics: executions over 30 hours, 5 commands and both workers; some finished by
# an UPDATE, some deleted.
sql "$DB" "
  INSERT INTO chronicle.command_executions (command_name, user_id, status, started_at, completed_at, duration_ms, error)
  SELECT 'cmd_' || (i % 5), ('00000000-0000-4000-8000-' || lpad((i % 7)::text, 12, '0'))::uuid,
         CASE WHEN i % 6 = 0 THEN 'failed' ELSE 'success' END, t.at, t.at + interval '1 second', (i % 97) * 1.5,
         CASE WHEN i % 6 = 0 THEN jsonb_build_object('code', 'E' || (i % 3)) END
    FROM generate_series(1, 3000) i,
         LATERAL (SELECT timestamptz '2026-11-28 00:00:00+00' + (i % 50) * interval '37 minutes' AS at) t;
  SELECT count(chronicle.start_command('run_' || (i % 3), '{}')) FROM generate_series(1, 60) i;
  UPDATE chronicle.command_executions SET status = 'success' WHERE command_name = 'run_1';
  DELETE FROM chronicle.command_executions WHERE command_name = 'cmd_3' AND duration_ms > 100;" >/dev/null
sql "$DB" "SELECT chronicle.refresh_metrics()" >/dev/null
expect_zero "$DB" "every change was taken by the refresh" "SELECT count(*) FROM chronicle.metrics_changes"
# The rollups against the raw rows: counts, users and error codes exactly; percentiles
# exactly (the sketch's buckets do not depend on the order rows arrive in).
expect_zero "$DB" "hourly rollups equal aggregates of the raw rows" "
  WITH raw AS (
    SELECT date_trunc('hour', started_at, 'UTC') AS hour, command_name, count(*) AS executions,
           count(*) FILTER (WHERE status = 'success') AS successful, count(*) FILTER (WHERE status = 'failed') AS failed,
           count(DISTINCT user_id) AS unique_users,
           chronicle.approx_percentiles(duration_ms, '{0.5, 0.95, 0.99}') AS p
      FROM chronicle.command_executions GROUP BY 1, 2)
  SELECT count(*) FROM raw FULL JOIN chronicle.command_metrics_hourly m USING (hour, command_name)
   WHERE raw.executions IS DISTINCT FROM m.executions OR raw.successful IS DISTINCT FROM m.successful
      OR raw.failed IS DISTINCT FROM m.failed OR raw.unique_users IS DISTINCT FROM m.unique_users
      OR raw.p[1] IS DISTINCT FROM m.p50_time_ms OR raw.p[2] IS DISTINCT FROM m.p95_time_ms
      OR raw.p[3] IS DISTINCT FROM m.p99_time_ms"
expect_zero "$DB" "daily rollups equal aggregates of the raw rows" "
  WITH raw AS (
    SELECT (started_at AT TIME ZONE 'UTC')::date AS date, command_name, count(*) AS executions,
           count(DISTINCT user_id) AS unique_users
      FROM chronicle.command_executions GROUP BY 1, 2)
  SELECT count(*) FROM raw FULL JOIN chronicle.command_metrics_daily m USING (date, command_name)
   WHERE raw.executions IS DISTINCT FROM m.executions OR raw.unique_users IS DISTINCT FROM m.unique_users"
expect_zero "$DB" "error codes of the failed executions are rolled up" "
  WITH raw AS (
    SELECT date_trunc('hour', started_at, 'UTC') AS hour, command_name,
           coalesce(array_agg(DISTINCT error ->> 'code') FILTER (WHERE error ->> 'code' IS NOT NULL), '{}') AS codes
      FROM chronicle.command_executions GROUP BY 1, 2)
  SELECT count(*) FROM raw FULL JOIN chronicle.command_metrics_hourly m USING (hour, command_name)
   WHERE raw.codes IS DISTINCT FROM m.error_codes"
before=$(sql "$DB" "SELECT count(*) FROM chronicle.command_executions")
expect_error "$DB" 0A000 "TRUNCATE of the distributed executions is refused" "TRUNCATE chronicle.command_executions"
expect_zero "$DB" "a refused TRUNCATE changes nothing" "SELECT $before - count(*) FROM chronicle.command_executions"

# Percentiles grouped by a column that is not the distribution column: partial sketches
# on the workers (one state per shard and group, the GROUP BY in the worker query), merged
# on the coordinator, and byte for byte the sketch one server computes from the same values.
GROUPED="SELECT command_name, chronicle.percentile_agg(duration_ms)::text AS sketch,
                chronicle.approx_percentiles(duration_ms, '{0.5, 0.95, 0.99}') AS p,
                chronicle.approx_percentile(duration_ms, 0.9) AS p90
           FROM %s GROUP BY command_name ORDER BY command_name"
# shellcheck disable=SC2059 # the query is the format
plan=$(sql "$DB" "EXPLAIN (VERBOSE, COSTS OFF) $(printf "$GROUPED" chronicle.command_executions)")
worker_query=$(grep -m1 'Query: SELECT' <<<"$plan" || true)
if ! grep -q 'coord_combine_agg' <<<"$plan" || ! grep -q 'worker_partial_agg' <<<"$worker_query" \
   || ! grep -q 'GROUP BY .*command_name' <<<"$worker_query"; then
  echo "$plan" >&2
  fail "the sketch aggregates are not computed on the workers"
fi
echo "ok: percentiles by command are partial sketches on the workers, merged on the coordinator" >&2
sql "$DB" "CREATE TABLE public.one_server AS SELECT command_name, duration_ms FROM chronicle.command_executions" >/dev/null
# shellcheck disable=SC2059
distributed=$(sql "$DB" "$(printf "$GROUPED" chronicle.command_executions)")
# shellcheck disable=SC2059
single=$(sql "$DB" "$(printf "$GROUPED" public.one_server)")
sql "$DB" "DROP TABLE public.one_server" >/dev/null
[ -n "$single" ] && [ "$distributed" = "$single" ] \
  || fail "the merged sketches differ from one server's: $(diff <(echo "$distributed") <(echo "$single") | head -5)"
echo "ok: the merged sketches are byte-identical to one server's ($(wc -l <<<"$single") groups)" >&2
# A signed-in user (no superuser, no EXECUTE on the support functions) gets the same
# pushed-down aggregates, over their own rows only.
mine=$(as_user $ALICE carry "SELECT count(*), chronicle.percentile_agg(coalesce(duration_ms, 1)) IS NOT NULL
                                FROM chronicle.command_executions;")
groups=$(as_user $ALICE carry "SELECT count(*), sum(n) FROM (
                                 SELECT command_name, count(*) AS n, chronicle.approx_percentiles(coalesce(duration_ms, 1), '{0.5}')
                                   FROM chronicle.command_executions GROUP BY 1) g;")
[ "$mine|$groups" = "6|t|6|6" ] || fail "a signed-in user's percentiles over their own rows: $mine|$groups (expected 6|t|6|6)"
echo "ok: a signed-in user's percentiles are computed on the workers over their own rows" >&2
