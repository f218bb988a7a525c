#!/usr/bin/env bash
# The main job: installs what is missing, builds and installs pg_chronicle (release),
# starts a local PostgreSQL with pg_cron preloaded, creates the database
# `chronicle_demo` with the extension, loads demo/demo.sql and prints how to connect.
# Safe to run again: the cluster is restarted and the database recreated.
#
# Environment: CHRONICLE_PG=15|17|18 (default 17, Supabase's default). Whatever the major,
# the demo has the same port, socket directory and database name.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

DEMO_PORT=${CHRONICLE_DEMO_PORT:-54320}
DEMO_CLUSTER=demo
DEMO_DB=chronicle_demo

ensure_toolchain
install_extension release
log "starting PostgreSQL $PG_MAJOR on port $DEMO_PORT"
cluster_start "$DEMO_CLUSTER" "$DEMO_PORT" "listen_addresses = 'localhost'" \
  "cron.database_name = '$DEMO_DB'"
create_supabase_roles "$DEMO_CLUSTER" "$DEMO_PORT"
cluster_psql "$DEMO_CLUSTER" "$DEMO_PORT" -d postgres \
  -c "DROP DATABASE IF EXISTS $DEMO_DB WITH (FORCE)" -c "CREATE DATABASE $DEMO_DB"
log "creating the extension and loading demo/demo.sql"
cluster_psql "$DEMO_CLUSTER" "$DEMO_PORT" -d "$DEMO_DB" \
  -c "CREATE EXTENSION pg_cron" -c "CREATE EXTENSION pg_chronicle" -f "$REPO_ROOT/demo/demo.sql"

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
