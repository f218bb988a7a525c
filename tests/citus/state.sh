#!/usr/bin/env bash
# The versioned state store and its export queue on a Citus coordinator and two workers:
# distribute() spreads the store by entity_id (a Gist target set before it is copied to a
# reference table); concurrent writers through the coordinator, delegated and inside
# transactions, keep every guarantee of one server (gapless versions, one current version,
# strictly increasing valid_from, immutable history, compare-and-set, atomic merge patch);
# as-of, diff and revert read the shards; and exporters claiming from the coordinator get
# every version in per-file order, coalesced in latest mode, with no prepared
# transaction left behind.
set -euo pipefail
CITUS_CLUSTER=citus-test
CITUS_PORT=${CHRONICLE_CITUS_TEST_PORT:-54360}
export CHRONICLE_CLUSTER=$CITUS_CLUSTER CHRONICLE_PORT=$CITUS_PORT
# shellcheck source=../integration/lib.sh
source "$(dirname "$0")/../integration/lib.sh"
DB=chronicle_citus_state

citus_cluster_start "$CITUS_CLUSTER" "$CITUS_PORT" "fsync = off"
trap 'citus_cluster_stop "$CITUS_CLUSTER"' EXIT
citus_create_database "$CITUS_CLUSTER" "$CITUS_PORT" "$DB"
sql "$DB" "CREATE EXTENSION pg_chronicle" >/dev/null
sql "$DB" "SELECT chronicle.set_gist_target('config', 'aa11bb22cc33')" >/dev/null
sql "$DB" "SELECT chronicle.set_gist_target('log', 'aa11bb22cc33', '{entity_type}-{entity_id}.json', 'every_version')" >/dev/null

distribution=$(sql "$DB" "SELECT * FROM chronicle.distribute(shard_count => 4) WHERE table_name::text ~ 'state|gist'")
expected="chronicle.gist_export_outbox|distributed by entity_id
chronicle.gist_targets|reference table
chronicle.state_deletions|distributed by entity_id
chronicle.state_entities|distributed by entity_id
chronicle.state_schema_violations|distributed by entity_id
chronicle.state_schemas|reference table
chronicle.state_versions|distributed by entity_id"
[ "$distribution" = "$expected" ] || fail "distribute() spreads the state store by entity_id: got
$distribution"
echo "ok: distribute() spreads the state store by entity_id, co-located, targets and schemas everywhere" >&2
expect_zero "$DB" "the target set before distribute() is on every node" \
  "SELECT 3 - count(*) FROM run_command_on_all_nodes(\$\$SELECT count(*) FROM chronicle.gist_targets\$\$) WHERE result = '2'"
expect_zero "$DB" "the state writes are delegated to the worker that holds the entity" \
  "SELECT 4 - count(*) FROM pg_dist_object o JOIN pg_proc p ON p.oid = o.objid
    WHERE p.proname IN ('put_state', 'patch_state', 'revert_state', 'delete_state') AND o.distribution_argument_index = 1"

# --- Concurrent writers through the coordinator. Every client patches its own key into
# shared entities (a lost update would drop another client's key), writes whole states,
# and writes two versions in one transaction (not delegated: each statement goes to the
# worker); others write every_version logs.
work=$(mktemp -d)
cat >"$work/patch.sql" <<'SQL'
\set e random(1, 12)
\set v random(1, 100000)
SELECT chronicle.patch_state('config', 'e' || :e, jsonb_build_object('c' || :client_id, :v));
SQL
cat >"$work/two.sql" <<'SQL'
\set e random(1, 12)
\set v random(1, 100000)
BEGIN;
SELECT chronicle.patch_state('config', 'e' || :e, jsonb_build_object('c' || :client_id, :v));
SELECT chronicle.put_state('log', 'l' || :e, jsonb_build_object('n', :v));
COMMIT;
SQL
bench "$DB" 15 8 -f "$work/patch.sql" -f "$work/two.sql"
rm -rf "$work"
check_invariants "$DB"
expect_zero "$DB" "no merge patch lost another's key (each entity's current state has every key it ever had)" "
  SELECT count(*) FROM (
    SELECT v.entity_id, k.key FROM chronicle.state_versions v, jsonb_object_keys(v.state) k(key)
     WHERE v.entity_type = 'config'
    EXCEPT
    SELECT c.entity_id, k.key FROM chronicle.current_state c, jsonb_object_keys(c.state) k(key)
     WHERE c.entity_type = 'config') lost"
expect_zero "$DB" "no prepared transaction is left" "SELECT count(*) FROM pg_prepared_xacts"
expect_zero "$DB" "no prepared transaction is left on the workers" \
  "SELECT sum(result::int) FROM run_command_on_workers('SELECT count(*) FROM pg_prepared_xacts')"

# --- Compare-and-set, history, as-of, diff, revert and deletion through the coordinator.
sql "$DB" "SELECT chronicle.put_state('doc', 'd', '{\"a\": 1}'), chronicle.put_state('doc', 'd', '{\"a\": 2}')" >/dev/null
expect_error "$DB" 55000 "a compare-and-set against a stale version is refused" \
  "SELECT chronicle.put_state('doc', 'd', '{\"a\": 3}', 1)"
[ "$(sql "$DB" "SELECT chronicle.put_state('doc', 'd', '{\"a\": 3}', 2)")" = 3 ] || fail "a compare-and-set against the current version writes"
[ "$(sql "$DB" "SELECT chronicle.state_version('doc', 'd')")" = 3 ] || fail "state_version reads the head"
[ "$(sql "$DB" "SELECT chronicle.state_diff('doc', 'd', 1, 3)")" = '[{"op": "replace", "path": "/a", "value": 3}]' ] \
  || fail "state_diff compares two versions"
# (The time is read first: a query whose every table is on one shard is sent there whole,
# and the function would then query the shards from a shard.)
second=$(sql "$DB" "SELECT valid_from FROM chronicle.state_versions WHERE entity_id = 'd' AND version = 2")
[ "$(sql "$DB" "SELECT chronicle.state_as_of('doc', 'd', '$second')")" = '{"a": 2}' ] \
  || fail "state_as_of finds the version in force"
[ "$(sql "$DB" "SELECT chronicle.revert_state('doc', 'd', 1)")" = 4 ] || fail "revert_state writes version 1 again as 4"
[ "$(sql "$DB" "SELECT chronicle.get_state('doc', 'd')")" = '{"a": 1}' ] || fail "get_state reads the reverted state"
[ "$(sql "$DB" "SELECT chronicle.delete_state('doc', 'd')")" = t ] || fail "delete_state ends the current version"
[ "$(sql "$DB" "SELECT count(*) FROM chronicle.state_history('doc', 'd') WHERE valid_to IS NULL")" = 0 ] \
  || fail "a deleted entity has no current version"
[ "$(sql "$DB" "INSERT INTO chronicle.state_store (entity_type, entity_id, state) VALUES ('doc', 'd', '{\"a\": 5}') RETURNING version")" = 5 ] \
  || fail "an INSERT into state_store on the coordinator continues the numbering"
expect_error "$DB" 23000 "history is immutable on the shards" "UPDATE chronicle.state_versions SET state = '{}' WHERE entity_id = 'd'"
expect_error "$DB" 23000 "history cannot be deleted from the shards" "DELETE FROM chronicle.state_versions WHERE entity_id = 'd'"
echo "ok: compare-and-set, as-of, diff, revert, deletion and immutability through the coordinator" >&2

# --- State schemas reach the writers on the workers: one coordinator session writes (its
# connection to the worker caches "no schema"), sets a schema, and writes again.
refused=$(cluster_psql "$CITUS_CLUSTER" "$CITUS_PORT" -d "$DB" -At -v VERBOSITY=verbose 2>&1 <<'SQL' || true
SELECT chronicle.put_state('typed', 't1', '{"a": 1}');
SELECT chronicle.set_state_schema('typed', '{"type": "object", "required": ["b"]}');
SELECT chronicle.put_state('typed', 't1', '{"a": 2}');
SQL
)
grep -q "ERROR:  23514:" <<<"$refused" || fail "a schema set through the coordinator is enforced on the worker at once: $refused"
sql "$DB" "SELECT chronicle.set_state_schema('typed', '{\"type\": \"object\", \"required\": [\"b\"]}', 'warn')" >/dev/null
[ "$(sql "$DB" "SELECT chronicle.put_state('typed', 't1', '{\"a\": 3}')")" = 2 ] || fail "warn mode writes the state"
expect_zero "$DB" "warn mode records the violation beside the entity" \
  "SELECT 1 - count(*) FROM chronicle.state_schema_violations WHERE entity_id = 't1' AND version = 2 AND schema_version = 2"
echo "ok: a schema change reaches the writers on the workers" >&2

# --- The export queue from the coordinator: drain it as an exporter does (claim, ack),
# recording every delivered export in order.
sql "$DB" "CREATE TABLE public.delivered (n bigserial, file_name text, mode text, operation text, version int)" >/dev/null
sql "$DB" "
  DO \$\$
  DECLARE
    ids bigint[]; tokens uuid[];
  BEGIN
    LOOP
      WITH c AS (SELECT * FROM chronicle.export_claim(50)),
           d AS (INSERT INTO public.delivered (file_name, mode, operation, version)
                 SELECT file_name, mode, operation, version FROM c ORDER BY id)
      SELECT array_agg(id), array_agg(lease_token) INTO ids, tokens FROM c;
      EXIT WHEN ids IS NULL;
      PERFORM chronicle.export_ack_all(ids, tokens, 'rev');
    END LOOP;
  END
  \$\$" >/dev/null
expect_zero "$DB" "the outbox and the queue are drained" \
  "SELECT (SELECT count(*) FROM chronicle.gist_export_outbox)
        + (SELECT count(*) FROM chronicle.gist_export_queue)"
expect_zero "$DB" "each file's exports were delivered in version order" "
  SELECT count(*) FROM (SELECT version, lag(version) OVER (PARTITION BY file_name ORDER BY n) AS before
                          FROM public.delivered) d WHERE version <= before"
# (Citus joins no distributed table with a local one: the versions are copied first.)
sql "$DB" "CREATE TABLE public.written AS SELECT entity_type, entity_id, version FROM chronicle.state_versions;
           CREATE TABLE public.current AS SELECT entity_type, entity_id, version FROM chronicle.current_state" >/dev/null
expect_zero "$DB" "in latest mode each file's last delivery is its entity's current version" "
  SELECT count(*) FROM public.current c
   WHERE c.entity_type = 'config'
     AND c.version IS DISTINCT FROM (SELECT d.version FROM public.delivered d
                                      WHERE d.file_name = 'config.' || c.entity_id || '.json' ORDER BY n DESC LIMIT 1)"
expect_zero "$DB" "in every_version mode every version was delivered" "
  SELECT count(*) FROM public.written v
   WHERE v.entity_type = 'log'
     AND NOT EXISTS (SELECT FROM public.delivered d WHERE d.file_name = 'log-' || v.entity_id || '.json' AND d.version = v.version)"
coalesced=$(sql "$DB" "SELECT (SELECT count(*) FROM public.written WHERE entity_type = 'config')
                             - (SELECT count(*) FROM public.delivered WHERE mode = 'latest')")
[ "$coalesced" -gt 0 ] || fail "latest mode coalesced no version ($coalesced)"
echo "ok: latest mode coalesced $coalesced versions into fewer Gist writes" >&2

# --- chronicle-gist, unchanged, against the coordinator: a database of its own, writes
# through the coordinator, the exporter drains the queue into a fake Gist API, and verify
# finds every entity's current state in its Gist.
GIST_DB=chronicle_citus_gist
GIST=c1tu5d0c
log "building chronicle-gist and the fake Gist API"
(cd "$REPO_ROOT" && cargo build -q -p chronicle-gist -p chronicle-gist-testkit --bins)
TARGET_DIR=${CARGO_TARGET_DIR:-$REPO_ROOT/target}
case $TARGET_DIR in /*) ;; *) TARGET_DIR=$REPO_ROOT/$TARGET_DIR ;; esac
work=$(mktemp -d)
"$TARGET_DIR/debug/fake_github" --gist $GIST >"$work/fake.out" 2>"$work/fake.log" &
fake=$!
trap 'kill -KILL $fake 2>/dev/null || true; rm -rf "$work"; citus_cluster_stop "$CITUS_CLUSTER"' EXIT
for _ in $(seq 100); do [ -s "$work/fake.out" ] && break; sleep 0.1; done
[ -s "$work/fake.out" ] || fail "the fake Gist API did not start"
citus_create_database "$CITUS_CLUSTER" "$CITUS_PORT" "$GIST_DB"
sql "$GIST_DB" "CREATE EXTENSION pg_chronicle" >/dev/null
sql "$GIST_DB" "SELECT count(*) FROM chronicle.distribute(shard_count => 4)" >/dev/null
sql "$GIST_DB" "SELECT chronicle.set_gist_target('doc', '$GIST')" >/dev/null
sql "$GIST_DB" "SELECT count(chronicle.put_state('doc', 'd' || (i % 30), jsonb_build_object('i', i)))
                  FROM generate_series(1, 90) i" >/dev/null
sql "$GIST_DB" "SELECT chronicle.delete_state('doc', 'd7')" >/dev/null
gist() {
  GITHUB_API_URL=$(head -n 1 "$work/fake.out") GITHUB_TOKEN=fake-github-token XDG_CACHE_HOME=$work/cache \
  CHRONICLE_GIST_MAX_WRITES_PER_MINUTE=1000000 CHRONICLE_GIST_MAX_WRITES_PER_HOUR=100000000 \
    "$TARGET_DIR/debug/chronicle-gist" --database-url "host=$RUN_DIR/$CITUS_CLUSTER port=$CITUS_PORT user=postgres dbname=$GIST_DB" "$@"
}
gist export --exit-when-idle --min-request-interval 0 2>"$work/export.log" \
  || fail "chronicle-gist export against the coordinator: $(tail -5 "$work/export.log")"
[ "$(sql "$GIST_DB" "SELECT pending || ' ' || in_flight || ' ' || dead FROM chronicle.export_stats()")" = "0 0 0" ] \
  || fail "the exporter left exports behind: $(sql "$GIST_DB" "SELECT * FROM chronicle.export_stats()")"
gist verify >"$work/verify.txt" 2>"$work/verify.log" || fail "verify exited $?: $(cat "$work/verify.txt" "$work/verify.log")"
matches=$(grep -c '^match' "$work/verify.txt" || true)
[ "$matches" = 29 ] || fail "expected 29 entities matching their Gist files, got $matches: $(cat "$work/verify.txt")"
echo "ok: chronicle-gist export drains through the coordinator; verify finds all $matches entities in the Gist" >&2
