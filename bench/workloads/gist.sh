#!/usr/bin/env bash
# Gist export (issue: Gist sync). The release chronicle-gist binary against the fake Gist
# API on loopback (crates/gist-testkit/src/bin/fake_github.rs, no rate limit):
#   - draining 10,000 queued exports (10,000 entities of a latest-mode type, one gist)
#     with 1 and with 4 exporter processes: exports acknowledged per second, with the
#     fake answering at once, and again with 20 ms per request (closer to GitHub, whose
#     answers take longer still);
#   - Gist API requests sent for 1,000 rapid writes (one transaction each, pgbench) to
#     one entity in latest mode, with an exporter running throughout: with its default
#     spacing of requests (1 s, GitHub's guidance) and, for comparison, with none.
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
DB=chronicle_bench_gist
S=$(mktemp -d)
BACKGROUND=()
cleanup() {
  local pid
  for pid in "${BACKGROUND[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  rm -rf "$S"
}
trap cleanup EXIT

log "building chronicle-gist (release)"
(cd "$REPO_ROOT" && cargo build -q --release -p chronicle-gist -p chronicle-gist-testkit --bins)
# The exporter is a client: built on the host, whichever major the server is.
GIST_TARGET_DIR=${CARGO_TARGET_DIR:-$REPO_ROOT/target}
case $GIST_TARGET_DIR in /*) ;; *) GIST_TARGET_DIR=$REPO_ROOT/$GIST_TARGET_DIR ;; esac
BIN=$GIST_TARGET_DIR/release/chronicle-gist
FAKE=$GIST_TARGET_DIR/release/fake_github

URL="host=$BENCH_HOST port=$BENCH_PORT user=postgres dbname=$DB"
export GITHUB_TOKEN=fake-github-token
# Throughput is measured without GitHub's limits: the budget must not pace it.
export CHRONICLE_GIST_MAX_WRITES_PER_MINUTE=1000000 CHRONICLE_GIST_MAX_WRITES_PER_HOUR=100000000

fresh_db $DB
# start_fake NAME ARGS...: a fake Gist API; its URL goes into the variable NAME. Threads:
# four exporters must not queue behind each other at the fake.
start_fake() {
  local name=$1; shift
  "$FAKE" --threads 8 "$@" >"$S/$name.out" 2>/dev/null &
  BACKGROUND+=("$!")
  for _ in $(seq 100); do [ -s "$S/$name.out" ] && break; sleep 0.1; done
  printf -v "$name" %s "$(head -n 1 "$S/$name.out")"
  [ -n "${!name}" ] || { echo "the fake Gist API did not start" >&2; exit 1; }
}
start_fake FAST --gist drain1 --gist drain4 --gist rapid1 --gist rapid0
start_fake SLOW --gist slow1 --gist slow4 --latency-ms 20

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
queue_idle() {
  [ "$(value $DB "SELECT pending + in_flight FROM chronicle.export_stats()")" = 0 ]
}

# drain API TYPE PROCESSES: queues 10,000 exports of TYPE (to the gist named TYPE) and
# times PROCESSES exporters draining them against API (each exits once nothing is
# claimable); prints exports per second.
drain() {
  local api=$1 type=$2 gist=$2 processes=$3 pids=() i started elapsed
  value $DB "SELECT count(*) FROM chronicle.set_gist_target('$type', '$gist')" >/dev/null
  value $DB "SELECT count(chronicle.put_state('$type', i::text,
               jsonb_build_object('id', i, 'theme', 'dark', 'flags', jsonb_build_array(1, 2, 3),
                                  'limits', jsonb_build_object('parallel', 4, 'timeout_ms', 30000))))
               FROM generate_series(1, 10000) i" >/dev/null
  # The same starting point for every run: no checkpoint under way, a vacuumed queue.
  bench_psql $DB -q -c "VACUUM ANALYZE chronicle.gist_export_queue" -c "CHECKPOINT"
  started=$(now_ms)
  for i in $(seq "$processes"); do
    "$BIN" --database-url "$URL" --api-url "$api" export --exit-when-idle --min-request-interval 0 \
      2>"$S/drain-$type-$i.log" &
    pids+=("$!")
  done
  for i in "${pids[@]}"; do
    wait "$i" || { cat "$S"/drain-"$type"-*.log >&2; kill -KILL "${pids[@]}" 2>/dev/null; return 1; }
  done
  elapsed=$(( $(now_ms) - started ))
  queue_idle || { echo "exports left after the drain" >&2; return 1; }
  local acked
  acked=$(value $DB "SELECT count(*) FROM chronicle.gist_export_deliveries WHERE entity_type = '$type'")
  [ "$acked" = 10000 ] || { echo "$type: $acked of 10000 exports acknowledged" >&2; return 1; }
  awk -v n=10000 -v ms="$elapsed" 'BEGIN { printf "%.0f", n * 1000 / ms }'
}

# rapid TYPE INTERVAL: 1,000 writes to one entity, one transaction each, with an
# exporter (spacing its requests by INTERVAL seconds) running; waits until the last
# version is delivered. Prints the seconds the writes took.
rapid() {
  local type=$1 gist=$1 interval=$2 pid started elapsed
  value $DB "SELECT count(*) FROM chronicle.set_gist_target('$type', '$gist')" >/dev/null
  "$BIN" --database-url "$URL" --api-url "$FAST" export --min-request-interval "$interval" --poll-interval 1 \
    2>"$S/rapid-$type.log" &
  pid=$!
  # Called in a command substitution: stop the exporter on the way out, whatever happens.
  trap 'kill -KILL $pid 2>/dev/null || true' RETURN
  sleep 0.5
  printf "SELECT chronicle.put_state('%s', 'hot', jsonb_build_object('n', random()));\n" "$type" >"$S/rapid.sql"
  started=$(now_ms)
  pgbench -h "$BENCH_HOST" -p "$BENCH_PORT" -U postgres -n -M prepared -c 1 -t 1000 -f "$S/rapid.sql" $DB \
    >"$S/pgbench.out" 2>&1 || { cat "$S/pgbench.out" >&2; return 1; }
  elapsed=$(( $(now_ms) - started ))
  for _ in $(seq 300); do queue_idle && break; sleep 0.1; done
  queue_idle || { echo "the last version was not delivered" >&2; return 1; }
  kill -TERM "$pid"
  wait "$pid" || { cat "$S/rapid-$type.log" >&2; return 1; }
  awk -v ms="$elapsed" 'BEGIN { printf "%.1f", ms / 1000 }'
}

one=$(drain "$FAST" drain1 1)
four=$(drain "$FAST" drain4 4)
slow_one=$(drain "$SLOW" slow1 1)
slow_four=$(drain "$SLOW" slow4 4)
rapid_secs=$(rapid rapid1 1)
rapid0_secs=$(rapid rapid0 0)
versions=$(value $DB "SELECT count(*) FROM chronicle.state_versions WHERE entity_type = 'rapid1'")
versions0=$(value $DB "SELECT count(*) FROM chronicle.state_versions WHERE entity_type = 'rapid0'")
for pid in "${BACKGROUND[@]}"; do kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
BACKGROUND=()
patches() { awk -v g="$1" '$1 == "gist" && $2 == g {print $6}' "$S/FAST.out"; }
# delivered TYPE: whether the last acknowledged export of TYPE is the current version.
delivered() {
  value $DB "SELECT (SELECT checksum FROM chronicle.gist_export_deliveries WHERE entity_type = '$1'
                      ORDER BY id DESC LIMIT 1)
                  = (SELECT checksum FROM chronicle.current_state WHERE entity_type = '$1')"
}

cat <<TABLE
### Gist export (chronicle-gist against the fake Gist API, release build)

| workload | exporters | exports/s | speedup | target |
|---|---:|---:|---:|---|
| drain 10,000 queued exports (latest mode, batch 10) | 1 | $one | 1.00 | |
| drain 10,000 queued exports (latest mode, batch 10) | 4 | $four | $(ratio "$four" "$one") | > 1 |
| same, the fake taking 20 ms per request | 1 | $slow_one | 1.00 | |
| same, the fake taking 20 ms per request | 4 | $slow_four | $(ratio "$slow_four" "$slow_one") | |

| 1,000 rapid writes to one entity (latest mode, exporter running) | writes took | versions | Gist API requests | target |
|---|---:|---:|---:|---|
| default request spacing (\`--min-request-interval 1\`) | ${rapid_secs} s | $versions | $(patches rapid1) | a handful |
| no spacing (\`--min-request-interval 0\`), for comparison | ${rapid0_secs} s | $versions0 | $(patches rapid0) | |

The last acknowledged export is the entity's current version in both rapid runs: $(delivered rapid1), $(delivered rapid0).
TABLE
