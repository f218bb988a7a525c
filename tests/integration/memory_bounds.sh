#!/usr/bin/env bash
# The amplification attack on 0.3.0, on a server whose processes may use at most 1.5 GB
# of address space (ulimit -v): a state nested 990 deep with many leaves, whose indented
# Gist file and diff were hundreds of times its size. Before 0.4.0 a 6 MB state made
# Rust fail an allocation, which aborts the backend and restarts the whole server. Now
# every write succeeds or fails with a clean error, and the server never restarts.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
NAME=memory-bounds
PORT=$((IT_PORT + 7))
DB=chronicle_it_memory
LIMIT_KB=1572864
trap 'cluster_stop $NAME' EXIT

cluster_start "$NAME" "$PORT" "fsync = off" "shared_buffers = 32MB" >/dev/null
cluster_stop "$NAME"
SERVER_LOG=$(cluster_log "$NAME")
# The log is appended to across runs: only what this run's server writes is read.
LOG_OFFSET=$(( $(as_root stat -c %s "$SERVER_LOG" 2>/dev/null || echo 0) + 1 ))
this_run_log() { as_root tail -c "+$LOG_OFFSET" "$SERVER_LOG"; }
as_postgres bash -c "ulimit -v $LIMIT_KB && exec '$PG_BIN/pg_ctl' -D '$(cluster_data "$NAME")' -l '$SERVER_LOG' -w -t 60 start" >/dev/null
q() { cluster_psql "$NAME" "$PORT" -d "$DB" -At -c "$1"; }
cluster_psql "$NAME" "$PORT" -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null
q "CREATE EXTENSION pg_chronicle" >/dev/null
q "SELECT count(*) FROM chronicle.set_gist_target('deep', 'g1')" >/dev/null
started=$(q "SELECT pg_postmaster_start_time()")

deep() { echo "(repeat('[', 990) || repeat('$1,', $2) || '$1' || repeat(']', 990))::jsonb"; }
# attempt SQL EXPECTED: EXPECTED is "ok" or the SQLSTATE the statement must fail with.
attempt() {
  local out state
  out=$(cluster_psql "$NAME" "$PORT" -d "$DB" -At -v VERBOSITY=verbose -c "$1" 2>&1) && state=ok \
    || state=$(echo "$out" | sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\):.*/\1/p' | head -1)
  if [ "$state" != "$2" ]; then
    echo "$out" | head -5 >&2
    echo "FAIL: expected $2, got ${state:-no SQLSTATE}: ${1:0:80}" >&2
    return 1
  fi
  echo "ok: ${1:0:70}… -> $2" >&2
}

attempt "SELECT chronicle.put_state('deep', 'a', $(deep 0 900000))" ok
attempt "SELECT chronicle.put_state('deep', 'a', $(deep 1 900000))" ok
attempt "SELECT chronicle.state_diff('deep', 'a', 1, 2)" 54000
attempt "SELECT chronicle.put_state('deep', 'b', $(deep 0 3000000))" ok
attempt "SELECT chronicle.put_state('deep', 'b', $(deep 1 3000000))" ok
attempt "SELECT chronicle.state_diff('deep', 'b', 1, 2)" 54000
attempt "SELECT max(length(payload)) < 7000000 FROM chronicle.gist_export_queue" ok

now=$(q "SELECT pg_postmaster_start_time()")
if [ "$now" != "$started" ] || this_run_log | grep -cE "terminated by signal|server process .* was terminated" >/dev/null; then
  this_run_log | grep -E "terminated|memory allocation" >&2 || true
  echo "FAIL: the server restarted" >&2
  exit 1
fi
echo "ok: the server never restarted under a ${LIMIT_KB} kB address-space limit" >&2
