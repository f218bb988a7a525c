#!/usr/bin/env bash
# Versioned writes (issue: foundation and state store). Throughput with 8 clients and
# with 1 over 1,000 entities for put_state and direct INSERT, against a plain unversioned
# upsert, the same upsert under the periods extension's system versioning (a C trigger
# copying the old row into a history table; where Debian packages it for the major) and
# the original schema's PL/pgSQL trigger. The runs take turns, round after round, and each
# figure is the median of its rounds: one fixed order skews this machine by up to 30%.
# Then invariant violations, and per-write cost at 1 and 100,000 versions of one entity.
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
DB=chronicle_bench_state
S=$(mktemp -d)
trap 'rm -rf "$S"' EXIT
PERIODS_PACKAGE=postgresql-$PG_MAJOR-periods
periods=no
if major_package_exists "$PERIODS_PACKAGE"; then ensure_major_packages "$PERIODS_PACKAGE"; periods=yes; fi
fresh_db $DB
bench_psql $DB -f "$REPO_ROOT/bench/sql/seed_state_store.sql"
if [ $periods = yes ]; then
  bench_psql $DB -q -o /dev/null <<'SQL'
CREATE EXTENSION periods CASCADE;
CREATE TABLE periods_state (entity_type text, entity_id text, state jsonb NOT NULL,
                            PRIMARY KEY (entity_type, entity_id));
SELECT periods.add_system_time_period('periods_state');
SELECT periods.add_system_versioning('periods_state');
SQL
fi

# The same ~150-byte document everywhere, different on every write.
DOC="jsonb_build_object('writer', :client_id::int, 'r', random(), 'theme', 'dark', 'flags', jsonb_build_array(1, 2, 3), 'limits', jsonb_build_object('parallel', 4, 'timeout_ms', 30000))"
printf '\\set e random(1, 1000)\nINSERT INTO plain_state VALUES (%s, :e::text, %s)\n  ON CONFLICT (entity_type, entity_id) DO UPDATE SET state = excluded.state;\n' "'bench'" "$DOC" >"$S/upsert.sql"
printf '\\set e random(1, 1000)\nSELECT chronicle.put_state(%s, :e::text, %s);\n' "'bench'" "$DOC" >"$S/put.sql"
printf '\\set e random(1, 1000)\nINSERT INTO chronicle.state_store (entity_type, entity_id, state) VALUES (%s, :e::text, %s);\n' "'direct'" "$DOC" >"$S/insert.sql"
# periods refuses to update a row created after the updating transaction began ("invalid
# row version", not a serialization failure pgbench could retry), which clients sharing
# entities hit within seconds: each of its clients writes its own 125 entities.
printf '\\set e :client_id * 125 + random(1, 125)\nINSERT INTO periods_state VALUES (%s, :e::text, %s)\n  ON CONFLICT (entity_type, entity_id) DO UPDATE SET state = excluded.state;\n' "'bench'" "$DOC" >"$S/periods.sql"
printf '\\set e random(1, 1000)\nINSERT INTO seed_state_store (entity_type, entity_id, state) VALUES (%s, :e::text, %s);\n' "'bench'" "$DOC" >"$S/seed.sql"

T=$BENCH_SECONDS
ROUNDS=${BENCH_ROUNDS:-3}
# run_round CLIENTS NAME...: one run of each named script, in the order given.
declare -A runs
run_round() {
  local clients=$1 name; shift
  for name in "$@"; do runs[$name$clients]+="$(tps $DB "$clients" "$T" "$S/$name.sql") "; done
}
eight=(upsert put insert); one=(upsert put)
[ $periods = yes ] && { eight+=(periods); one+=(periods); }
for round in $(seq "$ROUNDS"); do
  # Every other round in the opposite order, so no workload always runs first.
  if [ $((round % 2)) = 1 ]; then
    run_round 8 "${eight[@]}"; run_round 1 "${one[@]}"
  else
    mapfile -t rev8 < <(printf '%s\n' "${eight[@]}" | tac); mapfile -t rev1 < <(printf '%s\n' "${one[@]}" | tac)
    run_round 8 "${rev8[@]}"; run_round 1 "${rev1[@]}"
  fi
done
# shellcheck disable=SC2086 # the runs are space-separated numbers
med() { median ${runs[$1]}; }
upsert8=$(med upsert8); put8=$(med put8); insert8=$(med insert8)
upsert1=$(med upsert1); put1=$(med put1)
periods8=n/a; periods1=n/a
[ $periods = yes ] && { periods8=$(med periods8); periods1=$(med periods1); }
seed1=$(tps $DB 1 "$T" "$S/seed.sql")
violations=$(bench_psql $DB -At -f "$REPO_ROOT/tests/integration/state/invariants.sql" | awk -F'|' '{s += $2} END {print s + 0}')

# The original schema's trigger under 4 concurrent clients: how many clients abort, and what the
# table looks like afterwards.
bench_psql $DB -c "TRUNCATE seed_state_store"
seed4_out=$(pgbench -h "$BENCH_HOST" -p "$BENCH_PORT" -U postgres -n -M prepared -c 4 -j 2 -T 5 \
              -f "$S/seed.sql" $DB 2>&1 || true)
seed4_aborted=$(echo "$seed4_out" | grep -c 'aborted in command' || true)
seed4_broken=$(value $DB "SELECT count(*) FROM (SELECT entity_id FROM seed_state_store GROUP BY entity_id
  HAVING count(*) FILTER (WHERE valid_to IS NULL) > 1 OR count(DISTINCT version) < count(*)) b")

# Per-write cost against history length: one client, one write per transaction, with
# synchronous_commit off so the WAL flush at commit (the same for every write) does not
# drown the cost of the write itself. "At 1": writes to a fresh entity (its first 2,000
# versions); "at 100,000": writes to an entity that already has 100,000 versions. The
# original trigger's history is bulk-loaded with its trigger off (its own writes would be quadratic).
export PGOPTIONS="-c synchronous_commit=off"
printf "SELECT chronicle.put_state('deep', :entity::text, jsonb_build_object('r', random()));\n" >"$S/deep_put.sql"
printf "INSERT INTO seed_state_store (entity_type, entity_id, state) VALUES ('deep', :entity::text, jsonb_build_object('r', random()));\n" >"$S/deep_seed.sql"
latency "$DB" 100000 "$S/deep_put.sql" -D entity=deep >/dev/null
put_at_1=$(latency "$DB" 2000 "$S/deep_put.sql" -D entity=shallow)
put_at_100k=$(latency "$DB" 2000 "$S/deep_put.sql" -D entity=deep)
bench_psql $DB -c "ALTER TABLE seed_state_store DISABLE TRIGGER before_state_insert" \
  -c "INSERT INTO seed_state_store (entity_type, entity_id, state, version, valid_from, valid_to)
      SELECT 'deep', 'deep', jsonb_build_object('i', i), i, now() - (100001 - i) * interval '1 ms',
             CASE WHEN i < 100000 THEN now() - (100000 - i) * interval '1 ms' END
        FROM generate_series(1, 100000) i" \
  -c "ALTER TABLE seed_state_store ENABLE TRIGGER before_state_insert" -c "ANALYZE seed_state_store"
seed_at_1=$(latency "$DB" 500 "$S/deep_seed.sql" -D entity=shallow)
seed_at_100k=$(latency "$DB" 100 "$S/deep_seed.sql" -D entity=deep)
unset PGOPTIONS

cat <<TABLE
### Versioned state writes (tps: medians of $ROUNDS interleaved rounds of $T s)

| workload | clients | tps | ratio | target |
|---|---:|---:|---:|---|
| plain unversioned upsert (anchor) | 8 | $upsert8 | 1.00 | |
| \`chronicle.put_state\` | 8 | $put8 | $(ratio "$put8" "$upsert8") | ≥ 0.8 |
| direct \`INSERT INTO chronicle.state_store\` | 8 | $insert8 | $(ratio "$insert8" "$upsert8") | ≥ 0.8 |
| the upsert under \`periods\` system versioning, 125 entities per client | 8 | $periods8 | $(ratio "$periods8" "$upsert8") | |
| plain unversioned upsert (anchor) | 1 | $upsert1 | 1.00 | |
| \`chronicle.put_state\` | 1 | $put1 | $(ratio "$put1" "$upsert1") | ≥ 0.9 |
| the upsert under \`periods\` system versioning | 1 | $periods1 | $(ratio "$periods1" "$upsert1") | |
| original schema's PL/pgSQL trigger | 1 | $seed1 | $(ratio "$seed1" "$upsert1") | |

Every round (tps): put_state at 8 clients ${runs[put8]% }, the upsert ${runs[upsert8]% }; at 1 client ${runs[put1]% } against ${runs[upsert1]% }.
\`put_state\` against \`periods\`: $(ratio "$put8" "$periods8")× at 8 clients, $(ratio "$put1" "$periods1")× at 1$([ $periods = yes ] || echo " ($PERIODS_PACKAGE is not packaged for this major's suite)").

Invariant violations after the chronicle runs: **$violations** (target 0).
The original schema's trigger with 4 clients for 5 s: $seed4_aborted of 4 clients aborted, $seed4_broken entities left with two current versions or duplicate version numbers.

| per-write latency (1 client, synchronous_commit off) | at 1 version | at 100,000 versions | ratio | target |
|---|---:|---:|---:|---|
| \`chronicle.put_state\` | $put_at_1 ms | $put_at_100k ms | $(ratio "$put_at_100k" "$put_at_1") | ≤ 1.2 |
| original schema's PL/pgSQL trigger | $seed_at_1 ms | $seed_at_100k ms | $(ratio "$seed_at_100k" "$seed_at_1") | |
TABLE
