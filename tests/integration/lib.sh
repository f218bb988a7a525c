# Shared by the integration tests (sourced). scripts/test.sh starts the cluster and sets
# CHRONICLE_CLUSTER and CHRONICLE_PORT; each test makes its own database.
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

# bench DB SECONDS CLIENTS SCRIPT...: pgbench with the given scripts; fails when any
# client aborted or any transaction failed.
bench() {
  local db=$1 seconds=$2 clients=$3; shift 3
  local out
  out=$(pgbench -h "$IT_HOST" -p "$IT_PORT" -U postgres -n -T "$seconds" -c "$clients" -j 2 \
        "$@" "$db" 2>&1) || { echo "$out" >&2; return 1; }
  echo "$out" | grep -E '^number of (transactions actually processed|failed transactions)' >&2
  if echo "$out" | grep -qE 'aborted|number of failed transactions: [1-9]'; then
    echo "$out" >&2
    return 1
  fi
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
