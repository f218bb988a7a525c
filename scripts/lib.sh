# shellcheck shell=bash
# Shared by scripts/demo.sh, scripts/test.sh, bench/run.sh and the tests (sourced, not run).
#
# Three jobs: install whatever a fresh Debian 12 machine is missing, give each supported
# PostgreSQL major its own userland, and run scratch clusters of it.
#
# Where each major comes from: 15 is Debian bookworm's, installed on the machine itself.
# 17 (trixie) and 18 (sid) are Debian's own binary packages of the suite that has them,
# installed into a Debian root of that suite made with debootstrap below ROOTS_DIR, the
# way sbuild and pbuilder build for another suite: installing them on the bookworm host
# would pull a newer libc into the machine. The extension is built for such a major inside
# its root (the host's Rust toolchain bind-mounted in) and its servers run there, as that
# root's `postgres` user, with their sockets in RUN_DIR, which both sides see.
#
# PostgreSQL refuses to run as root, and these machines run as root, so every server runs
# as a `postgres` system user, with its data and socket in a directory that user owns, on
# a private port.

set -euo pipefail

PGRX_VERSION=0.18.0
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Every cluster, log and scratch file lives below this directory.
RUN_DIR=${CHRONICLE_RUN_DIR:-/tmp/pg_chronicle}
LOG_DIR=$RUN_DIR/logs
# The Debian roots of the majors the host does not have; made once per machine.
ROOTS_DIR=${CHRONICLE_ROOTS:-/var/lib/pg_chronicle/roots}
SUPPORTED_MAJORS=(15 17 18)
# PostgreSQL 17: Supabase's platform default since 2025 and its self-hosted default since
# June 2026, so what a new user's database most likely runs.
DEFAULT_MAJOR=17

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# fail MESSAGE: one clear line, then exit. Nothing falls back to another major.
fail() {
  printf '\033[1;31mFAILED: %s\033[0m\n' "$*" >&2
  exit 1
}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# The Debian suite each major's packages come from.
major_suite() {
  case $1 in
    15) echo bookworm ;;
    17) echo trixie ;;
    18) echo sid ;;
  esac
}

# use_major MAJOR: every function below then works on that major. Sets PG_MAJOR, PG_SUITE,
# PG_ROOT (empty for the host's own major), PG_BIN, PG_CONFIG and TARGET_DIR.
use_major() {
  case " ${SUPPORTED_MAJORS[*]} " in
    *" $1 "*) ;;
    *) fail "PostgreSQL '$1' is not supported; CHRONICLE_PG takes ${SUPPORTED_MAJORS[*]}" ;;
  esac
  PG_MAJOR=$1
  PG_SUITE=$(major_suite "$1")
  PG_BIN=/usr/lib/postgresql/$1/bin
  PG_CONFIG=$PG_BIN/pg_config
  if [ "$PG_SUITE" = bookworm ]; then
    PG_ROOT=
    TARGET_DIR=$REPO_ROOT/target
  else
    PG_ROOT=$ROOTS_DIR/$PG_SUITE
    # A root links against its own libc and headers: its build never shares objects
    # with the host's.
    TARGET_DIR=$REPO_ROOT/target/pg$1
  fi
  APT_PACKAGES=(
    "postgresql-$1" "postgresql-server-dev-$1" "postgresql-$1-cron"
    "postgresql-$1-tdigest" "postgresql-$1-pgq3"
    libclang-dev clang gcc libc6-dev make pkg-config procps sudo
  )
  # (cargo pgrx test --runas copies the extension in with sudo, root or not.)
  [ -n "$PG_ROOT" ] || APT_PACKAGES+=(postgresql-contrib)
}

# The majors a command works on: CHRONICLE_PG ("15", "17 18", ...), or $1 when unset.
selected_majors() {
  local majors=${CHRONICLE_PG:-$1}
  [ -n "${majors// /}" ] || fail "CHRONICLE_PG names no major; it takes ${SUPPORTED_MAJORS[*]}"
  echo $majors
}

# The directories a root sees as the host does: the clusters and their sockets, the
# repository, and the Rust toolchain. One bind per line: SOURCE TARGET [ro].
ROOT_EXTRA_BINDS=()
root_binds() {
  local dir
  for dir in /tmp "$RUN_DIR" "$REPO_ROOT" "${CARGO_HOME:-$HOME/.cargo}" \
             "${RUSTUP_HOME:-$HOME/.rustup}"; do
    [ -d "$dir" ] && echo "$dir $dir"
  done
  # More, for one command: ROOT_EXTRA_BINDS=("SOURCE TARGET [ro]"...) in_root ...
  [ ${#ROOT_EXTRA_BINDS[@]} -eq 0 ] || printf '%s\n' "${ROOT_EXTRA_BINDS[@]}"
}

# Run inside a private mount namespace: binds /proc, /dev and the root_binds into ROOT and
# runs the command there, in the caller's directory when the root has it. The binds
# vanish with the last process of the namespace (a server started there keeps them).
_enter_root() {
  local root=$1 cwd=$2 binds=$3 source target mode
  shift 3
  mount -t proc proc "$root/proc"
  mount --rbind /dev "$root/dev"
  while read -r source target mode; do
    [ -n "$source" ] || continue
    mkdir -p "$root$target"
    mount --bind "$source" "$root$target"
    [ "$mode" != ro ] || mount -o remount,bind,ro "$root$target"
  done <<<"$binds"
  exec chroot "$root" /bin/sh -c 'cd "$0" 2>/dev/null || cd /; exec "$@"' "$cwd" "$@"
}

# in_root COMMAND...: COMMAND as root in the current major's userland. Its status is
# returned explicitly: a bare `return` in a function run from a trap (upgrade.sh's EXIT
# cleanup tests with it) returns the status from before the trap, not COMMAND's.
in_root() {
  if [ -z "$PG_ROOT" ]; then as_root "$@"; return $?; fi
  as_root unshare --mount --propagation private -- bash -c "$(declare -f _enter_root); _enter_root \"\$@\"" \
    _ "$PG_ROOT" "$PWD" "$(root_binds)" "$@"
}

# as_postgres COMMAND...: COMMAND as the current major's postgres user.
as_postgres() {
  if [ -n "$PG_ROOT" ]; then in_root runuser -u postgres -- "$@"
  elif [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"
  else sudo -u postgres "$@"; fi
}

# The current major's own client programs, wherever they run from.
pg_tool() {
  local program=$1; shift
  if [ -n "$PG_ROOT" ]; then in_root "$PG_BIN/$program" "$@"; else "$PG_BIN/$program" "$@"; fi
}
psql() { pg_tool psql "$@"; }
pgbench() { pg_tool pgbench "$@"; }
pg_dump() { pg_tool pg_dump "$@"; }
pg_restore() { pg_tool pg_restore "$@"; }

ensure_host_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' \
      || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  mkdir -p "$LOG_DIR"
  local logfile=$LOG_DIR/apt-host.log
  { as_root apt-get update -qq \
      && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
           "${missing[@]}"; } >"$logfile" 2>&1 \
    || fail "installing ${missing[*]} on the host failed; see $logfile"
}

# ensure_major_packages PKG...: Debian packages in the current major's userland (the
# host's, or its root's).
ensure_major_packages() {
  if [ -n "$PG_ROOT" ]; then
    APT_PACKAGES+=("$@"); ensure_root
  else
    ensure_host_packages "$@"
  fi
}

# The mirror the machine's own apt sources name.
debian_mirror() {
  local mirror
  mirror=$(grep -rhoE '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list \
             /etc/apt/sources.list.d/ 2>/dev/null | grep -oE 'https?://[^ ]+' | head -n 1)
  echo "${mirror:-http://deb.debian.org/debian}"
}

# ensure_root: makes the current major's Debian root on first use, refreshes it when it
# is a day old, and installs what it misses. The stamp file records what was installed.
ensure_root() {
  [ -n "$PG_ROOT" ] || return 0
  mkdir -p "$LOG_DIR"
  local stamp=$PG_ROOT/.chronicle-root logfile=$LOG_DIR/root-$PG_SUITE.log
  local wanted="${APT_PACKAGES[*]}"
  if [ ! -f "$stamp" ]; then
    ensure_host_packages debootstrap
    log "making a Debian $PG_SUITE root for PostgreSQL $PG_MAJOR in $PG_ROOT (log: $logfile)"
    as_root rm -rf "$PG_ROOT"
    as_root mkdir -p "$ROOTS_DIR"
    as_root debootstrap --variant=minbase "$PG_SUITE" "$PG_ROOT" "$(debian_mirror)" >"$logfile" 2>&1 \
      || fail "debootstrap of Debian $PG_SUITE into $PG_ROOT failed; see $logfile"
    # The root's postgres user is the host's (same uid and gid) when the host has one, so
    # that files a server of one major writes (a COPY to /tmp, a data directory that
    # pg_upgrade takes over) belong to the servers of every major.
    if id -u postgres >/dev/null 2>&1; then
      as_root chroot "$PG_ROOT" groupadd --system -g "$(id -g postgres)" postgres >>"$logfile" 2>&1 \
        && as_root chroot "$PG_ROOT" useradd --system -u "$(id -u postgres)" -g postgres \
             -d /var/lib/postgresql -s /bin/bash postgres >>"$logfile" 2>&1 \
        || fail "making the host's postgres user in the $PG_SUITE root failed; see $logfile"
    fi
    # No service starts inside the root, and no cluster is made by the packages: the
    # scripts make their own.
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$PG_ROOT/usr/sbin/policy-rc.d" >/dev/null
    as_root chmod 755 "$PG_ROOT/usr/sbin/policy-rc.d"
    as_root mkdir -p "$PG_ROOT/etc/postgresql-common"
    echo 'create_main_cluster = false' | as_root tee "$PG_ROOT/etc/postgresql-common/createcluster.conf" >/dev/null
    # The archive's copy of sid carries a Release file past its Valid-Until date.
    echo 'Acquire::Check-Valid-Until "false";' | as_root tee "$PG_ROOT/etc/apt/apt.conf.d/99chronicle" >/dev/null
  elif [ "$(cat "$stamp")" = "$wanted" ] && [ -z "$(find "$stamp" -mmin +1440)" ]; then
    return 0
  else
    log "refreshing the Debian $PG_SUITE root (log: $logfile)"
  fi
  { in_root apt-get update -q \
      && in_root env DEBIAN_FRONTEND=noninteractive apt-get upgrade -y -q \
      && in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
           "${APT_PACKAGES[@]}"; } >>"$logfile" 2>&1 \
    || fail "installing PostgreSQL $PG_MAJOR's packages into the $PG_SUITE root failed; see $logfile"
  echo "$wanted" | as_root tee "$stamp" >/dev/null
}

ensure_cargo_pgrx() {
  if ! cargo pgrx --version 2>/dev/null | grep -q "$PGRX_VERSION"; then
    log "installing cargo-pgrx $PGRX_VERSION"
    cargo install cargo-pgrx --version "$PGRX_VERSION" --locked
  fi
}

# ensure_major: the current major's server, headers and pgrx configuration, checked.
ensure_major() {
  if [ -n "$PG_ROOT" ]; then ensure_root; else ensure_host_packages "${APT_PACKAGES[@]}"; fi
  local version
  version=$(pg_tool pg_config --version 2>/dev/null) \
    || fail "no pg_config for PostgreSQL $PG_MAJOR at ${PG_ROOT}$PG_CONFIG"
  case $version in
    "PostgreSQL $PG_MAJOR."*) ;;
    *) fail "${PG_ROOT}$PG_CONFIG is $version, not PostgreSQL $PG_MAJOR" ;;
  esac
  # Point pgrx at Debian's PostgreSQL: there is no internet to download one from. A root
  # has its own home, so its own pgrx configuration.
  local config=${PG_ROOT}${PGRX_HOME:-$HOME/.pgrx}/config.toml
  if ! grep -qs "pg$PG_MAJOR = \"$PG_CONFIG\"" "$config"; then
    log "cargo pgrx init --pg$PG_MAJOR $PG_CONFIG"
    local logfile=$LOG_DIR/pgrx-init-$PG_MAJOR.log
    in_root cargo pgrx init "--pg$PG_MAJOR" "$PG_CONFIG" >"$logfile" 2>&1 \
      || fail "cargo pgrx init for PostgreSQL $PG_MAJOR failed; see $logfile"
  fi
  log "PostgreSQL $PG_MAJOR: ${version#PostgreSQL } from Debian $PG_SUITE${PG_ROOT:+ (root $PG_ROOT)}"
}

ensure_toolchain() {
  ensure_host_packages postgresql-client-15 sudo procps
  ensure_cargo_pgrx
  ensure_major
}

# cargo_for_major ARGS...: cargo in the current major's userland, building into its own
# target directory with only its pgrx feature.
cargo_for_major() {
  # The features go before a `--` (what follows it is the tool's own, as clippy's -D warnings).
  local arg args=() rest=() seen_dashes=
  for arg in "$@"; do
    if [ -z "$seen_dashes" ] && [ "$arg" = -- ]; then seen_dashes=1; fi
    if [ -n "$seen_dashes" ]; then rest+=("$arg"); else args+=("$arg"); fi
  done
  args+=(--no-default-features --features "pg$PG_MAJOR" "${rest[@]}")
  if [ -n "$PG_ROOT" ]; then
    (cd "$REPO_ROOT" && in_root env CARGO_TARGET_DIR="$TARGET_DIR" cargo "${args[@]}")
  else
    (cd "$REPO_ROOT" && CARGO_TARGET_DIR="$TARGET_DIR" cargo "${args[@]}")
  fi
}

# Builds the extension and installs it into the current major's PostgreSQL directories
# (each major has its own, so one never overwrites another's). $1: "release" or "debug".
# The version being built (Cargo.toml's), which names its library: each release's is
# pg_chronicle-<version>.so, so that a database not yet updated keeps loading its own.
extension_version() {
  sed -n 's/^version = "\(.*\)"$/\1/p' "$REPO_ROOT/Cargo.toml" | head -n 1
}

install_extension() {
  local flags=(--pg-config "$PG_CONFIG") logfile=$LOG_DIR/install-pg$PG_MAJOR.log
  [ "${1:-debug}" = release ] && flags+=(--release)
  [ -n "$PG_ROOT" ] || [ "$(id -u)" = 0 ] || flags+=(--sudo)
  log "building and installing pg_chronicle for PostgreSQL $PG_MAJOR (${1:-debug}; log: $logfile)"
  mkdir -p "$LOG_DIR"
  cargo_for_major pgrx install "${flags[@]}" >"$logfile" 2>&1 \
    || { tail -n 20 "$logfile" >&2; fail "building pg_chronicle for PostgreSQL $PG_MAJOR failed; see $logfile"; }
}

# save_installed_extension / restore_installed_extension: the pg_chronicle files in the
# current major's server directories (the library, the control file and SQL scripts), kept
# in $RUN_DIR/installed-pgNN before a test installs its own build over them, and put back
# afterwards, so a release build that demo.sh or bench/run.sh installed is what the server
# loads again once the tests are done (or nothing, if nothing was installed).
installed_backup() { echo "$RUN_DIR/installed-pg$PG_MAJOR"; }
save_installed_extension() {
  local backup libdir sharedir
  backup=$(installed_backup)
  [ -f "$backup/.saved" ] && return 0
  libdir=$(pg_tool pg_config --pkglibdir); sharedir=$(pg_tool pg_config --sharedir)
  as_root install -d -m 755 "$RUN_DIR"
  as_root rm -rf "$backup"
  as_root install -d -m 755 "$backup/lib" "$backup/extension"
  in_root sh -c 'for f in "$1"/pg_chronicle*.so; do [ -e "$f" ] && cp -a "$f" "$3/lib/"; done
                 for f in "$2"/extension/pg_chronicle*; do [ -e "$f" ] && cp -a "$f" "$3/extension/"; done
                 touch "$3/.saved"' _ "$libdir" "$sharedir" "$backup"
}
restore_installed_extension() {
  local backup libdir sharedir
  backup=$(installed_backup)
  [ -f "$backup/.saved" ] || return 0
  libdir=$(pg_tool pg_config --pkglibdir); sharedir=$(pg_tool pg_config --sharedir)
  in_root sh -c 'rm -f "$1"/pg_chronicle*.so "$2"/extension/pg_chronicle*
                 for f in "$3"/lib/* "$3"/extension/*; do [ -e "$f" ] || continue
                   case $f in */lib/*) cp -a "$f" "$1/" ;; *) cp -a "$f" "$2/extension/" ;; esac
                 done' _ "$libdir" "$sharedir" "$backup"
  as_root rm -rf "$backup"
}

# postgres_dir NAME: a directory the current major's postgres user owns, below RUN_DIR.
postgres_dir() {
  as_root install -d -m 755 "$RUN_DIR"
  in_root install -d -m 700 -o postgres -g postgres "$RUN_DIR/$1"
  echo "$RUN_DIR/$1"
}

# A cluster NAME keeps its socket (and so its connection string) in $RUN_DIR/NAME whatever
# the major; each major has its own data directory and log there.
cluster_data() { echo "$RUN_DIR/$1/pg$PG_MAJOR"; }
cluster_log() { echo "$RUN_DIR/$1/server-pg$PG_MAJOR.log"; }

# cluster_start NAME PORT [postgresql.conf lines...]
# Creates the cluster on first use; (re)starts it so a freshly installed .so is loaded.
# Clients connect with cluster_psql.
cluster_start() {
  local name=$1 port=$2; shift 2
  local dir=$RUN_DIR/$name data logfile
  data=$(cluster_data "$name"); logfile=$(cluster_log "$name")
  cluster_stop "$name"
  # No server runs here now: a socket lock left by one that died goes.
  as_root rm -f "$dir"/.s.PGSQL.*
  postgres_dir "$name" >/dev/null
  as_root chmod 755 "$dir"
  # What an earlier root, whose postgres user had another uid, left here.
  if [ -n "$(as_root find "$dir" -mindepth 1 -maxdepth 1 ! -uid "$(in_root id -u postgres)")" ]; then
    in_root chown -R postgres:postgres "$dir"
  fi
  if [ ! -f "$data/PG_VERSION" ]; then
    as_postgres "$PG_BIN/initdb" -D "$data" -U postgres --auth=trust \
      --encoding=UTF8 --locale=C.UTF-8 >/dev/null \
      || fail "initdb of PostgreSQL $PG_MAJOR in $data failed"
  fi
  {
    echo "port = $port"
    echo "unix_socket_directories = '$dir'"
    echo "listen_addresses = ''"
    echo "shared_preload_libraries = 'pg_cron'"
    echo "cron.database_name = 'postgres'"
    # pg_cron runs its jobs over libpq; the cluster listens only on its socket.
    echo "cron.host = '$dir'"
    echo "max_connections = 100"
    printf '%s\n' "$@"
  } | as_postgres tee "$data/postgresql.auto.conf" >/dev/null
  as_postgres "$PG_BIN/pg_ctl" -D "$data" -l "$logfile" -w -t 60 start >/dev/null \
    || { tail -n 30 "$logfile" >&2; fail "PostgreSQL $PG_MAJOR did not start in $data; see $logfile"; }
}

# ensure_node: Node 20 or later for the TypeScript client. The host's when it has one;
# otherwise Debian trixie's (Node 20) in the trixie root, where node_run then runs npm.
NODE_MAJOR_REQUIRED=20
NODE_ROOT_MAJOR=
ensure_node() {
  if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 \
     && [ "$(node -p 'process.versions.node.split(".")[0]')" -ge $NODE_MAJOR_REQUIRED ]; then
    NODE_ROOT_MAJOR=
    return
  fi
  log "no Node $NODE_MAJOR_REQUIRED on the host: using Debian trixie's in its root"
  (use_major 17; APT_PACKAGES+=(nodejs npm); ensure_root) || fail "installing Node into the trixie root failed"
  NODE_ROOT_MAJOR=17
}

# node_run COMMAND...: COMMAND (npm, node) with the Node that ensure_node chose.
node_run() {
  if [ -z "$NODE_ROOT_MAJOR" ]; then "$@"; return $?; fi
  # The root's own PATH: a node earlier on the host's PATH (the one found too old) is
  # visible inside the root too, through the directories bound there. The host's CA
  # certificates go along: a registry proxy the host trusts must be trusted in the root.
  local cafile=/etc/ssl/certs/ca-certificates.crt trust=()
  if [ -f "$cafile" ]; then
    as_root install -d -m 755 "$RUN_DIR"
    as_root install -m 644 "$cafile" "$RUN_DIR/host-ca-certificates.crt"
    trust=(NODE_EXTRA_CA_CERTS="$RUN_DIR/host-ca-certificates.crt" npm_config_cafile="$RUN_DIR/host-ca-certificates.crt")
  fi
  (use_major "$NODE_ROOT_MAJOR"
   in_root env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "${trust[@]}" "$@")
}

# cluster_stop NAME: stops whichever major's server runs in NAME (a fast shutdown, by
# signal, so it needs no major's tools).
cluster_stop() {
  local pidfile pid
  for pidfile in "$RUN_DIR/$1"/*/postmaster.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(head -n 1 "$pidfile")
    [ -n "$pid" ] && as_root kill -0 "$pid" 2>/dev/null || continue
    as_root kill -INT "$pid"
    for _ in $(seq 600); do
      as_root kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  done
}

# cluster_psql NAME PORT [psql args...]: psql as the postgres superuser over the socket.
cluster_psql() {
  local name=$1 port=$2; shift 2
  psql -X -v ON_ERROR_STOP=1 -q -h "$RUN_DIR/$name" -p "$port" -U postgres "$@"
}

# Citus, for the scale-out tier and demo: built from its release source in the vendor
# directory (never committed here), once per machine and major, into that major's
# userland. Citus 13.2 supports 15 and 17, not 18.
CITUS_VERSION=13.2.2
CITUS_MAJORS=(15 17)
VENDOR_DIR=${CHRONICLE_VENDOR_DIR:-$REPO_ROOT/../shared/vendor}

citus_supports_major() { case " ${CITUS_MAJORS[*]} " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

ensure_citus() {
  citus_supports_major "$PG_MAJOR" \
    || fail "Citus $CITUS_VERSION does not support PostgreSQL $PG_MAJOR (it supports ${CITUS_MAJORS[*]})"
  local control stamp
  control=$(pg_tool pg_config --sharedir)/extension/citus.control
  stamp=$(pg_tool pg_config --pkglibdir)/citus.so
  if in_root test -f "$stamp" && in_root grep -qs "default_version = '${CITUS_VERSION%.*}" "$control"; then
    return 0
  fi
  local tarball=$VENDOR_DIR/citus-$CITUS_VERSION.tar.gz
  [ -f "$tarball" ] || fail "Citus's release source $tarball is missing (set CHRONICLE_VENDOR_DIR to the directory that has it)"
  local packages=(liblz4-dev libzstd-dev libkrb5-dev libicu-dev libssl-dev libxml2-dev libxslt1-dev libselinux1-dev libpam0g-dev libreadline-dev zlib1g-dev)
  ensure_major_packages "${packages[@]}"
  local src=$RUN_DIR/citus-build/pg$PG_MAJOR logfile=$LOG_DIR/citus-build-pg$PG_MAJOR.log
  log "building Citus $CITUS_VERSION for PostgreSQL $PG_MAJOR from $tarball (log: $logfile)"
  as_root rm -rf "$src"; as_root mkdir -p "$src"
  as_root tar -xzf "$tarball" -C "$src" --strip-components=1
  # Debian's 15.18 exports have_createdb_privilege(), of which Citus keeps a static copy
  # for 15: the patch uses the server's own (scripts/citus/ says why).
  if [ "$PG_MAJOR" = 15 ] && in_root grep -qs have_createdb_privilege \
       "$(pg_tool pg_config --includedir-server)/commands/dbcommands.h"; then
    as_root patch -d "$src" -p1 -s <"$REPO_ROOT/scripts/citus/pg15-have_createdb_privilege.patch" \
      || fail "applying scripts/citus/pg15-have_createdb_privilege.patch to Citus failed"
  fi
  (cd "$src" && in_root sh -c "./configure PG_CONFIG=$PG_CONFIG --without-libcurl && make -j$(nproc) && make install") \
    >"$logfile" 2>&1 || { tail -n 30 "$logfile" >&2; fail "building Citus for PostgreSQL $PG_MAJOR failed; see $logfile"; }
}

# citus_cluster_start NAME PORT: a Citus coordinator (cluster NAME on PORT, with NAME's
# socket, as cluster_start makes it) and two workers (NAME-worker1 and NAME-worker2 on
# PORT+1 and PORT+2). The nodes reach each other over TCP on 127.0.0.1; citus and pg_cron
# are preloaded in each. Databases are made with citus_create_database.
CITUS_WORKERS=2
citus_cluster_start() {
  local name=$1 port=$2 i
  cluster_start "$name" "$port" "listen_addresses = '127.0.0.1'" \
    "shared_preload_libraries = 'citus,pg_cron'" "max_prepared_transactions = 100" "${@:3}"
  for i in $(seq "$CITUS_WORKERS"); do
    cluster_start "$name-worker$i" $((port + i)) "listen_addresses = '127.0.0.1'" \
      "shared_preload_libraries = 'citus,pg_cron'" "max_prepared_transactions = 100" "${@:3}"
  done
}

citus_cluster_stop() {
  local name=$1 i
  cluster_stop "$name"
  for i in $(seq "$CITUS_WORKERS"); do cluster_stop "$name-worker$i"; done
}

# citus_create_database NAME PORT DB: DB (made again) on every node, with citus, and the
# workers registered with the coordinator.
citus_create_database() {
  local name=$1 port=$2 db=$3 i node
  for i in $(seq "$CITUS_WORKERS") 0; do
    node=$name; [ "$i" = 0 ] || node=$name-worker$i
    cluster_psql "$node" $((port + i)) -d postgres \
      -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
    [ "$i" = 0 ] || cluster_psql "$node" $((port + i)) -d "$db" -c "CREATE EXTENSION citus"
  done
  cluster_psql "$name" "$port" -d "$db" -c "CREATE EXTENSION citus" \
    -c "SELECT citus_set_coordinator_host('127.0.0.1', $port)" >/dev/null
  for i in $(seq "$CITUS_WORKERS"); do
    cluster_psql "$name" "$port" -d "$db" -c "SELECT citus_add_node('127.0.0.1', $((port + i)))" >/dev/null
  done
}

# The roles a Supabase-style database has; RLS tests log in as them.
create_supabase_roles() {
  local name=$1 port=$2
  cluster_psql "$name" "$port" -d postgres <<'SQL'
DO $$
DECLARE r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['anon', 'authenticated', 'service_role'] LOOP
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
      EXECUTE format('CREATE ROLE %I NOLOGIN', r);
    END IF;
  END LOOP;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'authenticator') THEN
    CREATE ROLE authenticator LOGIN NOINHERIT;
    GRANT anon, authenticated, service_role TO authenticator;
  END IF;
  ALTER ROLE service_role BYPASSRLS;
END $$;
SQL
}

# (The set-up logs are written by the calling user, root or not.)
[ -d "$LOG_DIR" ] || { as_root install -d -m 755 "$RUN_DIR" && as_root install -d -m 1777 "$LOG_DIR"; }
# Scripts that source this file work on the first selected major unless they choose.
read -r _first_major _ <<<"$(selected_majors "$DEFAULT_MAJOR")"
use_major "$_first_major"
