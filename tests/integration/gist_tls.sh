#!/usr/bin/env bash
# chronicle-gist over TLS to PostgreSQL: a cluster of its own with ssl = on, listening on
# 127.0.0.1, whose certificate (for the name localhost only) a CA made here signed.
# chronicle-gist/tests/tls.rs checks sslmode verify-full (succeeds with the CA; fails
# without the file, with another CA, or for the host name 127.0.0.1), verify-ca,
# require (with and without a root certificate file), prefer and disable, reading
# pg_stat_ssl on each session; then the chronicle-gist binary itself fails with exit
# status 3 and a message naming the certificate problem.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
NAME=gist-tls
PORT=$((IT_PORT + 11))
WORK=$(mktemp -d)
cleanup() {
  cluster_stop $NAME
  rm -rf "$WORK"
}
trap cleanup EXIT

command -v openssl >/dev/null || ensure_host_packages openssl
command -v openssl >/dev/null || fail "openssl is needed to make the test's certificates"

log "a CA, a server certificate for localhost, and a CA that signed nothing"
openssl_quiet() { openssl "$@" 2>"$WORK/openssl.log" || { cat "$WORK/openssl.log" >&2; fail "openssl $1 failed"; }; }
openssl_quiet req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=chronicle test CA" \
  -keyout "$WORK/ca.key" -out "$WORK/ca.crt" -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign"
openssl_quiet req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=another CA" \
  -keyout "$WORK/other.key" -out "$WORK/other.crt" -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign"
openssl_quiet req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$WORK/server.key" -out "$WORK/server.csr"
printf '%s\n' "subjectAltName=DNS:localhost" "basicConstraints=CA:FALSE" \
  "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" >"$WORK/server.ext"
openssl_quiet x509 -req -in "$WORK/server.csr" -CA "$WORK/ca.crt" -CAkey "$WORK/ca.key" -CAcreateserial \
  -days 2 -extfile "$WORK/server.ext" -out "$WORK/server.crt"

log "a cluster with ssl = on on 127.0.0.1:$PORT"
cluster_start $NAME "$PORT" "fsync = off" >/dev/null
cluster_stop $NAME
DIR=$RUN_DIR/$NAME
as_root install -o "$(in_root id -u postgres)" -m 644 "$WORK/server.crt" "$DIR/server.crt"
as_root install -o "$(in_root id -u postgres)" -m 600 "$WORK/server.key" "$DIR/server.key"
cluster_start $NAME "$PORT" "fsync = off" "listen_addresses = '127.0.0.1'" "ssl = on" \
  "ssl_cert_file = '$DIR/server.crt'" "ssl_key_file = '$DIR/server.key'" >/dev/null
[ "$(cluster_psql $NAME "$PORT" -d postgres -At -c 'SHOW ssl')" = on ] || fail "ssl is not on"
DB=chronicle_it_tls
cluster_psql $NAME "$PORT" -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null
cluster_psql $NAME "$PORT" -d $DB -c "CREATE EXTENSION pg_chronicle" >/dev/null

log "chronicle-gist's TLS tests (chronicle-gist/tests/tls.rs)"
# HOME without a ~/.postgresql/root.crt, so that only what a test names is trusted;
# cargo and rustup keep finding their own homes.
mkdir -p "$WORK/home"
export RUSTUP_HOME=${RUSTUP_HOME:-$HOME/.rustup} CARGO_HOME=${CARGO_HOME:-$HOME/.cargo}
out=$(cd "$REPO_ROOT" && HOME=$WORK/home CHRONICLE_TLS_PORT=$PORT CHRONICLE_TLS_CA=$WORK/ca.crt \
        CHRONICLE_TLS_OTHER_CA=$WORK/other.crt cargo test -q -p chronicle-gist --test tls 2>&1) \
  || { echo "$out" >&2; fail "chronicle-gist/tests/tls.rs failed"; }
echo "$out" | grep -E '^test result' >&2
grep -q '2 passed' <<<"$out" || { echo "$out" >&2; fail "the TLS tests did not run"; }

log "the binary: exit 3 and a clear message for a host name the certificate does not name"
(cd "$REPO_ROOT" && cargo build -q -p chronicle-gist --bin chronicle-gist)
TARGET_DIR=${CARGO_TARGET_DIR:-$REPO_ROOT/target}
case $TARGET_DIR in /*) ;; *) TARGET_DIR=$REPO_ROOT/$TARGET_DIR ;; esac
BIN=$TARGET_DIR/debug/chronicle-gist
status=0
HOME=$WORK/home "$BIN" --database-url "host=127.0.0.1 port=$PORT user=postgres dbname=$DB sslmode=verify-full sslrootcert=$WORK/ca.crt" \
  verify 2>"$WORK/verify.log" >/dev/null || status=$?
[ "$status" = 3 ] || fail "expected exit status 3, got $status: $(cat "$WORK/verify.log")"
grep -q 'cannot use the database: database connection failed: .*certificate.*name the host connected to' "$WORK/verify.log" \
  || fail "unclear message: $(cat "$WORK/verify.log")"
HOME=$WORK/home "$BIN" --database-url "postgres://postgres@localhost:$PORT/$DB?sslmode=verify-full&sslrootcert=$WORK/ca.crt" \
  verify >/dev/null 2>"$WORK/verify.log" || fail "verify-full with the CA: $(cat "$WORK/verify.log")"
grep -q 'nothing to verify' "$WORK/verify.log" || fail "verify did not reach the database: $(cat "$WORK/verify.log")"
echo "ok: sslmode=verify-full: connects with the CA; refuses a wrong host name, a missing or wrong CA" >&2
