#!/usr/bin/env bash
# Gist sync end to end, with the real chronicle-gist binary against a fake Gist API on
# loopback (crates/gist-testkit/src/bin/fake_github.rs): state writes -> export queue -> Gist
# revisions -> import into a second database -> verify.
#
#   0. chronicle-gist's PostgreSQL tests (chronicle-gist/tests/pg.rs) on a database of
#      their own: the claim/ack/fail/release contract, NOTIFY, import_state_version.
#   1. An exporter is killed with SIGKILL while a PATCH is in flight, mid-batch.
#   2. A restarted exporter picks up the expired leases (by polling: nothing notifies
#      a lease expiry), survives losing its database session, and delivers everything.
#   3. An exporter waiting on LISTEN chronicle_export (60 s polling) wakes on a write;
#      SIGTERM while a PATCH is in flight: the request finishes and is acked, the other
#      claimed rows are released without counting an attempt, exit status 0.
#   4. verify exits 0; a file changed behind the exporter's back makes it exit 1.
#   5. The gists are imported into a second database: the latest-mode type ends with
#      every entity's current state, the every_version type with every version, in
#      order, each its own Gist revision; verify on the copy exits 0.
# At the end export_stats() shows nothing pending, in flight or dead.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
SRC=chronicle_it_gist_src
COPY=chronicle_it_gist_copy
RUST_DB=chronicle_it_gist_rust
DOC_GIST=e2edoc0001
EVENT_GIST=e2eevent0001
WORK=$(mktemp -d)
BACKGROUND=()
cleanup() {
  local pid
  for pid in "${BACKGROUND[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  [ -n "${KEEP_WORK:-}" ] && echo "kept $WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  local f
  for f in "$WORK"/*.log; do
    [ -e "$f" ] || continue
    echo "--- last lines of $(basename "$f")" >&2
    tail -n 15 "$f" >&2
  done
  exit 1
}
ok() { echo "ok: $*" >&2; }

# wait_until SECONDS WHAT COMMAND...: polls COMMAND every 0.1 s until it succeeds.
wait_until() {
  local seconds=$1 what=$2; shift 2
  local deadline=$(( $(date +%s) + seconds ))
  until "$@"; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "timed out after ${seconds}s waiting for $what"
    sleep 0.1
  done
}

url() { echo "host=$IT_HOST port=$IT_PORT user=postgres dbname=$1"; }

log "building chronicle-gist and the fake Gist API"
(cd "$REPO_ROOT" && cargo build -q -p chronicle-gist -p chronicle-gist-testkit --bins)
TARGET_DIR=${CARGO_TARGET_DIR:-$REPO_ROOT/target}
case $TARGET_DIR in /*) ;; *) TARGET_DIR=$REPO_ROOT/$TARGET_DIR ;; esac
BIN=$TARGET_DIR/debug/chronicle-gist
FAKE=$TARGET_DIR/debug/fake_github

log "chronicle-gist's PostgreSQL tests"
fresh_database $RUST_DB
(cd "$REPO_ROOT" && CHRONICLE_E2E_DATABASE_URL=$(url $RUST_DB) \
   cargo test -q -p chronicle-gist --test pg -- --nocapture 2>&1) | grep -E '^test result|FAILED|panicked|budget: ' >&2
ok "chronicle-gist tests/pg.rs against PostgreSQL"

# The fake: PATCH #4 takes 2.5 s (the exporter is killed while it waits for it).
"$FAKE" --gist $DOC_GIST --gist $EVENT_GIST --slow-patch 4:2500 --usr1-delay-ms 2000 \
  >"$WORK/fake.out" 2>"$WORK/fake.log" &
FAKE_PID=$!
BACKGROUND+=("$FAKE_PID")
wait_until 10 "the fake Gist API" test -s "$WORK/fake.out"
export GITHUB_API_URL GITHUB_TOKEN=fake-github-token
# The fake has no secondary limit here: the write budget (tested in chronicle-gist's
# tests) must not pace these phases. Set through the environment, as an operator may.
export CHRONICLE_GIST_MAX_WRITES_PER_MINUTE=1000000 CHRONICLE_GIST_MAX_WRITES_PER_HOUR=100000000
# verify and import keep ETags under $XDG_CACHE_HOME: this run's own.
export XDG_CACHE_HOME=$WORK/xdg-cache
GITHUB_API_URL=$(head -n 1 "$WORK/fake.out")
patches_arrived() { grep -c 'PATCH #' "$WORK/fake.log" || true; }
patches_more_than() { [ "$(patches_arrived)" -gt "$1" ]; }

gist() { local db=$1; shift; "$BIN" --database-url "$(url "$db")" "$@"; }

# exporter NAME DB ARGS...: starts `chronicle-gist export` in the background (the
# binary itself, so that signals reach it); its pid goes into the variable NAME, its
# stderr into $WORK/NAME.log.
exporter() {
  local name=$1 db=$2; shift 2
  "$BIN" --database-url "$(url "$db")" export --lease 3 --min-request-interval 0 "$@" \
    2>"$WORK/$name.log" &
  BACKGROUND+=("$!")
  printf -v "$name" %s "$!"
}

# done_more_than N [WHERE...]: more than N exports are delivered.
done_more_than() {
  [ "$(sql $SRC "SELECT count(*) FROM chronicle.gist_export_deliveries WHERE true ${2:-}")" -gt "$1" ]
}
stats() { sql $SRC "SELECT pending || ' pending, ' || in_flight || ' in flight, ' || dead || ' dead' FROM chronicle.export_stats()"; }
drained() { [ "$(stats)" = "0 pending, 0 in flight, 0 dead" ]; }

# write_round DB ROUND [DELETE_ID]: 8 every_version events (each a new version) and 40
# latest-mode documents, one transaction per write as applications do (or all in one
# transaction with ONE_TRANSACTION=1).
write_round() {
  local db=$1 round=$2 i
  {
    [ -z "${ONE_TRANSACTION:-}" ] || echo "BEGIN;"
    for i in $(seq 1 8); do
      echo "SELECT chronicle.put_state('event', 'e$i', jsonb_build_object('round', $round, 'seq', $i, 'at', '2024-01-0${i}T00:00:00Z'));"
    done
    for i in $(seq 1 40); do
      echo "SELECT chronicle.put_state('doc', 'd$i', jsonb_build_object('round', $round, 'id', $i, 'price', 1.50, 'big', 1e25, 'tags', jsonb_build_array('x', $round), 'note', 'é \"quoted\" ☃'));"
    done
    [ -z "${3:-}" ] || echo "SELECT chronicle.delete_state('doc', '$3');"
    [ -z "${ONE_TRANSACTION:-}" ] || echo "COMMIT;"
  } >"$WORK/round.sql"
  cluster_psql "$IT_CLUSTER" "$IT_PORT" -d "$db" -f "$WORK/round.sql" >/dev/null
}

log "phase 1: writes, then an exporter killed mid-batch"
fresh_database $SRC
sql $SRC "SELECT chronicle.set_gist_target('doc', '$DOC_GIST')" >/dev/null
sql $SRC "SELECT chronicle.set_gist_target('event', '$EVENT_GIST', 'ev-{entity_id}.json', 'every_version')" >/dev/null
write_round $SRC 1
write_round $SRC 2
# Events first: 16 rows, but only the oldest of each file is claimable, so the first
# batch is 8 events and 2 documents: 8 single-version PATCHes, then one of 2 files.
[ "$(stats)" = "56 pending, 0 in flight, 0 dead" ] || fail "queued after two rounds: $(stats)"
ok "two rounds of writes queued: 16 event versions, 40 latest documents (coalesced)"

exporter E1 $SRC --batch-size 10 --poll-interval 1
wait_until 20 "PATCH #4 to arrive" patches_more_than 3
kill -KILL "$E1"
wait "$E1" 2>/dev/null || true
in_flight=$(sql $SRC "SELECT in_flight FROM chronicle.export_stats()")
acked=$(sql $SRC "SELECT count(*) FROM chronicle.gist_export_deliveries")
[ "$acked" = 3 ] && [ "$in_flight" = 7 ] \
  || fail "expected 3 acked and 7 in flight at the kill, got $acked and $in_flight"
ok "exporter killed by SIGKILL during PATCH #4: 3 rows acked, 7 left under lease"

log "phase 2: more writes; a restarted exporter recovers the leases"
write_round $SRC 3 d40
exporter E2 $SRC --batch-size 10 --poll-interval 1
# Its session is cut once it has started working: it must reconnect and carry on.
wait_until 20 "the restarted exporter to ack something" done_more_than 3
sql $SRC "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'chronicle-gist'" >/dev/null
wait_until 60 "the queue to drain" drained
grep -q 'reconnected to the database' "$WORK/E2.log" || fail "E2 did not reconnect: $(cat "$WORK/E2.log")"
redelivered=$(sql $SRC "SELECT count(*) FROM chronicle.gist_export_deliveries WHERE attempt > 1")
[ "$redelivered" -ge 7 ] || fail "expected the 7 rows leased at the kill to be sent again, got $redelivered"
kill -TERM "$E2"
wait "$E2" || fail "E2 exited with $? after SIGTERM: $(tail -n 5 "$WORK/E2.log")"
ok "restarted exporter: expired leases re-sent ($redelivered rows), reconnected after its session was terminated, drained, exit 0 on SIGTERM"

log "phase 3: LISTEN wakes an exporter; SIGTERM during a request"
exporter E3 $SRC --batch-size 20 --poll-interval 60
sleep 0.5 # let it claim nothing and start waiting
started=$(date +%s%N)
sql $SRC "SELECT chronicle.put_state('doc', 'listen', '{\"woken\": true}')" >/dev/null
wait_until 10 "the notified exporter to deliver" done_more_than 0 "AND entity_id = 'listen'"
ok "LISTEN chronicle_export: delivered $(( ($(date +%s%N) - started) / 1000000 )) ms after the write (polling would take 60 s)"

before=$(patches_arrived)
kill -USR1 "$FAKE_PID"
wait_until 5 "the fake to arm the delay" grep -q 'fake-github: armed' "$WORK/fake.log"
# One transaction, so that the exporter's claim is a whole batch of 20 rows.
ONE_TRANSACTION=1 write_round $SRC 4
wait_until 10 "the slow PATCH to arrive" patches_more_than "$before"
kill -TERM "$E3"
wait "$E3" || fail "E3 exited with $? after SIGTERM: $(tail -n 5 "$WORK/E3.log")"
grep -q 'the exporter is stopping' "$WORK/E3.log" || fail "E3 released nothing: $(cat "$WORK/E3.log")"
released=$(sed -n 's/.*acked, [0-9]* failed, \([0-9]*\) released.*/\1/p' "$WORK/E3.log")
in_flight=$(sql $SRC "SELECT in_flight FROM chronicle.export_stats()")
counted=$(sql $SRC "SELECT count(*) FROM chronicle.gist_export_queue WHERE status = 'pending' AND attempt > 0")
[ "$in_flight" = 0 ] && [ "${released:-0}" -gt 0 ] && [ "$counted" = 0 ] \
  || fail "after SIGTERM: $in_flight in flight, ${released:-0} released, $counted pending rows with a counted attempt"
ok "SIGTERM during a PATCH: it finished, $released claimed rows released uncounted, nothing left in flight, exit 0"

log "phase 4: drain and verify"
gist $SRC --log-format json export --exit-when-idle --min-request-interval 0 2>"$WORK/drain.log" \
  || fail "draining: $(cat "$WORK/drain.log")"
drained || fail "after the drain: $(stats)"
# JSON logs: one object per line, one line per request with its gist, files, status
# and the rate-limit budget GitHub says is left.
grep -qv '^{' "$WORK/drain.log" && fail "a log line that is not JSON: $(grep -v '^{' "$WORK/drain.log" | head -3)"
grep -m1 '"method":"PATCH"' "$WORK/drain.log" | grep -E '"gist":"[0-9a-z]+".*"files":"[^"]+".*"status":200.*"rate_limit_remaining":"[0-9]+"' >/dev/null \
  || fail "no request line with gist, files, status and remaining budget: $(head -3 "$WORK/drain.log")"
ok "JSON logs: every line an object; each PATCH logged with gist, files, status and remaining budget"
gist $SRC verify >"$WORK/verify.txt" || fail "verify exited $?: $(cat "$WORK/verify.txt")"
matches=$(grep -c '^match' "$WORK/verify.txt")
[ "$matches" = 49 ] || fail "expected 49 matching entities, got $matches: $(cat "$WORK/verify.txt")"
ok "verify: all $matches entities match their gist files (exit 0)"
# verify keeps the gists' ETags (per token, under --cache-dir): a second run over the
# unchanged gists is answered 304.
gist $SRC verify --cache-dir "$WORK/cache" >/dev/null 2>&1 || fail "verify with a cache"
gist $SRC verify --cache-dir "$WORK/cache" >"$WORK/verify.txt" 2>"$WORK/verify.log" || fail "verify from the cache exited $?"
[ "$(grep -c '^match' "$WORK/verify.txt")" = 49 ] || fail "verify from the cache: $(cat "$WORK/verify.txt")"
grep -q 'GET /gists/[0-9a-z]* 304' "$WORK/verify.log" || fail "no 304 on the second verify: $(cat "$WORK/verify.log")"
grep -q 'GET /gists/[0-9a-z]* 200' "$WORK/verify.log" && fail "a full answer on the second verify: $(cat "$WORK/verify.log")"
ok "verify again over unchanged gists: If-None-Match, every gist answered 304"

# Change a file behind the exporter's back, then put it back.
patch_gist() {
  curl -sS -o /dev/null -w '%{http_code}' -X PATCH -H "Authorization: Bearer $GITHUB_TOKEN" \
    -H 'Content-Type: application/json' --data-binary @- "$GITHUB_API_URL/gists/$DOC_GIST"
}
[ "$(echo '{"files": {"doc.d7.json": {"content": "{\"tampered\": true}"}}}' | patch_gist)" = 200 ] \
  || fail "could not tamper with the gist"
status=0
gist $SRC verify >"$WORK/verify.txt" || status=$?
[ "$status" = 1 ] || fail "verify exited $status on a tampered file: $(cat "$WORK/verify.txt")"
grep -qE '^MISMATCH +doc/d7 ' "$WORK/verify.txt" || fail "no MISMATCH row: $(cat "$WORK/verify.txt")"
[ "$(grep -c '^match' "$WORK/verify.txt")" = 48 ] || fail "$(cat "$WORK/verify.txt")"
ok "verify: a file changed in the gist is reported as MISMATCH (exit 1)"
restore=$(sql $SRC "SELECT json_build_object('files', json_build_object('doc.d7.json', json_build_object('content', payload)))
                      FROM chronicle.gist_export_deliveries WHERE file_name = 'doc.d7.json' ORDER BY id DESC LIMIT 1")
[ "$(echo "$restore" | patch_gist)" = 200 ] || fail "could not restore the file"
gist $SRC verify >/dev/null || fail "verify exited $? after the file was restored"
ok "verify: exit 0 again once the file is restored"

log "phase 5: import both gists into a second database"
fresh_database $COPY
sql $COPY "SELECT chronicle.set_gist_target('doc', '$DOC_GIST')" >/dev/null
sql $COPY "SELECT chronicle.set_gist_target('event', '$EVENT_GIST', 'ev-{entity_id}.json', 'every_version')" >/dev/null
for pair in doc:$DOC_GIST event:$EVENT_GIST; do
  gist $COPY import --gist "${pair#*:}" --entity-type "${pair%%:*}" --no-progress 2>"$WORK/import.log" \
    || fail "import: $(cat "$WORK/import.log")"
  # Only README.md is skipped.
  grep -q ', 1 skipped,' "$WORK/import.log" || fail "import skipped files: $(cat "$WORK/import.log")"
done
gist $COPY import --gist $EVENT_GIST --entity-type event --no-progress 2>"$WORK/import.log"
grep -q ': 0 imported, ' "$WORK/import.log" || fail "a second import imported again: $(cat "$WORK/import.log")"
ok "import of both gists; importing again imports nothing"

# A schema the documents do not meet: each revision of each file is skipped, with the reason.
REFUSING=chronicle_it_gist_refusing
fresh_database $REFUSING
sql $REFUSING "SELECT chronicle.set_state_schema('doc', '{\"required\": [\"no_document_has_this\"]}')" >/dev/null
gist $REFUSING import --gist $DOC_GIST --entity-type doc --no-progress 2>"$WORK/import.log" \
  || fail "import under a schema: $(cat "$WORK/import.log")"
grep -q ': 0 imported, ' "$WORK/import.log" || fail "import under a refusing schema imported: $(cat "$WORK/import.log")"
grep -q 'refused by the state schema: doc/.*"no_document_has_this" is a required property' "$WORK/import.log" \
  || fail "no schema refusal reported: $(cat "$WORK/import.log")"
[ "$(sql $REFUSING "SELECT count(*) FROM chronicle.state_versions")" = 0 ] || fail "refused versions were written"
ok "import under a state schema the documents fail: every version skipped with the schema's reason, none written"

# latest mode: every entity's current state; every_version: every version, in order.
current="SELECT string_agg(entity_id || '=' || checksum, ',' ORDER BY entity_id) FROM chronicle.current_state WHERE entity_type = 'doc'"
[ "$(sql $SRC "$current")" = "$(sql $COPY "$current")" ] || fail "the copy's documents differ from the source's"
history="SELECT string_agg(entity_id || '@' || version || '=' || checksum, ',' ORDER BY entity_id, version) FROM chronicle.state_versions WHERE entity_type = 'event'"
[ "$(sql $SRC "$history")" = "$(sql $COPY "$history")" ] || fail "the copy's event histories differ from the source's"
versions=$(sql $SRC "SELECT count(*) FROM chronicle.state_versions WHERE entity_type = 'event'")
[ "$versions" = 32 ] || fail "expected 32 event versions, got $versions"
ok "copy: all 41 documents' current states and all $versions event versions, in order, equal the source's"
gist $COPY verify >"$WORK/verify.txt" || fail "verify of the copy exited $?: $(cat "$WORK/verify.txt")"
[ "$(sql $COPY "SELECT pending + in_flight + dead FROM chronicle.export_stats()")" = 0 ] \
  || fail "imported versions were queued for export"
ok "verify of the copy: exit 0; imported versions are not exported back"

kill -TERM "$FAKE_PID"
wait "$FAKE_PID" || true
revisions=$(awk -v g=$EVENT_GIST '$1 == "gist" && $2 == g {print $8}' "$WORK/fake.out")
# The first revision is the gist's creation.
[ "$revisions" = $(( versions + 1 )) ] || fail "event gist has $revisions revisions for $versions versions"
ok "every_version: each of the $versions event versions is its own Gist revision, none twice"
drained || fail "at the end: $(stats)"
ok "export_stats: $(stats)"
