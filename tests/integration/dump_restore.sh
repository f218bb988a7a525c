#!/usr/bin/env bash
# pg_dump / pg_restore of a database using the extension keeps all its data: state
# history, executions, rollups with their sketches, the export queue, targets and
# imports; and the restored database goes on working (numbering, refresh, queue).
source "$(dirname "$0")/lib.sh"
SRC=chronicle_it_dump_src
DST=chronicle_it_dump_dst
DUMP=$(mktemp)
trap 'rm -f "$DUMP"' EXIT

fresh_database $SRC
sql $SRC "
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

# fingerprint DB: one md5 per table over its rows in a fixed order. (metrics_changes is
# left out: restoring command_executions fires its statement triggers, which record the
# restored buckets as changed again; a refresh then rewrites them identically.)
TABLES="state_versions state_deletions state_entities command_executions command_metrics_hourly
        command_metrics_daily gist_targets gist_export_queue gist_imports metrics_horizon"
fingerprint() {
  local table
  for table in $TABLES; do
    printf '%s %s\n' "$table" "$(sql "$1" "SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '')
                                              FROM chronicle.$table t")"
  done
}
before=$(fingerprint $SRC)
pg_dump -h "$IT_HOST" -p "$IT_PORT" -U postgres -Fc -f "$DUMP" $SRC
cluster_psql "$IT_CLUSTER" "$IT_PORT" -d postgres \
  -c "DROP DATABASE IF EXISTS $DST WITH (FORCE)" -c "CREATE DATABASE $DST"
pg_restore -h "$IT_HOST" -p "$IT_PORT" -U postgres -d $DST --exit-on-error "$DUMP"
after=$(fingerprint $DST)
if [ "$before" != "$after" ]; then
  diff <(echo "$before") <(echo "$after") >&2
  echo "FAIL: contents differ after pg_dump/pg_restore" >&2
  exit 1
fi
echo "ok: every chronicle table identical after pg_dump/pg_restore ($(echo "$before" | awk -F'[ :]' '{s += $2} END {print s}') rows)" >&2

# The restored database goes on: numbering continues, the queue works, refresh works.
expect_zero $DST "numbering continues after restore" \
  "SELECT 21 - chronicle.put_state('config', 'e1', '{\"after\": \"restore\"}')"
expect_zero $DST "the restored queue hands out the remaining exports" \
  "SELECT (SELECT pending FROM chronicle.export_stats()) - (SELECT count(*) FROM chronicle.export_claim(100))"
sql $DST "SELECT chronicle.refresh_metrics()" >/dev/null
expect_zero $DST "a refresh after restore rewrites the rollups identically" \
  "SELECT count(*) FROM chronicle.command_metrics_hourly m WHERE m.executions <> (SELECT count(*) FROM chronicle.command_executions e
     WHERE e.command_name = m.command_name AND date_trunc('hour', e.started_at, 'UTC') = m.hour)"
