#!/usr/bin/env bash
# Crash: under a mixed load of state writes, command executions and export claims from
# concurrent clients, the postmaster is killed with SIGKILL and restarted. Afterwards every
# invariant holds: versions gapless with at most one current version, every write a client
# saw committed is there, every committed version is in the export queue (or was
# acknowledged), and the rollups equal a fresh recomputation after one refresh.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
DB=chronicle_it_crash
S=$(mktemp -d)
trap 'rm -rf "$S"' EXIT
DATA=$(cluster_data "$IT_CLUSTER")

fresh_database $DB
sql $DB "SELECT count(*) FROM chronicle.set_gist_target('cfg', 'abc123', mode => 'every_version')" >/dev/null

cat >"$S/state.sql" <<'SQL'
\set e random(1, 20)
SELECT chronicle.put_state('cfg', :e::text, jsonb_build_object('r', random()));
SQL
cat >"$S/executions.sql" <<'SQL'
\set c random(1, 5)
SELECT chronicle.start_command('cmd_' || :c, '{}', '00000000-0000-4000-8000-000000000001') AS id \gset
SELECT status FROM chronicle.finish_command(':id'::uuid, 'success');
SQL
cat >"$S/exporter.sql" <<'SQL'
SELECT count(chronicle.export_ack(id, lease_token, 'rev')) FROM chronicle.export_claim(5, '2 seconds');
SQL

# A client that logs, outside the database, each version it saw committed.
committed_log() {
  local i version
  for i in $(seq 1 100000); do
    version=$(psql -X -At -h "$IT_HOST" -p "$IT_PORT" -U postgres -d $DB \
                -c "SELECT chronicle.put_state('cfg', 'logged', jsonb_build_object('i', $i))" 2>/dev/null) || return 0
    echo "$version" >>"$S/committed"
  done
}

log "mixed load, then SIGKILL to the postmaster"
pgbench -h "$IT_HOST" -p "$IT_PORT" -U postgres -n -T 30 -c 4 -j 2 \
  -f "$S/state.sql@5" -f "$S/executions.sql@3" -f "$S/exporter.sql@2" $DB >"$S/load.log" 2>&1 &
load=$!
committed_log &
logger=$!
sleep 4
# Every server process at once, as in a power cut: the postmaster and its children.
postmaster=$(head -1 "$DATA/postmaster.pid")
# (A child may exit on its own between pgrep and kill; that is not a failure.)
as_postgres kill -9 "$postmaster" $(pgrep -P "$postmaster") 2>/dev/null || true
wait $load || true
wait $logger || true
# How pgbench words it depends on where the client was: any of these means it was cut off.
grep -qE "aborted|backend died|server closed the connection|terminating connection" "$S/load.log" \
  || { echo "FAIL: the load did not see the crash" >&2; cat "$S/load.log" >&2; exit 1; }

log "restart and recovery"
# The killed processes may linger as zombies where nothing reaps orphans (containers),
# and a zombie's pid still looks alive to the new postmaster's lock-file check. Once none
# of them is running, the stale lock files are removed, as after a real crash.
for _ in $(seq 1 50); do
  # The children's pids are meant to split into separate arguments.
  # shellcheck disable=SC2046
  running=$(ps -o stat= -p "$postmaster" $(pgrep -P "$postmaster" || true) 2>/dev/null | grep -vc '^Z' || true)
  [ "$running" = 0 ] && break
  sleep 0.2
done
as_postgres rm -f "$DATA/postmaster.pid" "$IT_HOST/.s.PGSQL.$IT_PORT.lock"
as_postgres "$PG_BIN/pg_ctl" -D "$DATA" -l "$(cluster_log "$IT_CLUSTER")" -w -t 60 start >/dev/null

check_invariants $DB

logged=$(wc -l <"$S/committed" 2>/dev/null || echo 0)
[ "$logged" -gt 0 ] || { echo "FAIL: no write was logged before the crash" >&2; exit 1; }
last=$(tail -1 "$S/committed")
expect_zero $DB "every version a client saw committed ($logged, up to $last) is there" \
  "SELECT count(*) FROM generate_series(1, $last) v
    WHERE NOT EXISTS (SELECT FROM chronicle.state_versions s WHERE s.entity_type = 'cfg' AND s.entity_id = 'logged' AND s.version = v)"
expect_zero $DB "every committed version is queued for export or acknowledged" \
  "SELECT count(*) FROM chronicle.state_versions v
    WHERE NOT EXISTS (SELECT FROM chronicle.gist_export_queue q
                       WHERE q.entity_type = v.entity_type AND q.entity_id = v.entity_id AND q.version = v.version)
      AND NOT EXISTS (SELECT FROM chronicle.gist_export_deliveries d
                       WHERE d.entity_type = v.entity_type AND d.entity_id = v.entity_id AND d.version = v.version)"
sql $DB "SELECT chronicle.refresh_metrics()" >/dev/null
expect_zero $DB "rollups equal a fresh recomputation after one refresh" "
  WITH truth AS (SELECT date_trunc('hour', started_at, 'UTC') AS hour, command_name, count(*) AS executions,
                        count(*) FILTER (WHERE status = 'success') AS successful
                   FROM chronicle.command_executions GROUP BY 1, 2)
  SELECT count(*) FROM truth t FULL JOIN chronicle.command_metrics_hourly m USING (hour, command_name)
   WHERE m.executions IS DISTINCT FROM t.executions OR m.successful IS DISTINCT FROM t.successful"
# Leases taken before the crash expire (2 s); then the queue drains.
sleep 2.5
for _ in $(seq 1 2000); do
  [ "$(sql $DB "SELECT pending + in_flight FROM chronicle.export_stats()")" = 0 ] && break
  sql $DB "SELECT count(chronicle.export_ack(id, lease_token, 'rev')) FROM chronicle.export_claim(1000)" >/dev/null
done
expect_zero $DB "the queue drains after recovery (leases from before the crash came back)" \
  "SELECT pending + in_flight + dead FROM chronicle.export_stats()"
