#!/usr/bin/env bash
# The main job: installs what is missing, builds and installs pg_chronicle (release),
# starts a local PostgreSQL with pg_cron preloaded, creates the database
# `chronicle_demo` with the extension, loads demo/demo.sql and prints how to connect.
# Safe to run again: the cluster is restarted and the database recreated.
#
# Environment: CHRONICLE_PG=15|17|18 (default 17, Supabase's default). Whatever the major,
# the demo has the same port, socket directory and database name.
# CHRONICLE_CITUS=1: the demo on Citus (15 or 17): a coordinator on the demo's port and
# socket, two workers on the next two ports, and chronicle.distribute() before the demo.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

DEMO_PORT=${CHRONICLE_DEMO_PORT:-54320}
DEMO_CLUSTER=demo
DEMO_DB=chronicle_demo

ensure_toolchain
[ "${CHRONICLE_CITUS:-0}" = 0 ] || ensure_citus
install_extension release
if [ "${CHRONICLE_CITUS:-0}" = 0 ]; then
  log "starting PostgreSQL $PG_MAJOR on port $DEMO_PORT"
  cluster_start "$DEMO_CLUSTER" "$DEMO_PORT" "listen_addresses = 'localhost'" \
    "cron.database_name = '$DEMO_DB'"
  create_supabase_roles "$DEMO_CLUSTER" "$DEMO_PORT"
  cluster_psql "$DEMO_CLUSTER" "$DEMO_PORT" -d postgres \
    -c "DROP DATABASE IF EXISTS $DEMO_DB WITH (FORCE)" -c "CREATE DATABASE $DEMO_DB"
  distribute=()
else
  log "starting a Citus coordinator (PostgreSQL $PG_MAJOR, port $DEMO_PORT) and two workers (ports $((DEMO_PORT + 1)), $((DEMO_PORT + 2)))"
  citus_cluster_start "$DEMO_CLUSTER" "$DEMO_PORT" "cron.database_name = '$DEMO_DB'"
  create_supabase_roles "$DEMO_CLUSTER" "$DEMO_PORT"
  citus_create_database "$DEMO_CLUSTER" "$DEMO_PORT" "$DEMO_DB"
  # Citus reaches the workers as the current role (docs/citus.md).
  distribute=(-c "ALTER ROLE authenticated LOGIN" -c "ALTER ROLE service_role LOGIN"
              -c "SELECT * FROM chronicle.distribute()")
fi
log "creating the extension and loading demo/demo.sql"
cluster_psql "$DEMO_CLUSTER" "$DEMO_PORT" -d "$DEMO_DB" \
  -c "CREATE EXTENSION pg_cron" -c "CREATE EXTENSION pg_chronicle" "${distribute[@]}" -f "$REPO_ROOT/demo/demo.sql"

cat <<MSG

pg_chronicle is running in PostgreSQL $(pg_tool postgres --version | awk '{print $3}')${PG_ROOT:+, from the Debian $PG_SUITE root $PG_ROOT}
(data in $(cluster_data "$DEMO_CLUSTER"), log in $(cluster_log "$DEMO_CLUSTER")).
Connect with:
  psql "host=$RUN_DIR/$DEMO_CLUSTER port=$DEMO_PORT dbname=$DEMO_DB user=postgres"
  psql "postgresql://postgres@localhost:$DEMO_PORT/$DEMO_DB"
Try:
  SELECT * FROM chronicle.current_state;
  SELECT version, valid_from, state FROM chronicle.state_history('config', 'app');
Stop it with:
  kill -INT \$(head -n 1 $(cluster_data "$DEMO_CLUSTER")/postmaster.pid)
MSG
if [ "${CHRONICLE_CITUS:-0}" != 0 ]; then
  cat <<MSG
and the two workers with:
  kill -INT \$(head -n 1 $(cluster_data "$DEMO_CLUSTER-worker1")/postmaster.pid) \$(head -n 1 $(cluster_data "$DEMO_CLUSTER-worker2")/postmaster.pid)
What is distributed how: SELECT * FROM chronicle.distribute();  (docs/citus.md)
MSG
fi
