#!/usr/bin/env bash
# A worker fails under a mixed write load through the coordinator: it is stopped with
# `pg_ctl -m immediate` while clients write executions (single rows, and four rows at once,
# which Citus commits on both workers with two-phase commit) and finish them, and write
# states (one entity, delegated to its worker, or two in one transaction), then restarted.
# Every write a client saw committed is there, exactly once; Citus's recovery leaves no
# prepared transaction dangling; a refresh gives rollups equal to the raw rows; and the
# state store's invariants hold.
set -euo pipefail
CITUS_CLUSTER=citus-failure
CITUS_PORT=${CHRONICLE_CITUS_TEST_PORT:-54360}
export CHRONICLE_CLUSTER=$CITUS_CLUSTER CHRONICLE_PORT=$CITUS_PORT
# shellcheck source=../integration/lib.sh
source "$(dirname "$0")/../integration/lib.sh"
DB=chronicle_citus
WRITERS=4
WRITES=150
LOG=$(mktemp -d)

citus_cluster_start "$CITUS_CLUSTER" "$CITUS_PORT" "fsync = on"
trap 'citus_cluster_stop "$CITUS_CLUSTER"; rm -rf "$LOG"' EXIT
citus_create_database "$CITUS_CLUSTER" "$CITUS_PORT" "$DB"
sql "$DB" "CREATE EXTENSION pg_chronicle" >/dev/null
sql "$DB" "SELECT count(*) FROM chronicle.distribute(shard_count => 8)" >/dev/null

# writer N: WRITES transactions, each either one execution or four at once (both workers),
# each logged as "n rows" only once its COMMIT returned. A failed one is logged as failed.
writer() {
  local w=$1 i n rows
  for i in $(seq "$WRITES"); do
    n=$((w * 100000 + i))
    rows=$(( i % 3 == 0 ? 4 : 1 ))
    if cluster_psql "$CITUS_CLUSTER" "$CITUS_PORT" -d "$DB" -At -c "
         SELECT count(chronicle.record_command('load_' || (k % 3), jsonb_build_object('n', $n, 'k', k), NULL,
                                              'success', k * 10.0))
           FROM generate_series(1, $rows) k" >/dev/null 2>&1; then
      echo "$n $rows" >>"$LOG/committed-$w"
    else
      echo "$n" >>"$LOG/failed-$w"
    fi
  done
}
# finisher: starts executions and finishes them, logging each finish that committed.
finisher() {
  local i id
  for i in $(seq "$WRITES"); do
    id=$(cluster_psql "$CITUS_CLUSTER" "$CITUS_PORT" -d "$DB" -At \
           -c "SELECT chronicle.start_command('run', jsonb_build_object('n', $i))" 2>/dev/null) || continue
    cluster_psql "$CITUS_CLUSTER" "$CITUS_PORT" -d "$DB" -At \
      -c "SELECT status FROM chronicle.finish_command('$id', 'success')" >/dev/null 2>&1 \
      && echo "$id" >>"$LOG/finished"
  done
}

# state_writer: WRITES state writes, each one entity (put_state, run on the entity's
# worker) or two entities in one transaction (run from the coordinator, on both workers
# when the entities are: two-phase commit), logged as "n versions" once COMMIT returned.
state_writer() {
  local i versions query
  for i in $(seq "$WRITES"); do
    if (( i % 2 )); then
      versions=1
      query="SELECT chronicle.put_state('cfg', 'e' || ($i % 16), jsonb_build_object('n', $i))"
    else
      versions=2
      query="BEGIN;
             SELECT chronicle.put_state('cfg', 'e' || ($i % 16), jsonb_build_object('n', $i));
             SELECT chronicle.put_state('cfg', 'f' || ($i % 16), jsonb_build_object('n', $i));
             COMMIT;"
    fi
    if cluster_psql "$CITUS_CLUSTER" "$CITUS_PORT" -d "$DB" -At -c "$query" >/dev/null 2>&1; then
      echo "$i $versions" >>"$LOG/state-committed"
    fi
  done
}

pids=()
for w in $(seq "$WRITERS"); do writer "$w" & pids+=($!); done
finisher & pids+=($!)
state_writer & pids+=($!)
sleep 2
worker=$CITUS_CLUSTER-worker1
log "stopping $worker with -m immediate under load"
as_postgres "$PG_BIN/pg_ctl" -D "$(cluster_data "$worker")" -m immediate -w stop >/dev/null
sleep 2
as_postgres "$PG_BIN/pg_ctl" -D "$(cluster_data "$worker")" -l "$(cluster_log "$worker")" -w -t 60 start >/dev/null
log "$worker is back"
for pid in "${pids[@]}"; do wait "$pid"; done

committed=$(cat "$LOG"/committed-* | wc -l)
failed=$(cat "$LOG"/failed-* 2>/dev/null | wc -l)
echo "ok: $committed writes committed, $failed refused while the worker was down" >&2
[ "$failed" -gt 0 ] || { echo "FAIL: no write failed: the worker was not down under load" >&2; exit 1; }
[ "$committed" -gt 0 ] || { echo "FAIL: no write committed" >&2; exit 1; }

# Citus's recovery of the two-phase commits the crash interrupted.
sql "$DB" "SELECT recover_prepared_transactions()" >/dev/null
for i in 1 2; do
  expect_zero "$DB" "no prepared transaction is left on worker $i after recovery" \
    "SELECT result::int FROM run_command_on_workers('SELECT count(*) FROM pg_prepared_xacts')
      WHERE nodeport = $((CITUS_PORT + i))"
done
expect_zero "$DB" "the coordinator keeps no record of an unresolved transaction" \
  "SELECT count(*) FROM pg_dist_transaction"

# Every committed write is there exactly once, with all its rows; nothing else is.
cat "$LOG"/committed-* >"$LOG/committed"
expect_zero "$DB" "every committed write is there, once, with all its rows" "
  WITH committed(n, rows) AS (
    SELECT split_part(line, ' ', 1)::bigint, split_part(line, ' ', 2)::int
      FROM unnest(string_to_array(\$\$$(cat "$LOG/committed")\$\$, E'\n')) AS line WHERE line <> ''),
  stored AS (
    SELECT (parameters ->> 'n')::bigint AS n, count(*) AS rows
      FROM chronicle.command_executions WHERE command_name LIKE 'load_%' GROUP BY 1)
  SELECT count(*) FROM committed c LEFT JOIN stored s USING (n) WHERE s.rows IS DISTINCT FROM c.rows"
expect_zero "$DB" "no write is there in part" "
  SELECT count(*) FROM (SELECT parameters ->> 'n' FROM chronicle.command_executions
                         WHERE command_name LIKE 'load_%' GROUP BY 1 HAVING count(*) NOT IN (1, 4)) p"
if [ -s "$LOG/finished" ]; then
  expect_zero "$DB" "every finish that committed is there" "
    WITH finished AS (
      SELECT f.id::uuid AS id FROM unnest(string_to_array(\$\$$(cat "$LOG/finished")\$\$, E'\n')) AS f(id)
       WHERE f.id <> '')
    SELECT (SELECT count(*) FROM finished)
         - (SELECT count(*) FROM chronicle.command_executions e
             WHERE e.id IN (SELECT id FROM finished) AND e.status = 'success')"
fi

# The metrics after the failure.
sql "$DB" "SELECT chronicle.refresh_metrics()" >/dev/null
expect_zero "$DB" "after the failure, hourly rollups equal the raw rows" "
  WITH raw AS (
    SELECT date_trunc('hour', started_at, 'UTC') AS hour, command_name, count(*) AS executions,
           count(*) FILTER (WHERE status = 'success') AS successful
      FROM chronicle.command_executions GROUP BY 1, 2)
  SELECT count(*) FROM raw FULL JOIN chronicle.command_metrics_hourly m USING (hour, command_name)
   WHERE raw.executions IS DISTINCT FROM m.executions OR raw.successful IS DISTINCT FROM m.successful"

# The states after the failure: every committed write is there once, both entities of a
# two-entity write or neither, and the store's invariants hold.
[ -s "$LOG/state-committed" ] || fail "no state write committed"
expect_zero "$DB" "every committed state write is there, once, with all its versions" "
  WITH committed(n, versions) AS (
    SELECT split_part(line, ' ', 1)::int, split_part(line, ' ', 2)::int
      FROM unnest(string_to_array(\$\$$(cat "$LOG/state-committed")\$\$, E'\n')) AS line WHERE line <> ''),
  stored AS (
    SELECT (state ->> 'n')::int AS n, count(*) AS versions FROM chronicle.state_versions GROUP BY 1)
  SELECT count(*) FROM committed c LEFT JOIN stored s USING (n) WHERE s.versions IS DISTINCT FROM c.versions"
expect_zero "$DB" "no two-entity state write is there in part" "
  SELECT count(*) FROM (SELECT (state ->> 'n')::int AS n, count(*) AS versions FROM chronicle.state_versions
                         GROUP BY 1) p WHERE versions <> 2 - n % 2"
check_invariants "$DB"
