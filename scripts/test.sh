#!/usr/bin/env bash
# Runs every test tier on every supported PostgreSQL major and exits non-zero on the first
# failure, naming the tier and the major:
#   lint         cargo fmt --check (rustfmt.toml), cargo clippy -D warnings over the workspace,
#                and every shell script through ShellCheck (.shellcheckrc), once
#   unit         pure crates: cargo test (no PostgreSQL), once
#   pgrx         in-module #[pg_test]s: cargo pgrx test, PostgreSQL running as `postgres`
#   regress      pg_regress: tests/pg_regress against a scratch cluster with pg_cron preloaded
#   isolation    pg_isolation_regress: the named races of tests/isolation/specs, step by step
#                between sessions, against the same cluster
#   integration  concurrent clients (pgbench) checking invariants, tests/integration/*.sh
#   citus        tests/citus/*.sh on a Citus coordinator and two workers (Citus built from its
#                release source in ../shared/vendor), on the majors Citus supports (15, 17)
#   package      scripts/package.sh's Debian package (a debug build, for time), installed with
#                apt-get into a scratch Debian root of the major's release that never saw the
#                build, and the regress suite run there against it
#   client       the TypeScript client (clients/typescript): npm ci && npm test against the
#                scratch cluster, both drivers, both through Drizzle
#   fuzz         the sketch decoder and the JSON patch/diff code under cargo fuzz, once
# Installs whatever is missing first (Debian packages, the Debian roots of 17 and 18,
# cargo-pgrx, pgrx init, Node 20 and the client's npm packages). The tests install debug
# builds into each major's server directories; what was installed there before (a release
# build of demo.sh or bench/run.sh) is put back when they end, pass or fail. The roots are made in the background while the host's major runs.
#
# Usage: scripts/test.sh [tier...]         (default: every tier)
# Environment: CHRONICLE_PG="15 17 18"      the majors to test (default: every supported one)
#              CHRONICLE_TESTS="upgrade …"  only these integration tests (default: all)
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

REGRESS_PORT=${CHRONICLE_TEST_PORT:-54331}
REGRESS_CLUSTER=regress
ONCE_TIERS=" lint unit fuzz "

tiers=("$@")
[ ${#tiers[@]} -gt 0 ] || tiers=(lint unit pgrx regress isolation integration citus client package fuzz)
for tier in "${tiers[@]}"; do
  case $tier in
    lint|unit|pgrx|regress|isolation|integration|citus|client|package|fuzz) ;;
    *) echo "unknown tier: $tier (expected lint, unit, pgrx, regress, isolation, integration, citus, client, package or fuzz)" >&2; exit 2 ;;
  esac
done
read -r -a majors <<<"$(selected_majors "${SUPPORTED_MAJORS[*]}")"
for major in "${majors[@]}"; do (use_major "$major") || exit 1; done

# Style and static checks. Clippy builds the extension against the first selected major
# (pgrx needs one), so the tier runs once that major is set up.
run_lint() {
  command -v shellcheck >/dev/null || ensure_host_packages shellcheck
  (cd "$REPO_ROOT" && cargo fmt --version >/dev/null 2>&1) \
    || fail "rustfmt is missing from the Rust toolchain (rustup component add rustfmt)"
  (cd "$REPO_ROOT" && cargo fmt --all --check) || fail "cargo fmt --all --check: run cargo fmt --all"
  cargo_for_major clippy --workspace --all-targets -- -D warnings
  (cd "$REPO_ROOT" && shellcheck -S warning -x scripts/*.sh bench/*.sh bench/workloads/*.sh \
     tests/integration/*.sh tests/citus/*.sh .ci/run)
}

run_unit() {
  (cd "$REPO_ROOT" && cargo test --workspace --exclude pg_chronicle)
}

run_pgrx() {
  local pgdata; pgdata=$(postgres_dir "pgrx-test-pg$PG_MAJOR")
  cargo_for_major pgrx test "pg$PG_MAJOR" --runas postgres --pgdata "$pgdata/data"
}

start_regress_cluster() {
  # cargo pgrx test installs a build with the pg_test feature; install the real one
  # (unless a package installed it: the package tier).
  [ -n "${EXTENSION_FROM_PACKAGE:-}" ] || install_extension debug
  # The client's tests hold two pools of up to 60 connections at once.
  cluster_start "$REGRESS_CLUSTER" "$REGRESS_PORT" "fsync = off" "cron.database_name = 'chronicle_regress'" \
    "max_prepared_transactions = 10" "max_connections = 150"
  create_supabase_roles "$REGRESS_CLUSTER" "$REGRESS_PORT"
}

run_regress() {
  start_regress_cluster
  local pg_regress; pg_regress=$(dirname "$(pg_tool pg_config --pgxs)")/../test/regress/pg_regress
  [ -x "$PG_ROOT$pg_regress" ] || fail "pg_regress not found at $PG_ROOT$pg_regress"
  local out; out=$(postgres_dir "regress-out-pg$PG_MAJOR")
  as_root chmod 777 "$out"
  # pg_cron's launcher stays connected to chronicle_regress, which makes pg_regress's own
  # DROP DATABASE fail; recreate it here with FORCE and let pg_regress use it as it is.
  cluster_psql "$REGRESS_CLUSTER" "$REGRESS_PORT" -d postgres \
    -c "DROP DATABASE IF EXISTS chronicle_regress WITH (FORCE)" -c "CREATE DATABASE chronicle_regress"
  local status=0
  (cd "$REPO_ROOT/tests/pg_regress" && in_root "$pg_regress" \
      --host="$RUN_DIR/$REGRESS_CLUSTER" --port="$REGRESS_PORT" --user=postgres \
      --inputdir=. --outputdir="$out" --dbname=chronicle_regress --use-existing \
      --schedule=schedule) || status=$?
  if [ $status -ne 0 ]; then
    cat "$out/regression.diffs" >&2 || true
    return $status
  fi
}

# The races with a name (an ack against an enqueue, a batch ack against a writer, two
# refreshes, two patches, two compare-and-sets), each stated step by step in a spec under
# tests/isolation/specs: PostgreSQL's isolation tester runs the steps in the order a
# permutation gives, going on to the next step once it sees the previous one wait for a
# lock, and the output must equal tests/isolation/expected. Every spec runs, in a database
# of its own that pg_isolation_regress makes.
run_isolation() {
  start_regress_cluster
  local isolation; isolation=$(dirname "$(pg_tool pg_config --pgxs)")/../test/isolation/pg_isolation_regress
  [ -x "$PG_ROOT$isolation" ] || fail "pg_isolation_regress not found at $PG_ROOT$isolation"
  local out spec specs=()
  out=$(postgres_dir "isolation-out-pg$PG_MAJOR")
  as_root chmod 777 "$out"
  for spec in "$REPO_ROOT"/tests/isolation/specs/*.spec; do specs+=("$(basename "$spec" .spec)"); done
  [ ${#specs[@]} -gt 0 ] || fail "no isolation specs in tests/isolation/specs"
  local status=0
  (cd "$REPO_ROOT/tests/isolation" && in_root "$isolation" \
      --host="$RUN_DIR/$REGRESS_CLUSTER" --port="$REGRESS_PORT" --user=postgres \
      --inputdir=. --outputdir="$out" --dbname=chronicle_isolation "${specs[@]}") || status=$?
  if [ $status -ne 0 ]; then
    cat "$out/regression.diffs" >&2 || true
    log "isolation on PostgreSQL $PG_MAJOR: the diffs above are in $out/regression.diffs"
    return $status
  fi
}

run_integration() {
  start_regress_cluster
  local test start
  for test in "$REPO_ROOT"/tests/integration/*.sh; do
    [ "$(basename "$test")" = lib.sh ] && continue
    case " ${CHRONICLE_TESTS:-$(basename "$test" .sh)} " in *" $(basename "$test" .sh) "*) ;; *) continue ;; esac
    log "integration on PostgreSQL $PG_MAJOR: $(basename "$test")"
    start=$(date +%s)
    CHRONICLE_PG=$PG_MAJOR CHRONICLE_CLUSTER=$REGRESS_CLUSTER CHRONICLE_PORT=$REGRESS_PORT bash "$test"
    log "integration on PostgreSQL $PG_MAJOR: $(basename "$test") passed in $(($(date +%s) - start)) s"
  done
}

# Scale-out: each tests/citus/*.sh starts its own coordinator and two workers with the
# debug build, Citus built from ../shared/vendor for the major first. Citus 13.2 supports
# 15 and 17: on 18 the tier says so and passes nothing off as tested.
run_citus() {
  if ! citus_supports_major "$PG_MAJOR"; then
    log "citus: Citus $CITUS_VERSION does not support PostgreSQL $PG_MAJOR: no Citus test runs on it"
    return 0
  fi
  ensure_citus
  install_extension debug
  local test start
  for test in "$REPO_ROOT"/tests/citus/*.sh; do
    log "citus on PostgreSQL $PG_MAJOR: $(basename "$test")"
    start=$(date +%s)
    CHRONICLE_PG=$PG_MAJOR bash "$test"
    log "citus on PostgreSQL $PG_MAJOR: $(basename "$test") passed in $(($(date +%s) - start)) s"
  done
}

# The TypeScript client's tests, in a database of their own with the extension installed
# (and Supabase's roles, which the scratch cluster has): the lockfile's packages (npm ci),
# then tsc in strict mode over the sources, tests and example, then Node's test runner.
run_client() {
  start_regress_cluster
  cluster_psql "$REGRESS_CLUSTER" "$REGRESS_PORT" -d postgres \
    -c "DROP DATABASE IF EXISTS chronicle_client WITH (FORCE)" -c "CREATE DATABASE chronicle_client"
  cluster_psql "$REGRESS_CLUSTER" "$REGRESS_PORT" -d chronicle_client -c "CREATE EXTENSION pg_chronicle"
  cd "$REPO_ROOT/clients/typescript"
  node_run npm ci --no-audit --no-fund --loglevel=error >"$LOG_DIR/client-npm-ci.log" 2>&1 \
    || { cat "$LOG_DIR/client-npm-ci.log" >&2; fail "npm ci in clients/typescript failed"; }
  PGHOST=$RUN_DIR/$REGRESS_CLUSTER PGPORT=$REGRESS_PORT PGUSER=postgres PGDATABASE=chronicle_client \
    node_run npm test --silent
}

# The package as a user installs it: built by scripts/package.sh, then installed with
# apt-get (which resolves its Depends) into a Debian root of the major's release made only
# for this, holding Debian's server, pg_cron and the server-dev package (for pg_regress) and
# never a build of ours; the regress suite then runs against a cluster of that root.
run_package() {
  CHRONICLE_PG=$PG_MAJOR CHRONICLE_PACKAGE_PROFILE=debug bash "$REPO_ROOT/scripts/package.sh"
  local deb
  deb=$REPO_ROOT/target/packages/postgresql-$PG_MAJOR-chronicle_$(extension_version)_$(dpkg --print-architecture).deb
  [ -f "$deb" ] || fail "scripts/package.sh wrote no $deb"
  PG_ROOT=$ROOTS_DIR/package-$PG_SUITE
  APT_PACKAGES=("postgresql-$PG_MAJOR" "postgresql-$PG_MAJOR-cron" "postgresql-server-dev-$PG_MAJOR" procps)
  ensure_host_packages debootstrap
  ensure_root
  in_root env DEBIAN_FRONTEND=noninteractive dpkg --purge "postgresql-$PG_MAJOR-chronicle" >/dev/null 2>&1 || true
  if in_root sh -c 'ls /usr/lib/postgresql/*/lib/pg_chronicle* /usr/share/postgresql/*/extension/pg_chronicle*' 2>/dev/null; then
    fail "the package root $PG_ROOT has pg_chronicle files no package installed"
  fi
  as_root install -d -m 755 "$RUN_DIR/packages"
  as_root install -m 644 "$deb" "$RUN_DIR/packages/"
  in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$RUN_DIR/packages/$(basename "$deb")" \
    >"$LOG_DIR/package-install-pg$PG_MAJOR.log" 2>&1 \
    || { tail -n 20 "$LOG_DIR/package-install-pg$PG_MAJOR.log" >&2; fail "apt-get install ./$(basename "$deb") failed"; }
  log "installed $(in_root dpkg-query -W -f '${Package} ${Version}' "postgresql-$PG_MAJOR-chronicle") into $PG_ROOT"
  REGRESS_CLUSTER=package REGRESS_PORT=$((REGRESS_PORT + 2)) EXTENSION_FROM_PACKAGE=1
  local status=0
  (run_regress) || status=$?
  cluster_stop package
  in_root env DEBIAN_FRONTEND=noninteractive dpkg --purge "postgresql-$PG_MAJOR-chronicle" >/dev/null
  return $status
}

# cargo fuzz on the stable toolchain (RUSTC_BOOTSTRAP enables the sanitizer flags it
# needs). Per target: every input kept in fuzz/regressions/<target> (each one crashed or
# hung a target once) is replayed first; then FUZZ_SECONDS (default 30) of fuzzing start
# from the minimized corpus kept in fuzz/corpus/<target>, writing new finds to a scratch
# directory so the kept corpus only changes by hand (cargo fuzz cmin).
run_fuzz() {
  cargo fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked
  local crate target dir scratch status
  for crate in quantile-sketch chronicle-json; do
    dir=$REPO_ROOT/crates/$crate/fuzz
    for target in "$dir/fuzz_targets/"*.rs; do
      target=$(basename "$target" .rs)
      [ -d "$dir/corpus/$target" ] || fail "no kept corpus in crates/$crate/fuzz/corpus/$target"
      if [ -d "$dir/regressions/$target" ]; then
        log "fuzz: $crate/$target replays $(find "$dir/regressions/$target" -type f | wc -l) kept crash inputs"
        (cd "$dir" && RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" "regressions/$target" -- -runs=0 \
           >"$LOG_DIR/fuzz-$target-replay.log" 2>&1) \
          || { tail -n 30 "$LOG_DIR/fuzz-$target-replay.log" >&2
               fail "fuzz target $crate/$target fails on a kept input; see $LOG_DIR/fuzz-$target-replay.log"; }
      fi
      log "fuzz: $crate/$target for ${FUZZ_SECONDS:-30} s from $(find "$dir/corpus/$target" -type f | wc -l) kept inputs"
      scratch=$(mktemp -d)
      status=0
      (cd "$dir" && RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" "$scratch" "corpus/$target" -- \
         -max_total_time="${FUZZ_SECONDS:-30}" >"$LOG_DIR/fuzz-$target.log" 2>&1) || status=$?
      rm -rf "$scratch"
      grep -E '^(#[0-9]+ +DONE|Done [0-9]+ runs)' "$LOG_DIR/fuzz-$target.log" >&2 || true
      [ $status = 0 ] || { tail -n 30 "$LOG_DIR/fuzz-$target.log" >&2
        fail "fuzz target $crate/$target crashed; the input is in crates/$crate/fuzz/artifacts/$target (once fixed, keep it in fuzz/regressions/$target)"; }
    done
  done
}

# The figures: one line per tier and major, in the log as each ends and again at the end.
timings=()

# run_tier TIER: runs it with errexit in force (a caller's `||` would switch it off), times
# it, and stops everything with a line naming the tier and the major when it fails.
run_tier() {
  local tier=$1 where start status
  where=${PG_MAJOR:+ on PostgreSQL $PG_MAJOR}
  case $ONCE_TIERS in *" $tier "*) where= ;; esac
  log "tier $tier$where"
  start=$(date +%s)
  set +e
  (set -e; "run_$tier")
  status=$?
  set -e
  timings+=("$(printf '%-12s %-14s %5d s' "$tier" "${where:- (any major)}" $(($(date +%s) - start)))")
  log "tier $tier$where: $([ $status = 0 ] && echo passed || echo FAILED) in $(($(date +%s) - start)) s"
  [ $status = 0 ] || fail "tier $tier failed${where}"
}

print_timings() { [ ${#timings[@]} -eq 0 ] || { log "tier timings"; printf '  %s\n' "${timings[@]}" >&2; }; }
declare -A root_jobs=()
# The majors whose installed extension a tier replaced; put back on exit, pass or fail.
saved_majors=()
on_exit() {
  print_timings
  # A failed tier leaves its cluster running; it must not outlive the run (nor hold what
  # the run held, such as a lock a caller took around it).
  if [ -n "${PG_MAJOR:-}" ]; then cluster_stop "$REGRESS_CLUSTER" || true; cluster_stop package || true; fi
  local major
  for major in "${saved_majors[@]}"; do (use_major "$major"; restore_installed_extension) || true; done
  # A root still being made when a tier failed is not left half-made in the background.
  local job
  for job in "${root_jobs[@]}"; do kill "$job" 2>/dev/null || true; done
}
trap on_exit EXIT

wants() { case " ${tiers[*]} " in *" $1 "*) return 0 ;; esac; return 1; }

ensure_host_packages postgresql-client-15 sudo procps
# The host's own major first: it makes the host's postgres user, whose uid the roots'
# postgres users then take (files one major's server writes belong to every major's).
for major in "${majors[@]}"; do
  use_major "$major"
  [ -n "$PG_ROOT" ] || ensure_host_packages "${APT_PACKAGES[@]}"
done
# The roots of the majors after the first are made in the background, while cargo-pgrx
# is installed and the first major's tiers run.
if wants pgrx || wants regress || wants isolation || wants integration || wants citus; then
  for major in "${majors[@]:1}"; do
    use_major "$major"
    [ -n "$PG_ROOT" ] || continue
    ensure_host_packages debootstrap
    (ensure_root) >"$LOG_DIR/root-job-pg$major.log" 2>&1 &
    root_jobs[$major]=$!
  done
fi
ensure_cargo_pgrx
wants client && ensure_node

if wants lint; then
  use_major "${majors[0]}"
  ensure_major
  run_tier lint
fi
wants unit && run_tier unit
for major in "${majors[@]}"; do
  wants pgrx || wants regress || wants isolation || wants integration || wants citus || wants client || wants package || break
  use_major "$major"
  if [ -n "${root_jobs[$major]:-}" ]; then
    wait "${root_jobs[$major]}" || { cat "$LOG_DIR/root-job-pg$major.log" >&2; fail "the Debian $PG_SUITE root for PostgreSQL $major"; }
  fi
  ensure_major
  save_installed_extension
  saved_majors+=("$major")
  for tier in pgrx regress isolation integration citus client package; do wants $tier && run_tier $tier; done
  cluster_stop "$REGRESS_CLUSTER"
done
wants fuzz && run_tier fuzz

log "all tests passed on PostgreSQL ${majors[*]}"
