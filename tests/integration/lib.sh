# shellcheck shell=bash
# Shared by the integration tests (sourced). scripts/test.sh starts the cluster and sets
# CHRONICLE_CLUSTER and CHRONICLE_PORT; each test makes its own database.
# shellcheck source=../../scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

IT_CLUSTER=${CHRONICLE_CLUSTER:?run through scripts/test.sh}
IT_PORT=${CHRONICLE_PORT:?run through scripts/test.sh}
IT_HOST=$RUN_DIR/$IT_CLUSTER

# fresh_database NAME: drops and recreates NAME with the extension in it.
fresh_database() {
  cluster_psql "$IT_CLUSTER" "$IT_PORT" -d postgres \
    -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1"
  cluster_psql "$IT_CLUSTER" "$IT_PORT" -d "$1" -c "CREATE EXTENSION pg_chronicle"
}

# sql DB QUERY: runs QUERY and prints the bare result.
sql() {
  cluster_psql "$IT_CLUSTER" "$IT_PORT" -d "$1" -At -c "$2"
}

# pgbench_ok LOGFILE MIN_TX STATUS: judges a finished pgbench run by its exit STATUS and
# its output in LOGFILE. pgbench 15 counts a deadlock or a serialization failure as a
# failed transaction and still exits 0, so "number of failed transactions" must be 0 (when
# pgbench reports it); no client may have aborted; and at least MIN_TX transactions must
# have run, so that a run that did nothing does not pass.
pgbench_ok() {
  local logfile=$1 min_tx=$2 status=$3 processed failed
  processed=$(awk -F': ' '/^number of transactions actually processed:/ {split($2, n, "/"); print n[1]}' "$logfile")
  failed=$(awk -F': ' '/^number of failed transactions:/ {split($2, n, " "); print n[1]}' "$logfile")
  echo "pgbench: exit status $status, ${processed:-no} transactions, ${failed:-no count of} failed" >&2
  if [ "$status" != 0 ] || [ "${failed:-0}" != 0 ] || grep -q 'aborted' "$logfile" \
     || ! [ "${processed:-0}" -ge "$min_tx" ]; then
    cat "$logfile" >&2
    echo "FAIL: pgbench (exit status $status, ${processed:-no} transactions of at least $min_tx, ${failed:-?} failed)" >&2
    return 1
  fi
}

# bench DB SECONDS CLIENTS SCRIPT...: pgbench with the given scripts, judged by pgbench_ok
# with a floor of one transaction per client and second.
bench() {
  local db=$1 seconds=$2 clients=$3; shift 3
  local logfile status=0
  logfile=$(mktemp)
  pgbench -h "$IT_HOST" -p "$IT_PORT" -U postgres -n -T "$seconds" -c "$clients" -j 2 \
    "$@" "$db" >"$logfile" 2>&1 || status=$?
  grep -E '^number of (transactions actually processed|failed transactions|transactions retried)' "$logfile" >&2 || true
  pgbench_ok "$logfile" $((seconds * clients)) $status || { rm -f "$logfile"; return 1; }
  rm -f "$logfile"
}

# check_invariants DB: runs state/invariants.sql, one row per invariant with its count of
# violations. The query must succeed and return a row for every invariant it names (a
# failed query would otherwise read as no violations), and every count must be 0.
check_invariants() {
  local file expected out name count failures=0 rows=0
  file="$(dirname "${BASH_SOURCE[0]}")/state/invariants.sql"
  # Each invariant is one "SELECT '<name>'" branch of the query.
  expected=$(grep -c "^SELECT '" "$file")
  out=$(cluster_psql "$IT_CLUSTER" "$IT_PORT" -d "$1" -At -f "$file") \
    || { echo "FAIL: the invariants query failed" >&2; return 1; }
  [ -n "$out" ] && while IFS='|' read -r name count; do
    rows=$((rows + 1))
    if [ "$count" != 0 ]; then echo "FAIL: $name: $count violation(s)" >&2; failures=1
    else echo "ok: $name" >&2; fi
  done <<<"$out"
  if [ "$rows" != "$expected" ]; then
    echo "FAIL: the invariants query returned ${rows} row(s), expected $expected" >&2
    failures=1
  fi
  return $failures
}

# expect_zero DB DESCRIPTION QUERY: QUERY counts violations; anything but 0 fails.
expect_zero() {
  local got; got=$(sql "$1" "$3")
  if [ "$got" != 0 ]; then
    echo "FAIL: $2: $got violation(s)" >&2
    return 1
  fi
  echo "ok: $2" >&2
}

# expect_error DB SQLSTATE DESCRIPTION QUERY: QUERY must fail with SQLSTATE.
expect_error() {
  local got
  got=$(cluster_psql "$IT_CLUSTER" "$IT_PORT" -d "$1" -At -v VERBOSITY=verbose -c "$4" 2>&1 || true)
  if ! grep -q "ERROR:  $2:" <<<"$got"; then
    echo "$got" >&2
    echo "FAIL: $3: expected SQLSTATE $2" >&2
    return 1
  fi
  echo "ok: $3 ($2)" >&2
}

# load_sample_data DB: a little of everything the extension stores: state history with a
# deletion, an imported version, executions and their rollups, and an export queue with
# delivered, in-flight and pending exports.
load_sample_data() {
  sql "$1" "
  SELECT count(*) FROM chronicle.set_gist_target('config', 'abc123');
  SELECT count(chronicle.put_state('config', 'e' || (i % 10), jsonb_build_object('i', i))) FROM generate_series(1, 200) i;
  SELECT chronicle.delete_state('config', 'e3');
  SELECT count(chronicle.put_state('other', 'x', jsonb_build_object('n', i))) FROM generate_series(1, 5) i;
  SELECT chronicle.import_state_version('imported', 'a', '{\"v\": 1}', '2026-01-01', 'abc123', 'r1', 'imported.a.json');
  SELECT count(chronicle.record_command('cmd_' || (i % 4), jsonb_build_object('password', 'x'),
                                        ('00000000-0000-4000-8000-' || lpad((i % 9)::text, 12, '0'))::uuid,
                                        CASE WHEN i % 5 = 0 THEN 'failed' ELSE 'success' END, i))
    FROM generate_series(1, 300) i;
  SELECT chronicle.refresh_metrics();
  SELECT count(chronicle.export_ack(id, lease_token, 'rev')) FROM chronicle.export_claim(3);
  SELECT count(*) FROM chronicle.export_claim(2);" >/dev/null
}

# expect_goes_on DB AFTER: a database of load_sample_data goes on working after AFTER (an
# update, a move): numbering continues, the queue hands out every pending head, and a new
# execution is refreshed into rollups equal to the raw rows.
expect_goes_on() {
  local db=$1 after=$2
  expect_zero "$db" "numbering continues after $after" \
    "SELECT 21 - chronicle.put_state('config', 'e1', '{\"after\": \"$after\"}')"
  expect_zero "$db" "the queue hands out its pending heads after $after" \
    "SELECT (SELECT count(*) FROM chronicle.gist_export_queue WHERE status = 'pending')
            - (SELECT count(*) FROM chronicle.export_claim(100))"
  sql "$db" "SELECT chronicle.record_command('cmd_0', '{}', NULL, 'success', 1); SELECT chronicle.refresh_metrics()" >/dev/null
  expect_zero "$db" "a refresh after $after keeps the rollups equal to the raw rows" \
    "SELECT count(*) FROM chronicle.command_metrics_hourly m WHERE m.executions <> (SELECT count(*) FROM chronicle.command_executions e
       WHERE e.command_name = m.command_name AND date_trunc('hour', e.started_at, 'UTC') = m.hour)"
}

# table_fingerprint DB: one md5 per table over its rows in a fixed order, generated columns
# left out (they are computed from the others, and a release may add one). (metrics_changes
# is left out: restoring command_executions fires its statement triggers, which record the
# restored buckets as changed again; a refresh then rewrites them identically.)
FINGERPRINTED_TABLES="state_versions state_deletions state_entities command_executions command_metrics_hourly
        command_metrics_daily gist_targets gist_export_queue gist_export_deliveries gist_imports metrics_horizon"
table_fingerprint() {
  local table
  for table in $FINGERPRINTED_TABLES; do
    rows_fingerprint "$1" "$table" "SELECT ${FINGERPRINT_ROW:-to_jsonb(t)} - ARRAY(SELECT attname::text FROM pg_attribute
                                                               WHERE attrelid = 'chronicle.$table'::regclass
                                                                 AND attgenerated <> '') AS r
                                      FROM chronicle.$table t" || return 1
  done
}

# rows_fingerprint DB NAME ROWS: "NAME count:md5" over the column r of the query ROWS.
# Fails when the query does (a query failing alike on both sides must not compare equal);
# callers that run it in $(...) must pass the failure on (set -e does not reach in there).
rows_fingerprint() {
  local fingerprint
  fingerprint=$(sql "$1" "SELECT count(*) || ':' || coalesce(md5(string_agg(r::text, '|' ORDER BY r::text)), '')
                            FROM ($3) rows") \
    || { echo "FAIL: the fingerprint query of $2 failed in $1" >&2; return 1; }
  printf '%s %s\n' "$2" "$fingerprint"
}
