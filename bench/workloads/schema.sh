#!/usr/bin/env bash
# State schemas (issue: state schemas the database enforces). put_state of a ~1 kB state
# under a realistic 30-property JSON Schema (bench/sql/config_schema.json, enforce mode)
# against the same write with no schema; and, beside them, an unversioned upsert checked
# by a CHECK constraint: with chronicle.json_schema_violations (pg_jsonschema's way: the
# schema compiled on every call) and with hand-written PL/pgSQL of the same rules. 8 and
# 1 clients, SCHEMA_ROUNDS interleaved rounds (default 5) of BENCH_SECONDS / 3 each;
# the figures are medians.
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
DB=chronicle_bench_schema
S=$(mktemp -d)
trap 'rm -rf "$S"' EXIT
ROUNDS=${SCHEMA_ROUNDS:-5}
SECONDS_PER_RUN=$(( BENCH_SECONDS / 3 > 2 ? BENCH_SECONDS / 3 : 2 ))
fresh_db $DB
bench_psql $DB -q -f "$REPO_ROOT/bench/sql/config_schema.sql"
SCHEMA=$(cat "$REPO_ROOT/bench/sql/config_schema.json")
bench_psql $DB -q -v schema="$SCHEMA" >/dev/null <<'SQL'
SELECT chronicle.set_state_schema('checked', :'schema');
CREATE TABLE config_schema (schema jsonb NOT NULL);
INSERT INTO config_schema VALUES (:'schema');
CREATE FUNCTION matches_config_schema(doc jsonb) RETURNS boolean LANGUAGE sql IMMUTABLE
  RETURN chronicle.json_schema_violations(:'schema'::jsonb, doc) = '[]';
CREATE TABLE upsert_jsonschema (id text PRIMARY KEY, state jsonb NOT NULL CHECK (matches_config_schema(state)));
CREATE TABLE upsert_plpgsql (id text PRIMARY KEY, state jsonb NOT NULL CHECK (check_config(state)));
SQL
# The document meets the schema by every check, and a document that does not is refused
# by each: the four writes compare the same work.
[ "$(value $DB "SELECT chronicle.json_schema_violations(schema, config_doc(1)) = '[]' AND check_config(config_doc(1))
                  AND octet_length(config_doc(1)::text) BETWEEN 900 AND 1300 FROM config_schema")" = t ] \
  || fail "the benchmark document does not meet its schema, or is not about 1 kB"
[ "$(value $DB "SELECT NOT check_config(config_doc(1) || '{\"max_parallel\": 0}')
                  AND chronicle.json_schema_violations(schema, config_doc(1) || '{\"max_parallel\": 0}') <> '[]'
                  FROM config_schema")" = t ] || fail "a document breaking the schema is not refused by both checks"

printf '\\set e random(1, 1000)\nSELECT chronicle.put_state(%s, :e::text, config_doc(:client_id));\n' "'unchecked'" >"$S/put_plain.sql"
printf '\\set e random(1, 1000)\nSELECT chronicle.put_state(%s, :e::text, config_doc(:client_id));\n' "'checked'" >"$S/put_schema.sql"
printf '\\set e random(1, 1000)\nINSERT INTO upsert_jsonschema VALUES (:e::text, config_doc(:client_id))\n  ON CONFLICT (id) DO UPDATE SET state = excluded.state;\n' >"$S/upsert_jsonschema.sql"
printf '\\set e random(1, 1000)\nINSERT INTO upsert_plpgsql VALUES (:e::text, config_doc(:client_id))\n  ON CONFLICT (id) DO UPDATE SET state = excluded.state;\n' >"$S/upsert_plpgsql.sql"

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
declare -A runs
for clients in 8 1; do
  for round in $(seq "$ROUNDS"); do
    # Each round starts with a different workload, so none always runs first.
    order=(put_plain put_schema upsert_jsonschema upsert_plpgsql)
    shift_by=$(( (round - 1) % ${#order[@]} ))
    order=("${order[@]:shift_by}" "${order[@]:0:shift_by}")
    for w in "${order[@]}"; do
      runs[$w/$clients]+="$(tps $DB "$clients" "$SECONDS_PER_RUN" "$S/$w.sql") "
    done
  done
done
m() { echo "${runs[$1/$2]}" | tr ' ' '\n' | grep . | median; }
# r W C: the median over rounds of W's tps divided by the anchor's in the same round (the
# rounds are paired, so the machine's drift between rounds cancels).
r() {
  paste <(echo "${runs[$1/$2]}" | tr ' ' '\n' | grep .) <(echo "${runs[put_plain/$2]}" | tr ' ' '\n' | grep .) \
    | awk '{printf "%.4f\n", $1 / $2}' | median | xargs printf '%.2f'
}
violations=$(value $DB "SELECT count(*) FROM chronicle.state_versions v
                         JOIN chronicle.state_schemas s USING (entity_type, schema_version)
                        WHERE chronicle.json_schema_violations(s.schema, v.state) <> '[]'")
unvalidated=$(value $DB "SELECT count(*) FROM chronicle.state_versions WHERE entity_type = 'checked' AND schema_version IS NULL")

cat <<TABLE
### State schemas: put_state of a ~1 kB state under a 30-property JSON Schema (medians of $ROUNDS interleaved rounds of ${SECONDS_PER_RUN} s)

| workload | clients | tps (median) | vs put_state without a schema (median of per-round ratios) | target |
|---|---:|---:|---:|---|
| \`put_state\`, no schema (anchor) | 8 | $(m put_plain 8) | 1.00 | |
| \`put_state\`, 30-property schema, enforce | 8 | $(m put_schema 8) | $(r put_schema 8) | ≥ 0.9 |
| unversioned upsert, CHECK with \`json_schema_violations\` (compiled per call, as pg_jsonschema) | 8 | $(m upsert_jsonschema 8) | $(r upsert_jsonschema 8) | |
| unversioned upsert, CHECK with PL/pgSQL of the same rules | 8 | $(m upsert_plpgsql 8) | $(r upsert_plpgsql 8) | |
| \`put_state\`, no schema (anchor) | 1 | $(m put_plain 1) | 1.00 | |
| \`put_state\`, 30-property schema, enforce | 1 | $(m put_schema 1) | $(r put_schema 1) | |
| unversioned upsert, CHECK with \`json_schema_violations\` | 1 | $(m upsert_jsonschema 1) | $(r upsert_jsonschema 1) | |
| unversioned upsert, CHECK with PL/pgSQL of the same rules | 1 | $(m upsert_plpgsql 1) | $(r upsert_plpgsql 1) | |

Stored versions that do not validate against the schema version they record: **$violations**; versions of the checked type written without a schema: **$unvalidated** (both must be 0).
All runs, in round order: $(for k in "${!runs[@]}"; do printf '%s: %s; ' "$k" "${runs[$k]}"; done)
TABLE
