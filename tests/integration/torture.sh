#!/usr/bin/env bash
# Concurrency torture: 16 clients on 10 hot entities mixing put, patch, revert and delete
# for a minute (CHRONICLE_TORTURE_SECONDS), while command executions are recorded, two
# refreshes loop and eight exporters claim and acknowledge, all at once. Afterwards: zero
# state invariant violations, every version queued exactly once for export, the queue
# drained in version order per file, and the rollups equal to the raw rows.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
DB=chronicle_it_torture
SECONDS_OF_TORTURE=${CHRONICLE_TORTURE_SECONDS:-60}
S=$(mktemp -d)
trap 'rm -rf "$S"' EXIT

fresh_database $DB
sql $DB "SELECT count(*) FROM chronicle.set_gist_target('hot', 'abc123', mode => 'every_version')" >/dev/null

cat >"$S/put.sql" <<'SQL'
\set e random(1, 10)
SELECT chronicle.put_state('hot', :e::text, jsonb_build_object('r', random()));
SQL
cat >"$S/patch.sql" <<'SQL'
\set e random(1, 10)
SELECT chronicle.patch_state('hot', :e::text, jsonb_build_object('k' || (random() * 5)::int, random()));
SQL
cat >"$S/revert.sql" <<'SQL'
\set e random(1, 10)
SELECT chronicle.revert_state('hot', :e::text, 1) WHERE chronicle.state_version('hot', :e::text) IS NOT NULL;
SQL
cat >"$S/delete.sql" <<'SQL'
\set e random(1, 10)
SELECT chronicle.delete_state('hot', :e::text);
SQL
cat >"$S/record.sql" <<'SQL'
\set c random(1, 5)
SELECT chronicle.record_command('cmd_' || :c, '{}', '00000000-0000-4000-8000-000000000001', 'success', random() * 100);
SQL
cat >"$S/refresh.sql" <<'SQL'
SELECT hourly_buckets FROM chronicle.refresh_metrics();
SQL
# Leases are short (5 s) so that some expire under the load and are claimed again; the
# exporter then drops its stale acknowledgement, as chronicle-gist does.
cat >"$S/export.sql" <<'SQL'
SELECT coalesce(array_agg(id), '{}') AS ids, coalesce(array_agg(lease_token), '{}') AS tokens
  FROM chronicle.export_claim(5, '5 seconds') \gset
DO $$
BEGIN
  PERFORM chronicle.export_ack_all(':ids'::bigint[], ':tokens'::uuid[], 'rev');
EXCEPTION WHEN object_not_in_prerequisite_state THEN
  -- The lease expired and the rows were claimed again: their new holder delivers them.
END $$;
SQL

log "16 state writers, 2 refreshes and 8 exporters for $SECONDS_OF_TORTURE s"
declare -A pids
run_bg() {
  local name=$1; shift
  pgbench -h "$IT_HOST" -p "$IT_PORT" -U postgres -n -T "$SECONDS_OF_TORTURE" "$@" $DB >"$S/$name.log" 2>&1 &
  pids[$name]=$!
}
run_bg writers -c 16 -j 2 -f "$S/put.sql@4" -f "$S/patch.sql@3" -f "$S/revert.sql@1" -f "$S/delete.sql@1" -f "$S/record.sql@1"
run_bg refresh -c 2 -j 1 -f "$S/refresh.sql"
run_bg exporters -c 8 -j 1 -f "$S/export.sql"
# Each run is judged on its own exit status, its failed transactions, and a floor of 10
# transactions per second (each runs hundreds), so that a run that did next to nothing,
# and left the invariants trivially true, fails.
failed_runs=0
for name in writers refresh exporters; do
  status=0
  wait "${pids[$name]}" || status=$?
  if pgbench_ok "$S/$name.log" $((10 * SECONDS_OF_TORTURE)) $status; then echo "ok: $name" >&2
  else echo "FAIL: $name" >&2; failed_runs=1; fi
done
[ $failed_runs = 0 ] || exit 1

check_invariants $DB

# Drain what the exporters left. every_version sends a file's exports one at a time, so
# with 10 hot files a claim yields at most 10 rows and the backlog (tens of thousands of
# versions on a fast machine) takes thousands of claims: run them server-side, one
# transaction each, and wait out the 5-second leases the exporters held when they stopped.
deadline=$((SECONDS + 600))
while [ "$(sql $DB "SELECT pending + in_flight FROM chronicle.export_stats()")" != 0 ] && [ $SECONDS -lt $deadline ]; do
  sql $DB "DO \$\$
    DECLARE delivered bigint;
    BEGIN
      LOOP
        SELECT count(chronicle.export_ack(id, lease_token, 'rev')) INTO delivered FROM chronicle.export_claim(10);
        EXIT WHEN delivered = 0;
        COMMIT;
      END LOOP;
    END \$\$" >/dev/null
  sleep 1
done
expect_zero $DB "every version and deletion queued exactly once (every_version mode)" "
  SELECT count(*) FROM (
    SELECT entity_id, version FROM chronicle.state_versions
     UNION ALL SELECT entity_id, version FROM chronicle.state_deletions) v
  FULL JOIN (SELECT id, entity_id, version FROM chronicle.gist_export_queue
             UNION ALL SELECT id, entity_id, version FROM chronicle.gist_export_deliveries) q
       USING (entity_id, version)
 WHERE q.id IS NULL OR v.version IS NULL"
expect_zero $DB "as many exports as versions and deletions" "
  SELECT (SELECT count(*) FROM chronicle.state_versions) + (SELECT count(*) FROM chronicle.state_deletions)
       - (SELECT count(*) FROM chronicle.gist_export_queue)
       - (SELECT count(*) FROM chronicle.gist_export_deliveries)"
expect_zero $DB "the queue drained, nothing dead" "SELECT pending + in_flight + dead FROM chronicle.export_stats()"
expect_zero $DB "each file's exports delivered in version order" "
  SELECT count(*) FROM (
    SELECT delivered_at < lag(delivered_at) OVER (PARTITION BY gist_id, file_name ORDER BY id) AS overtaken
      FROM chronicle.gist_export_deliveries) d
   WHERE overtaken"
sql $DB "SELECT chronicle.refresh_metrics()" >/dev/null
expect_zero $DB "rollups equal the raw rows" "
  WITH truth AS (SELECT date_trunc('hour', started_at, 'UTC') AS hour, command_name, count(*) AS executions
                   FROM chronicle.command_executions GROUP BY 1, 2)
  SELECT count(*) FROM truth t FULL JOIN chronicle.command_metrics_hourly m USING (hour, command_name)
   WHERE m.executions IS DISTINCT FROM t.executions"
