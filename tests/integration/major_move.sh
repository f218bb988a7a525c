#!/usr/bin/env bash
# A database moves to a newer major with pg_chronicle installed on both sides, the two ways
# Supabase users move: pg_upgrade from 15 to 17 (in the 17 tier) and a pg_dump of 15
# restored into 18 (in the 18 tier). The database has state history with deletions and an
# import, executions and rollups with sketches, a queue with delivered, claimed, waiting,
# pending and dead exports, and a pg_cron job. Afterwards every row is equal, the sketches
# decode to the same percentiles and merge with new ones byte for byte, leases refuse
# stale tokens and honour live ones, and the extension keeps working.
#
# The old cluster is the host's PostgreSQL 15. pg_upgrade runs in the new major's root and
# needs 15's programs there: the host's, run with the host's own loader and libraries
# (bound read-only at /host), behind wrappers at 15's usual paths.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
NEW_MAJOR=$PG_MAJOR
case $NEW_MAJOR in
  17) MOVE=pg_upgrade ;;
  18) MOVE=pg_dump ;;
  *) echo "ok: nothing moves to PostgreSQL $NEW_MAJOR (pg_upgrade runs in the 17 tier, pg_dump in the 18 tier)" >&2
     exit 0 ;;
esac
OLD=move-from-15
OLD_PORT=$((IT_PORT + 8))
NEW=move-to-$NEW_MAJOR
NEW_PORT=$((IT_PORT + 9))
DB=chronicle_it_move
S=$(mktemp -d)
trap 'cluster_stop $OLD; cluster_stop $NEW; rm -rf "$S"' EXIT

# on_old / on_new COMMAND...: COMMAND (a function of lib.sh) against one of the clusters.
on_old() { (use_major 15; IT_CLUSTER=$OLD; IT_PORT=$OLD_PORT; IT_HOST=$RUN_DIR/$OLD; "$@"); }
on_new() { (IT_CLUSTER=$NEW; IT_PORT=$NEW_PORT; IT_HOST=$RUN_DIR/$NEW; "$@"); }

# What must come through: every chronicle table, pg_cron's job, and what the sketches say.
snapshot() {
  table_fingerprint $DB || return 1
  rows_fingerprint $DB cron.job "SELECT to_jsonb(j) - 'jobid' AS r FROM cron.job j" || return 1
  rows_fingerprint $DB percentiles "
    SELECT jsonb_build_array(command_name, hour, chronicle.approx_percentiles(duration_sketch, ARRAY[0.5, 0.9, 0.99])) AS r
      FROM chronicle.command_metrics_hourly" || return 1
  # Stored sketches merged with sketches made now, from the same values on either side.
  rows_fingerprint $DB merged "
    SELECT chronicle.rollup(s)::text AS r FROM (
      SELECT duration_sketch AS s FROM chronicle.command_metrics_hourly
      UNION ALL SELECT chronicle.percentile_agg(x * 1.5) FROM generate_series(1, 1000) x) m"
}

log "the database to move, on PostgreSQL 15"
cluster_stop $OLD; cluster_stop $NEW
as_root rm -rf "${RUN_DIR:?}/$OLD" "${RUN_DIR:?}/$NEW"
on_old ensure_major
on_old install_extension debug
on_old cluster_start $OLD $OLD_PORT "fsync = off" "cron.database_name = '$DB'"
on_old create_supabase_roles $OLD $OLD_PORT
on_old fresh_database $DB
on_old sql $DB "
  -- In pg_catalog, as Supabase installs it: pg_cron 1.6 (17, 18) accepts no other schema,
  -- so a dump of a 15 database with pg_cron elsewhere does not restore there.
  CREATE EXTENSION pg_cron WITH SCHEMA pg_catalog;
  -- A job that exists but does not fire while the test runs.
  SELECT chronicle.schedule_refresh('0 0 1 1 *');" >/dev/null
on_old load_sample_data $DB
on_old sql $DB "
  -- Versions written while their file's export is in flight: they wait behind it.
  SELECT count(chronicle.put_state('config', q.entity_id, '{\"after\": \"claim\"}'))
    FROM chronicle.gist_export_queue q WHERE q.status = 'in_flight';
  -- One export dead after its only attempt.
  SET chronicle.export_max_attempts = 1;
  SELECT count(chronicle.export_fail(id, lease_token, 'gone')) FROM chronicle.export_claim(1);" >/dev/null
# Two leases that outlive the move; their tokens are kept to use afterwards.
on_old sql $DB "SELECT id || ' ' || lease_token FROM chronicle.export_claim(2, '1 hour')" >"$S/leases"
[ "$(wc -l <"$S/leases")" = 2 ] || { echo "FAIL: expected two claimed exports" >&2; exit 1; }
on_old expect_zero $DB "the queue has delivered, claimed, waiting, pending and dead exports" \
  "SELECT (4 - count(DISTINCT status)) + (1 - least(1, (SELECT count(*) FROM chronicle.gist_export_deliveries)))
     FROM chronicle.gist_export_queue"
before=$(on_old snapshot) || exit 1

if [ $MOVE = pg_upgrade ]; then
  log "pg_upgrade from PostgreSQL 15 to $NEW_MAJOR"
  on_old cluster_stop $OLD
  # The new cluster, made and configured (pg_cron preloaded) as any, then stopped.
  on_new cluster_start $NEW $NEW_PORT "fsync = off" "cron.database_name = '$DB'"
  cluster_stop $NEW
  old_data=$(on_old cluster_data $OLD)
  # 15's data directory belongs to the root's postgres user, who runs both servers.
  in_root chown -R postgres:postgres "$old_data"
  # 15's programs inside the root: the host's, with the host's loader and libraries.
  loader=$(readlink -f /lib64/ld-linux-x86-64.so.2)
  libraries=/host/usr/lib/x86_64-linux-gnu:/host/lib/x86_64-linux-gnu:/host/usr/lib/postgresql/15/lib
  mkdir -p "$S/bin15"
  for program in /usr/lib/postgresql/15/bin/*; do
    printf '#!/bin/sh\nexec /host%s --library-path %s --argv0 "$0" /host%s "$@"\n' \
      "$loader" "$libraries" "$program" >"$S/bin15/$(basename "$program")"
  done
  chmod -R a+rX "$S"; chmod a+x "$S"/bin15/*
  ROOT_EXTRA_BINDS=("/ /host ro" "$S/bin15 /usr/lib/postgresql/15/bin ro"
                    "/usr/lib/postgresql/15/lib /usr/lib/postgresql/15/lib ro"
                    "/usr/share/postgresql/15 /usr/share/postgresql/15 ro")
  status=0
  (cd "$RUN_DIR/$NEW" && as_postgres "$PG_BIN/pg_upgrade" --old-bindir /usr/lib/postgresql/15/bin \
     --new-bindir "$PG_BIN" --old-datadir "$old_data" --new-datadir "$(cluster_data $NEW)" \
     --old-port $OLD_PORT --new-port $NEW_PORT --socketdir "$RUN_DIR/$NEW" --username postgres) \
     >"$S/pg_upgrade.log" 2>&1 || status=$?
  ROOT_EXTRA_BINDS=()
  if [ $status != 0 ]; then
    cat "$S/pg_upgrade.log" >&2
    as_root find "$(cluster_data $NEW)/pg_upgrade_output.d" -name '*.log' -exec tail -n 20 {} + >&2 || true
    echo "FAIL: pg_upgrade from 15 to $NEW_MAJOR" >&2
    exit 1
  fi
  grep -E '^(Performing Upgrade|Upgrade Complete)' "$S/pg_upgrade.log" >&2 || true
  on_new cluster_start $NEW $NEW_PORT "fsync = off" "cron.database_name = '$DB'"
else
  log "pg_dump of PostgreSQL 15 restored into $NEW_MAJOR"
  on_new cluster_start $NEW $NEW_PORT "fsync = off" "cron.database_name = '$DB'"
  on_new create_supabase_roles $NEW $NEW_PORT
  on_new cluster_psql $NEW $NEW_PORT -d postgres -c "CREATE DATABASE $DB"
  # The new major's pg_dump reads the old server, as a move to a newer major does.
  pg_dump -h "$RUN_DIR/$OLD" -p $OLD_PORT -U postgres -Fc -f "$S/dump" $DB
  pg_restore -h "$RUN_DIR/$NEW" -p $NEW_PORT -U postgres -d $DB --exit-on-error "$S/dump"
  on_old cluster_stop $OLD
fi

# pg_cron comes in at the old major's version; the move is finished by updating it.
on_new sql $DB "ALTER EXTENSION pg_cron UPDATE" >/dev/null
on_new expect_zero $DB "the server is PostgreSQL $NEW_MAJOR" \
  "SELECT current_setting('server_version_num')::int / 10000 - $NEW_MAJOR"
after=$(on_new snapshot) || exit 1
if [ "$before" != "$after" ]; then
  diff <(echo "$before") <(echo "$after") >&2 || true
  echo "FAIL: the database differs after $MOVE from 15 to $NEW_MAJOR" >&2
  exit 1
fi
echo "ok: after $MOVE every row, the cron job, every percentile and every merged sketch are as they were:" >&2
echo "$after" | sed 's/^/    /' >&2

# Leases: a made-up token is refused, the kept ones still hold.
read -r lease_id _ < <(head -n 1 "$S/leases")
stale=$(on_new sql $DB "SELECT chronicle.export_ack($lease_id, gen_random_uuid(), 'r')" 2>&1) \
  && { echo "FAIL: export_ack took a stale token after the move: $stale" >&2; exit 1; }
echo "ok: a stale lease token is refused: $(echo "$stale" | head -n 1)" >&2
on_new sql $DB "SELECT chronicle.export_ack(id::bigint, token::uuid, 'after-move')
                  FROM (VALUES $(sed -E "s/^([0-9]+) (.*)$/(\1, '\2')/" "$S/leases" | paste -sd,)) l(id, token)" >/dev/null
on_new expect_zero $DB "the leases taken before the move are acked with their tokens" \
  "SELECT 2 - count(*) FROM chronicle.gist_export_deliveries WHERE gist_revision = 'after-move'"

# The extension goes on: numbering, the queue, executions and the refresh, the cron job.
on_new expect_goes_on $DB "the move"
on_new expect_zero $DB "the refresh job moved with the database and can be removed" \
  "SELECT CASE WHEN chronicle.unschedule_refresh() THEN 0 ELSE 1 END"
on_new expect_zero $DB "and scheduled again" \
  "SELECT count(*) - 1 FROM (SELECT chronicle.schedule_refresh()) s"
on_new check_invariants $DB
