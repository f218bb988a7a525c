# shellcheck shell=bash
# Shared by the workloads in bench/workloads (sourced). bench/run.sh starts the cluster.
# shellcheck source=../scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
BENCH_HOST=$RUN_DIR/${BENCH_CLUSTER:?run through bench/run.sh}

# fresh_db NAME: drops and recreates NAME with pg_chronicle in it.
fresh_db() {
  bench_psql postgres -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1"
  bench_psql "$1" -c "CREATE EXTENSION pg_chronicle"
}

bench_psql() {
  local db=$1; shift
  cluster_psql "$BENCH_CLUSTER" "$BENCH_PORT" -d "$db" "$@"
}

# value DB QUERY: a single value.
value() {
  bench_psql "$1" -At -c "$2"
}

# tps DB CLIENTS SECONDS SCRIPT [pgbench args...]: transactions per second, excluding
# connection time; fails if any client aborted.
tps() {
  local db=$1 clients=$2 seconds=$3 script=$4; shift 4
  local out
  out=$(pgbench -h "$BENCH_HOST" -p "$BENCH_PORT" -U postgres -n -M prepared \
          -c "$clients" -j "$(( clients < 2 ? 1 : 2 ))" -T "$seconds" -f "$script" "$@" "$db" 2>&1) \
    || { echo "$out" >&2; return 1; }
  echo "$out" | awk '/^tps = / {printf "%.0f\n", $3; exit}'
}

# fastest DB SQL [SETTING]: the fastest of three runs of SQL in one session, in
# milliseconds (psql's \timing), after `SET SETTING` if given.
fastest() {
  local db=$1 sql=$2 setting=${3:-}
  local pre=(); [ -n "$setting" ] && pre=(-c "SET $setting")
  bench_psql "$db" "${pre[@]}" -c '\timing on' -c "$sql" -c "$sql" -c "$sql" \
    | awk '/^Time: / {print $2}' | sort -g | head -1
}

# ratio A B: A/B with two decimals; n/a when either is not a figure.
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN { if (a !~ /^[0-9.]+$/ || b !~ /^[0-9.]+$/ || b == 0) print "n/a"; else printf "%.2f", a / b }'
}

# latency DB TRANSACTIONS SCRIPT [pgbench args...]: mean milliseconds per transaction
# of one client running SCRIPT TRANSACTIONS times.
latency() {
  local db=$1 transactions=$2 script=$3; shift 3
  local out
  out=$(pgbench -h "$BENCH_HOST" -p "$BENCH_PORT" -U postgres -n -M prepared -c 1 \
          -t "$transactions" -f "$script" "$@" "$db" 2>&1) || { echo "$out" >&2; return 1; }
  echo "$out" | awk '/^latency average = / {print $4; exit}'
}

# median VALUE...: the middle value (the lower middle of an even count).
median() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# major_package_exists PKG: whether the current major's Debian suite has PKG.
major_package_exists() {
  in_root apt-cache show "$1" >/dev/null 2>&1
}

# ensure_pgmq: pgmq, the export queue's peer, from its release source in the vendor
# directory (SQL only: its install script and control file), never committed here.
PGMQ_VERSION=1.5.1
ensure_pgmq() {
  local extdir tarball=$VENDOR_DIR/pgmq-$PGMQ_VERSION.tar.gz src
  extdir=$(pg_tool pg_config --sharedir)/extension
  in_root test -f "$extdir/pgmq--$PGMQ_VERSION.sql" && return 0
  [ -f "$tarball" ] || fail "pgmq's release source $tarball is missing (set CHRONICLE_VENDOR_DIR to the directory that has it)"
  src=$(mktemp -d)
  tar -xzf "$tarball" -C "$src" --strip-components=2 \
    "pgmq-$PGMQ_VERSION/pgmq-extension/pgmq.control" "pgmq-$PGMQ_VERSION/pgmq-extension/sql/pgmq.sql"
  chmod -R a+rX "$src"
  in_root install -m 644 "$src/pgmq.control" "$extdir/pgmq.control"
  in_root install -m 644 "$src/sql/pgmq.sql" "$extdir/pgmq--$PGMQ_VERSION.sql"
  rm -rf "$src"
}
