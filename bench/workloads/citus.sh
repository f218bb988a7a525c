#!/usr/bin/env bash
# Scale-out on Citus (issue: scale out on Citus): a coordinator and two workers on this
# machine, the executions distributed by chronicle.distribute(). The percentile query
# grouped by command against count/avg over the same rows, and the bytes the coordinator
# receives for each (Citus's EXPLAIN ANALYZE: "Tuple data received from nodes"; for the
# sketch, the size of its worker query's result on every shard), with
# percentile_cont as the query that must pull rows; then writes through the coordinator:
# record_command into the distributed executions against a plain distributed insert, and
# put_state (delegated to the entity's worker) against a plain distributed upsert.
# Medians of interleaved rounds. On two cores no speed-up can be shown: docs/citus.md puts
# the work per node and bytes per query as workers grow on paper.
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
DB=chronicle_bench_citus
ROWS=${BENCH_CITUS_ROWS:-1000000}
ROUNDS=${BENCH_ROUNDS:-5}
CITUS_BENCH=bench-citus
CITUS_BENCH_PORT=$((BENCH_PORT + 10))
citus_psql() { cluster_psql "$CITUS_BENCH" "$CITUS_BENCH_PORT" -d "$DB" "$@"; }

citus_supports_major "$PG_MAJOR" || { echo "Citus $CITUS_VERSION does not support PostgreSQL $PG_MAJOR: no Citus figures."; exit 0; }
ensure_citus
citus_cluster_start "$CITUS_BENCH" "$CITUS_BENCH_PORT" "shared_buffers = '512MB'" "max_wal_size = '4GB'" >&2
trap 'citus_cluster_stop "$CITUS_BENCH"' EXIT
citus_create_database "$CITUS_BENCH" "$CITUS_BENCH_PORT" "$DB" >/dev/null 2>&1
log "loading $ROWS executions over 3 servers"
citus_psql -o /dev/null <<SQL
CREATE EXTENSION pg_chronicle;
SELECT chronicle.distribute(shard_count => 8);
SELECT setseed(0.7);
INSERT INTO chronicle.command_executions (command_name, status, started_at, completed_at, duration_ms)
SELECT 'cmd_' || (i % 20), 'success', t.at, t.at, exp(4 + 0.8 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()))
  FROM generate_series(1, $ROWS) i,
       LATERAL (SELECT timestamptz '2026-11-01 00:00:00+00' + (i % 2000) * interval '1 minute' AS at) t;
DELETE FROM chronicle.metrics_changes;
CREATE TABLE plain_events (id uuid PRIMARY KEY, command_name text, duration_ms double precision);
SELECT create_distributed_table('plain_events', 'id', colocate_with => 'chronicle.command_executions');
CREATE TABLE plain_states (entity_type text, entity_id text, state jsonb NOT NULL, updated_at timestamptz NOT NULL,
                           PRIMARY KEY (entity_type, entity_id));
SELECT create_distributed_table('plain_states', 'entity_id', colocate_with => 'chronicle.state_entities');
VACUUM ANALYZE chronicle.command_executions;
SQL

Q="'{0.5, 0.95, 0.99}'"
FLOOR="SELECT command_name, count(*), avg(duration_ms) FROM chronicle.command_executions GROUP BY command_name"
SKETCH="SELECT command_name, chronicle.approx_percentiles(duration_ms, $Q) FROM chronicle.command_executions GROUP BY command_name"
# The same percentiles in two steps: Citus hands a one-argument aggregate its value as it
# is, but packs the arguments of a two-argument one into a row for every row.
SKETCH2="SELECT command_name, chronicle.approx_percentiles(chronicle.percentile_agg(duration_ms), $Q) FROM chronicle.command_executions GROUP BY command_name"
CONT="SELECT command_name, percentile_cont($Q::float8[]) WITHIN GROUP (ORDER BY duration_ms) FROM chronicle.command_executions GROUP BY command_name"

# One query's time in ms (psql's \timing), run once.
once() { citus_psql -c 'SET jit = off' -c '\timing on' -c "$1" | awk '/^Time: / {print $2}'; }
received() {
  citus_psql -At -c 'SET jit = off' -c "EXPLAIN (ANALYZE, VERBOSE, COSTS OFF, TIMING OFF) $1" \
    | awk '/Tuple data received from nodes:/ {for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+$/) {n = $i; u = $(i + 1)}}
           END {print n " " u}'
}
# Citus's EXPLAIN ANALYZE cannot run a query whose worker query returns a partial
# aggregate (its cstring column cannot be stored for the explain), so for the sketch the
# worker query EXPLAIN (VERBOSE) shows is run on every shard: the bytes of what it returns,
# the group key and the shipped state's text, summed over the shards.
received_partial() {
  local worker_query
  worker_query=$(citus_psql -At -c "EXPLAIN (VERBOSE, COSTS OFF) $1" | sed -n 's/^ *Query: //p' | head -n 1 \
                   | sed -E 's/chronicle\.command_executions_[0-9]+/%s/')
  grep -q worker_partial_agg <<<"$worker_query" || { echo "not pushed down"; return; }
  citus_psql -At -c "SELECT pg_size_pretty(sum(result::bigint)) FROM run_command_on_shards('chronicle.command_executions',
                       \$q\$SELECT sum(octet_length(command_name) + octet_length(approx_percentiles::text))
                            FROM ($worker_query) worker_result\$q\$)"
}

floor_ms=(); sketch_ms=(); sketch2_ms=(); cont_ms=()
for _ in $(seq "$ROUNDS"); do
  floor_ms+=("$(once "$FLOOR")"); sketch_ms+=("$(once "$SKETCH")"); sketch2_ms+=("$(once "$SKETCH2")")
  cont_ms+=("$(once "$CONT")")
done
floor=$(median "${floor_ms[@]}")
sketch=$(median "${sketch_ms[@]}")
sketch2=$(median "${sketch2_ms[@]}")
cont=$(median "${cont_ms[@]}")
floor_bytes=$(received "$FLOOR"); sketch_bytes=$(received_partial "$SKETCH"); sketch2_bytes=$(received_partial "$SKETCH2"); cont_bytes=$(received "$CONT")

# Writes through the coordinator, 4 clients, interleaved rounds.
S=$(mktemp -d)
printf "SELECT chronicle.record_command('cmd_' || (random() * 20)::int, '{}', NULL, 'success', random() * 100);\n" >"$S/record.sql"
printf "INSERT INTO plain_events VALUES (gen_random_uuid(), 'cmd_' || (random() * 20)::int, random() * 100);\n" >"$S/plain.sql"
# 10,000 entities, each write a new state.
cat >"$S/put_state.sql" <<'PGB'
\set k random(1, 10000)
SELECT chronicle.put_state('config', 'e' || :k, jsonb_build_object('value', (:k)::int, 'at', clock_timestamp()));
PGB
cat >"$S/upsert.sql" <<'PGB'
\set k random(1, 10000)
INSERT INTO plain_states VALUES ('config', 'e' || :k, jsonb_build_object('value', (:k)::int, 'at', clock_timestamp()), now())
ON CONFLICT (entity_type, entity_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at;
PGB
citus_tps() {
  pgbench -h "$RUN_DIR/$CITUS_BENCH" -p "$CITUS_BENCH_PORT" -U postgres -n -M prepared -c 4 -j 2 -T "$BENCH_SECONDS" \
    -f "$1" "$DB" 2>&1 | awk '/^tps = / {printf "%.0f\n", $3; exit}'
}
record_tps=(); plain_tps=(); put_tps=(); upsert_tps=()
for _ in $(seq 3); do
  record_tps+=("$(citus_tps "$S/record.sql")"); plain_tps+=("$(citus_tps "$S/plain.sql")")
  put_tps+=("$(citus_tps "$S/put_state.sql")"); upsert_tps+=("$(citus_tps "$S/upsert.sql")")
done
rm -rf "$S"
record=$(median "${record_tps[@]}")
plain=$(median "${plain_tps[@]}")
put=$(median "${put_tps[@]}")
upsert=$(median "${upsert_tps[@]}")

cat <<TABLE
### Citus: a coordinator and two workers on one machine, $ROWS executions in 8 shards

| query, grouped by 20 commands | ms (median of $ROUNDS) | vs count/avg | data the coordinator received | target |
|---|---:|---:|---:|---|
| \`count(*), avg()\` (floor) | $floor | 1.00 | $floor_bytes | |
| \`chronicle.approx_percentiles\` | $sketch | $(ratio "$sketch" "$floor") | $sketch_bytes | ≤ 1.3×; one sketch per shard and group |
| \`approx_percentiles(percentile_agg())\`, two steps | $sketch2 | $(ratio "$sketch2" "$floor") | $sketch2_bytes | ≤ 1.3× |
| \`percentile_cont\` (pulls rows) | $cont | $(ratio "$cont" "$floor") | $cont_bytes | |

| writes through the coordinator, 4 clients | tps (median of 3) | ratio |
|---|---:|---:|
| plain \`INSERT\` into a distributed table (anchor) | $plain | 1.00 |
| \`chronicle.record_command\` (lifecycle, redaction, metrics changes) | $record | $(ratio "$record" "$plain") |
| plain upsert into a table distributed by entity id (anchor) | $upsert | 1.00 |
| \`chronicle.put_state\` (delegated to the entity's worker; 10,000 entities) | $put | $(ratio "$put" "$upsert") |

The sketch aggregates run as partial aggregates on the workers: the coordinator receives one
sketch state per shard and group (the bytes of the worker query's result, summed over the
shards), and merges them ([docs/citus.md](../../../docs/citus.md#percentiles)). A
\`put_state\` through the coordinator is one call sent to the worker that holds the entity,
which runs the whole versioned write there ([docs/citus.md](../../../docs/citus.md#the-versioned-state)).
TABLE
