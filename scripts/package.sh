#!/usr/bin/env bash
# Builds a Debian package of pg_chronicle for each selected PostgreSQL major, for servers
# that run Debian's (or apt.postgresql.org's) PostgreSQL:
#   target/packages/postgresql-NN-chronicle_<version>_<arch>.deb
# Install one with `apt-get install ./postgresql-17-chronicle_0.6.0_amd64.deb`, then
# CREATE EXTENSION pg_chronicle in a UTF8 database. The package holds what `cargo pgrx
# package` stages (the release's own library pg_chronicle-<version>.so, the control file,
# the install script and every upgrade script) and depends on the server major it was
# built against. pg_cron is recommended: chronicle.schedule_refresh() needs it, nothing
# else does.
#
# Each major is built where its server's headers are: 15 on this Debian 12 host, 17 and 18
# in their Debian roots (scripts/lib.sh), so the library links against the C library of the
# Debian release it is for.
#
# Usage: scripts/package.sh
# Environment: CHRONICLE_PG="15 17 18"            the majors (default: every supported one)
#              CHRONICLE_PACKAGE_PROFILE=release  or debug (the test tier's quicker build)
#              CHRONICLE_PACKAGE_MAINTAINER="Name <address>"  the control file's Maintainer
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

PROFILE=${CHRONICLE_PACKAGE_PROFILE:-release}
case $PROFILE in
  release|debug) ;;
  *) fail "CHRONICLE_PACKAGE_PROFILE is release or debug, not '$PROFILE'" ;;
esac
PACKAGES_DIR=$REPO_ROOT/target/packages

# package_path MAJOR: where the package of that major is written.
package_path() {
  echo "$PACKAGES_DIR/postgresql-$1-chronicle_$(extension_version)_$(dpkg --print-architecture).deb"
}

# The lowest C library version the library's symbols need (GLIBC_2.xx), for Depends.
glibc_needed() {
  objdump -T "$1" | grep -oE 'GLIBC_[0-9]+\.[0-9]+' | sed 's/GLIBC_//' | sort -t. -k1,1n -k2,2n | tail -n 1
}

build_package() {
  local version stage out logfile flags=() library
  version=$(extension_version)
  stage=$TARGET_DIR/package-stage-pg$PG_MAJOR
  out=$(package_path "$PG_MAJOR")
  logfile=$LOG_DIR/package-pg$PG_MAJOR.log
  [ "$PROFILE" = debug ] && flags+=(--debug)
  log "building postgresql-$PG_MAJOR-chronicle $version ($PROFILE; log: $logfile)"
  mkdir -p "$LOG_DIR" "$PACKAGES_DIR"
  rm -rf "$stage"
  cargo_for_major pgrx package --pg-config "$PG_CONFIG" --out-dir "$stage" "${flags[@]}" >"$logfile" 2>&1 \
    || { tail -n 20 "$logfile" >&2; fail "cargo pgrx package for PostgreSQL $PG_MAJOR failed; see $logfile"; }
  library=$stage/usr/lib/postgresql/$PG_MAJOR/lib/pg_chronicle-$version.so
  [ -f "$library" ] || fail "cargo pgrx package staged no $library"
  [ -f "$stage/usr/share/postgresql/$PG_MAJOR/extension/pg_chronicle--$version.sql" ] \
    || fail "cargo pgrx package staged no install script for $version"

  # As Debian's packages are: no debugging information (the exported symbols stay).
  strip --strip-debug "$library"
  install -d "$stage/DEBIAN" "$stage/usr/share/doc/postgresql-$PG_MAJOR-chronicle"
  install -m 644 "$REPO_ROOT/README.md" "$stage/usr/share/doc/postgresql-$PG_MAJOR-chronicle/"
  cat >"$stage/DEBIAN/control" <<EOF
Package: postgresql-$PG_MAJOR-chronicle
Version: $version
Architecture: $(dpkg --print-architecture)
Maintainer: ${CHRONICLE_PACKAGE_MAINTAINER:-pg_chronicle developers <maintainers@pg-chronicle.invalid>}
Section: database
Priority: optional
Depends: postgresql-$PG_MAJOR, libc6 (>= $(glibc_needed "$library")), libgcc-s1
Recommends: postgresql-$PG_MAJOR-cron
Installed-Size: $(du -sk --exclude=DEBIAN "$stage" | cut -f1)
Description: versioned JSONB state, command metrics and Gist sync for PostgreSQL $PG_MAJOR
 pg_chronicle is a PostgreSQL extension: trigger-enforced JSONB state versioning,
 command-execution tracking with hourly and daily metrics on a mergeable percentile
 sketch, and a queue that keeps GitHub Gists in sync. This package is built for
 PostgreSQL $PG_MAJOR; run CREATE EXTENSION pg_chronicle in a UTF8 database.
EOF
  # Files belong to root whoever builds; dpkg-deb checks the control file.
  dpkg-deb --root-owner-group --build "$stage" "$out" >>"$logfile" 2>&1 \
    || { tail -n 20 "$logfile" >&2; fail "dpkg-deb for PostgreSQL $PG_MAJOR failed; see $logfile"; }
  log "wrote $out"
}

# Only when run, not when test.sh sources it for package_path.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  read -r -a majors <<<"$(selected_majors "${SUPPORTED_MAJORS[*]}")"
  ensure_toolchain
  for major in "${majors[@]}"; do
    use_major "$major"
    ensure_major
    build_package
  done
fi
