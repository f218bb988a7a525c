#!/usr/bin/env bash
# pg_dump / pg_restore of a database using the extension keeps all its data: state
# history, executions, rollups with their sketches, the export queue, targets and
# imports; and the restored database goes on working (numbering, refresh, queue).
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
SRC=chronicle_it_dump_src
DST=chronicle_it_dump_dst
DUMP=$(mktemp)
trap 'rm -f "$DUMP"' EXIT

fresh_database $SRC
load_sample_data $SRC

before=$(table_fingerprint $SRC)
pg_dump -h "$IT_HOST" -p "$IT_PORT" -U postgres -Fc -f "$DUMP" $SRC
cluster_psql "$IT_CLUSTER" "$IT_PORT" -d postgres \
  -c "DROP DATABASE IF EXISTS $DST WITH (FORCE)" -c "CREATE DATABASE $DST"
pg_restore -h "$IT_HOST" -p "$IT_PORT" -U postgres -d $DST --exit-on-error "$DUMP"
after=$(table_fingerprint $DST)
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
# Every column of every rollup row (sketches, users, error codes) but the time of the
# refresh, and the set of rows.
rollups_fingerprint() {
  rows_fingerprint "$1" command_metrics_hourly "SELECT to_jsonb(t) - 'refreshed_at' AS r FROM chronicle.command_metrics_hourly t" \
    && rows_fingerprint "$1" command_metrics_daily "SELECT to_jsonb(t) - 'refreshed_at' AS r FROM chronicle.command_metrics_daily t"
}
before=$(rollups_fingerprint $DST)
rewritten=$(sql $DST "SELECT hourly_buckets FROM chronicle.refresh_metrics()")
after=$(rollups_fingerprint $DST)
if [ "$before" != "$after" ]; then
  diff <(echo "$before") <(echo "$after") >&2 || true
  echo "FAIL: a refresh after restore changed the rollups" >&2
  exit 1
fi
[ "$rewritten" -gt 0 ] || { echo "FAIL: the refresh after restore rewrote no bucket" >&2; exit 1; }
echo "ok: a refresh after restore rewrites the rollups identically ($rewritten hourly buckets)" >&2
