#!/usr/bin/env bash
# Benchmark runner: builds and installs the release build, starts a scratch cluster
# (fsync on, default settings otherwise), runs each workload and prints its table of
# ratios against the anchors measured in the same run. Tables are also written to
# bench/results/pg<major>/<workload>.md.
#
# Usage: bench/run.sh [workload...]   (default: every bench/workloads/*.sh)
# Environment: CHRONICLE_PG (the major, default 17), BENCH_SECONDS (per pgbench run,
# default 15), BENCH_PORT (default 54340).
# shellcheck source=../scripts/lib.sh
source "$(dirname "$0")/../scripts/lib.sh"

export BENCH_SECONDS=${BENCH_SECONDS:-15}
export BENCH_PORT=${BENCH_PORT:-54340}
export BENCH_CLUSTER=bench

workloads=("$@")
if [ ${#workloads[@]} -eq 0 ]; then
  for w in "$REPO_ROOT"/bench/workloads/*.sh; do workloads+=("$(basename "$w" .sh)"); done
fi

ensure_toolchain
RESULTS=$REPO_ROOT/bench/results/pg$PG_MAJOR
install_extension release
cluster_start "$BENCH_CLUSTER" "$BENCH_PORT" "shared_buffers = '1GB'" "max_wal_size = '4GB'" \
  "max_parallel_workers_per_gather = 2" "cron.database_name = 'chronicle_bench'"
# Figures come only from the release build just made: the library the server loaded must
# be byte for byte that build (a debug build runs several times slower).
built=$TARGET_DIR/release/libpg_chronicle.so
loaded=$(pg_tool pg_config --pkglibdir)/pg_chronicle-$(extension_version).so
in_root cmp -s "$built" "$loaded" \
  || fail "the server's $loaded is not the release build $built: refusing to report figures"
mkdir -p "$RESULTS"
{
  echo "Machine: $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB RAM, $(uname -sr);" \
       "PostgreSQL $(pg_tool postgres --version | awk '{print $3}') (Debian $PG_SUITE), shared_buffers 1GB, fsync on."
  echo
} >"$RESULTS/machine.md"
cat "$RESULTS/machine.md"
for workload in "${workloads[@]}"; do
  log "workload: $workload"
  bash "$REPO_ROOT/bench/workloads/$workload.sh" | tee "$RESULTS/$workload.md"
done
cluster_stop "$BENCH_CLUSTER"
