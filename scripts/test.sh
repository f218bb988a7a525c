#!/usr/bin/env bash
# Runs every test tier and exits non-zero on the first failure:
#   1. pure crates: cargo test (no PostgreSQL)
#   2. in-module #[pg_test]s: cargo pgrx test, PostgreSQL running as `postgres`
#   3. pg_regress: tests/pg_regress against a scratch cluster with pg_cron preloaded
#   4. integration: concurrent clients (pgbench) checking invariants, tests/integration/*.sh
#   5. fuzz: the sketch decoder and the JSON patch/diff code under cargo fuzz, bounded
# Installs whatever is missing first (Debian packages, cargo-pgrx, pgrx init).
#
# Usage: scripts/test.sh [tier...]   tiers: unit pgrx regress integration fuzz (default: all)
source "$(dirname "$0")/lib.sh"

REGRESS_PORT=${CHRONICLE_TEST_PORT:-54331}
REGRESS_CLUSTER=regress

tiers=("$@")
[ ${#tiers[@]} -gt 0 ] || tiers=(unit pgrx regress integration fuzz)

run_unit() {
  log "tier 1: pure crates (cargo test)"
  (cd "$REPO_ROOT" && cargo test --workspace --exclude pg_chronicle)
}

run_pgrx() {
  log "tier 2: #[pg_test] (cargo pgrx test, running PostgreSQL as postgres)"
  local pgdata; pgdata=$(postgres_dir pgrx-test)
  (cd "$REPO_ROOT" && cargo pgrx test pg$PG_MAJOR --runas postgres --pgdata "$pgdata/data")
}

start_regress_cluster() {
  # cargo pgrx test installs a build with the pg_test feature; install the real one.
  install_extension debug
  cluster_start "$REGRESS_CLUSTER" "$REGRESS_PORT" "fsync = off" "cron.database_name = 'chronicle_regress'" \
    "max_prepared_transactions = 10"
  create_supabase_roles "$REGRESS_CLUSTER" "$REGRESS_PORT"
}

run_regress() {
  log "tier 3: pg_regress (tests/pg_regress)"
  start_regress_cluster
  # pg_config and pg_regress come with postgresql-client-15, which ensure_toolchain may
  # only just have installed (with postgresql-15): look them up now, not at the top.
  local pg_regress; pg_regress=$(dirname "$("$PG_CONFIG" --pgxs)")/../test/regress/pg_regress
  [ -x "$pg_regress" ] || { echo "pg_regress not found at $pg_regress" >&2; return 1; }
  local out; out=$(postgres_dir regress-out)
  as_root chmod 777 "$out"
  # pg_cron's launcher stays connected to chronicle_regress, which makes pg_regress's own
  # DROP DATABASE fail; recreate it here with FORCE and let pg_regress use it as it is.
  cluster_psql "$REGRESS_CLUSTER" "$REGRESS_PORT" -d postgres \
    -c "DROP DATABASE IF EXISTS chronicle_regress WITH (FORCE)" -c "CREATE DATABASE chronicle_regress"
  local status=0
  (cd "$REPO_ROOT/tests/pg_regress" && "$pg_regress" \
      --host="$RUN_DIR/$REGRESS_CLUSTER" --port="$REGRESS_PORT" --user=postgres \
      --inputdir=. --outputdir="$out" --dbname=chronicle_regress --use-existing \
      --schedule=schedule) || status=$?
  if [ $status -ne 0 ]; then
    cat "$out/regression.diffs" >&2 || true
    return $status
  fi
}

# cargo fuzz on the stable toolchain (RUSTC_BOOTSTRAP enables the sanitizer flags it
# needs), for FUZZ_SECONDS per target (default 30).
run_fuzz() {
  log "fuzz: the sketch decoder and the JSON patch/diff code (cargo fuzz)"
  cargo fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked
  local crate target
  for crate in quantile-sketch chronicle-json; do
    for target in "$REPO_ROOT/crates/$crate/fuzz/fuzz_targets/"*.rs; do
      target=$(basename "$target" .rs)
      log "fuzz: $crate/$target for ${FUZZ_SECONDS:-30} s"
      (cd "$REPO_ROOT/crates/$crate/fuzz" && RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" -- \
         -max_total_time="${FUZZ_SECONDS:-30}" >/dev/null 2>&1) \
        || { echo "fuzz target $crate/$target failed; see crates/$crate/fuzz/artifacts" >&2; return 1; }
    done
  done
}

run_integration() {
  log "tier 4: integration tests (tests/integration)"
  start_regress_cluster
  local test
  for test in "$REPO_ROOT"/tests/integration/*.sh; do
    [ "$(basename "$test")" = lib.sh ] && continue
    log "integration: $(basename "$test")"
    CHRONICLE_CLUSTER=$REGRESS_CLUSTER CHRONICLE_PORT=$REGRESS_PORT bash "$test"
  done
}

ensure_toolchain
for tier in "${tiers[@]}"; do
  case $tier in
    unit) run_unit ;;
    pgrx) run_pgrx ;;
    regress) run_regress ;;
    integration) run_integration ;;
    fuzz) run_fuzz ;;
    *) echo "unknown tier: $tier (expected unit, pgrx, regress, integration or fuzz)" >&2; exit 2 ;;
  esac
done
cluster_stop "$REGRESS_CLUSTER"
log "all tests passed"
