#!/usr/bin/env bash
# Versioned writes (issue: foundation and state store). Throughput with 8 clients over
# 1,000 entities for put_state and direct INSERT, against a plain unversioned upsert and
# the original schema's PL/pgSQL trigger; invariant violations; per-write cost at 1 and 100,000
# versions of one entity.
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
DB=chronicle_bench_state
S=$(mktemp -d)
trap 'rm -rf "$S"' EXIT
fresh_db $DB
bench_psql $DB -f "$REPO_ROOT/bench/sql/seed_state_store.sql"

# The same ~150-byte document everywhere, different on every write.
DOC="jsonb_build_object('writer', :client_id::int, 'r', random(), 'theme', 'dark', 'flags', jsonb_build_array(1, 2, 3), 'limits', jsonb_build_object('parallel', 4, 'timeout_ms', 30000))"
printf '\\set e random(1, 1000)\nINSERT INTO plain_state VALUES (%s, :e::text, %s)\n  ON CONFLICT (entity_type, entity_id) DO UPDATE SET state = excluded.state;\n' "'bench'" "$DOC" >"$S/upsert.sql"
printf '\\set e random(1, 1000)\nSELECT chronicle.put_state(%s, :e::text, %s);\n' "'bench'" "$DOC" >"$S/put.sql"
printf '\\set e random(1, 1000)\nINSERT INTO chronicle.state_store (entity_type, entity_id, state) VALUES (%s, :e::text, %s);\n' "'direct'" "$DOC" >"$S/insert.sql"
printf '\\set e random(1, 1000)\nINSERT INTO seed_state_store (entity_type, entity_id, state) VALUES (%s, :e::text, %s);\n' "'bench'" "$DOC" >"$S/seed.sql"

T=$BENCH_SECONDS
upsert8=$(tps $DB 8 "$T" "$S/upsert.sql")
put8=$(tps $DB 8 "$T" "$S/put.sql")
insert8=$(tps $DB 8 "$T" "$S/insert.sql")
upsert1=$(tps $DB 1 "$T" "$S/upsert.sql")
put1=$(tps $DB 1 "$T" "$S/put.sql")
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
### Versioned state writes

| workload | clients | tps | ratio | target |
|---|---:|---:|---:|---|
| plain unversioned upsert (anchor) | 8 | $upsert8 | 1.00 | |
| \`chronicle.put_state\` | 8 | $put8 | $(ratio "$put8" "$upsert8") | ≥ 0.8 |
| direct \`INSERT INTO chronicle.state_store\` | 8 | $insert8 | $(ratio "$insert8" "$upsert8") | ≥ 0.8 |
| plain unversioned upsert (anchor) | 1 | $upsert1 | 1.00 | |
| \`chronicle.put_state\` | 1 | $put1 | $(ratio "$put1" "$upsert1") | |
| original schema's PL/pgSQL trigger | 1 | $seed1 | $(ratio "$seed1" "$upsert1") | |

Invariant violations after the chronicle runs: **$violations** (target 0).
The original schema's trigger with 4 clients for 5 s: $seed4_aborted of 4 clients aborted, $seed4_broken entities left with two current versions or duplicate version numbers.

| per-write latency (1 client, synchronous_commit off) | at 1 version | at 100,000 versions | ratio | target |
|---|---:|---:|---:|---|
| \`chronicle.put_state\` | $put_at_1 ms | $put_at_100k ms | $(ratio "$put_at_100k" "$put_at_1") | ≤ 1.2 |
| original schema's PL/pgSQL trigger | $seed_at_1 ms | $seed_at_100k ms | $(ratio "$seed_at_100k" "$seed_at_1") | |
TABLE
