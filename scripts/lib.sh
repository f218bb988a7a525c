# Shared by scripts/demo.sh, scripts/test.sh and bench/run.sh (sourced, not run).
#
# Two jobs: install whatever a fresh Debian 12 machine is missing, and run scratch
# PostgreSQL 15 clusters. PostgreSQL refuses to run as root, and these machines run as
# root, so every server process runs as the `postgres` system user, with its data and
# socket in a directory that user owns, on a private port.

set -euo pipefail

PG_MAJOR=15
PG_BIN=/usr/lib/postgresql/$PG_MAJOR/bin
PG_CONFIG=$PG_BIN/pg_config
PGRX_VERSION=0.18.0
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Every cluster, log and scratch file lives below this directory.
RUN_DIR=${CHRONICLE_RUN_DIR:-/tmp/pg_chronicle}

# Debian packages the build, the tests and the benchmark anchors need.
APT_PACKAGES=(
  postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR postgresql-contrib
  postgresql-$PG_MAJOR-cron
  postgresql-$PG_MAJOR-tdigest postgresql-$PG_MAJOR-pgq3
  libclang-dev clang sudo procps
)

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}

ensure_apt_packages() {
  local missing=() pkg
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' \
      || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

ensure_cargo_pgrx() {
  if ! cargo pgrx --version 2>/dev/null | grep -q "$PGRX_VERSION"; then
    log "installing cargo-pgrx $PGRX_VERSION"
    cargo install cargo-pgrx --version "$PGRX_VERSION" --locked
  fi
  # Point pgrx at Debian's PostgreSQL: there is no internet to download one from.
  local config="${PGRX_HOME:-$HOME/.pgrx}/config.toml"
  if ! grep -qs "pg$PG_MAJOR = \"$PG_CONFIG\"" "$config"; then
    log "cargo pgrx init --pg$PG_MAJOR $PG_CONFIG"
    cargo pgrx init --pg$PG_MAJOR "$PG_CONFIG"
  fi
}

ensure_toolchain() {
  ensure_apt_packages
  ensure_cargo_pgrx
}

# Builds the extension and installs it into Debian's PostgreSQL directories.
# $1: "release" or "debug".
install_extension() {
  local flags=(--pg-config "$PG_CONFIG")
  [ "${1:-debug}" = release ] && flags+=(--release)
  [ "$(id -u)" = 0 ] || flags+=(--sudo)
  log "building and installing pg_chronicle (${1:-debug})"
  (cd "$REPO_ROOT" && cargo pgrx install "${flags[@]}" >/dev/null)
}

# A directory the postgres user owns, below RUN_DIR.
postgres_dir() {
  as_root install -d -m 755 "$RUN_DIR"
  as_root install -d -m 700 -o postgres -g postgres "$RUN_DIR/$1"
  echo "$RUN_DIR/$1"
}

# cluster_start NAME PORT [postgresql.conf lines...]
# Creates the cluster on first use; (re)starts it so a freshly installed .so is loaded.
# The socket lives in the cluster's directory; clients connect with cluster_psql.
cluster_start() {
  local name=$1 port=$2; shift 2
  local dir; dir=$(postgres_dir "$name")
  as_root chmod 755 "$dir"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_postgres "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth=trust \
      --encoding=UTF8 --locale=C.UTF-8 >/dev/null
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
  } | as_postgres tee "$dir/data/postgresql.auto.conf" >/dev/null
  cluster_stop "$name"
  as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null \
    || { tail -n 30 "$dir/server.log" >&2; return 1; }
}

cluster_stop() {
  local dir=$RUN_DIR/$1
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -w -t 60 -m fast stop >/dev/null 2>&1 || true
  fi
}

# cluster_psql NAME PORT [psql args...]: psql as the postgres superuser over the socket.
cluster_psql() {
  local name=$1 port=$2; shift 2
  psql -X -v ON_ERROR_STOP=1 -q -h "$RUN_DIR/$name" -p "$port" -U postgres "$@"
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
