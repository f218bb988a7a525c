#!/usr/bin/env bash
# Concurrent writers on a few hot entities, through every write path at once: put_state,
# direct INSERT, patch_state, compare-and-set, revert and delete, some of them two to a
# transaction. Afterwards every invariant must hold and no patch may have been lost.
# (The soak; two patches, and two compare-and-sets, on one entity step by step are
# tests/isolation/specs/patch_state_concurrent.spec and cas_concurrent.spec.)
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
DB=chronicle_it_state
SCRIPTS=$(mktemp -d)
trap 'rm -rf "$SCRIPTS"' EXIT

fresh_database $DB
sql $DB "CREATE SEQUENCE patch_seq; CREATE TABLE patches_committed (entity_id text, key text); CREATE TABLE cas_committed (at timestamptz DEFAULT clock_timestamp())"

cat >"$SCRIPTS/put.sql" <<'SQL'
\set e random(1, 10)
SELECT chronicle.put_state('hot', :e::text, jsonb_build_object('writer', :client_id, 'r', random()));
SQL
cat >"$SCRIPTS/insert.sql" <<'SQL'
\set e random(1, 10)
INSERT INTO chronicle.state_store (entity_type, entity_id, state)
VALUES ('hot', :e::text, jsonb_build_object('direct', :client_id, 'r', random()));
SQL
cat >"$SCRIPTS/two_in_one.sql" <<'SQL'
\set e random(1, 10)
BEGIN;
SELECT chronicle.put_state('hot', :e::text, jsonb_build_object('first', random()));
SELECT pg_sleep(0.001);
SELECT chronicle.put_state('hot', :e::text, jsonb_build_object('second', random()));
COMMIT;
SQL
cat >"$SCRIPTS/revert.sql" <<'SQL'
\set e random(1, 10)
SELECT chronicle.revert_state('hot', :e::text, 1)
 WHERE chronicle.state_version('hot', :e::text) IS NOT NULL;
SQL
# Each patch adds a key no one else writes and records it in the same transaction, so
# a lost update shows up as a recorded key missing from the final state.
cat >"$SCRIPTS/patch.sql" <<'SQL'
\set e random(1, 10)
BEGIN;
SELECT nextval('patch_seq') AS n \gset
SELECT chronicle.patch_state('patched', :e::text, jsonb_build_object('k' || :n, :client_id));
INSERT INTO patches_committed VALUES (:e::text, 'k' || :n);
COMMIT;
SQL
# A counter incremented by compare-and-set with retry: every committed increment must
# count, so the final value equals the number of increments recorded.
cat >"$SCRIPTS/cas.sql" <<'SQL'
DO $$
DECLARE
  current record;
BEGIN
  LOOP
    SELECT version, (state ->> 'n')::int AS n INTO current
      FROM chronicle.current_state WHERE entity_type = 'cas' AND entity_id = 'counter';
    BEGIN
      PERFORM chronicle.put_state('cas', 'counter', jsonb_build_object('n', coalesce(current.n, 0) + 1),
                                  expected_version => coalesce(current.version, 0));
      INSERT INTO cas_committed DEFAULT VALUES;
      RETURN;
    EXCEPTION WHEN object_not_in_prerequisite_state THEN
      -- somebody else won; read again and retry
    END;
  END LOOP;
END $$;
SQL
cat >"$SCRIPTS/delete.sql" <<'SQL'
\set e random(1, 10)
SELECT chronicle.delete_state('hot', :e::text);
SQL

log "8 clients, no deletes: versions must be contiguous"
bench $DB 8 8 -f "$SCRIPTS/put.sql" -f "$SCRIPTS/insert.sql" -f "$SCRIPTS/two_in_one.sql" \
  -f "$SCRIPTS/patch.sql" -f "$SCRIPTS/revert.sql" -f "$SCRIPTS/cas.sql"
check_invariants $DB
expect_zero $DB "closed versions end exactly where the next begins (no deletes yet)" \
  "SELECT count(*) FROM (SELECT valid_to, lead(valid_from) OVER (PARTITION BY entity_type, entity_id ORDER BY version) AS nf FROM chronicle.state_store) s WHERE nf IS NOT NULL AND valid_to <> nf"
expect_zero $DB "every live entity has exactly one current version" \
  "SELECT count(*) FROM chronicle.state_entities e WHERE (SELECT count(*) FROM chronicle.state_store s WHERE s.entity_type = e.entity_type AND s.entity_id = e.entity_id AND s.valid_to IS NULL) <> (e.current_checksum IS NOT NULL)::int"

log "8 clients with deletes"
bench $DB 6 8 -f "$SCRIPTS/put.sql" -f "$SCRIPTS/insert.sql" -f "$SCRIPTS/patch.sql" \
  -f "$SCRIPTS/delete.sql@1" -f "$SCRIPTS/revert.sql"
check_invariants $DB

# IS NOT TRUE: when the whole entity is lost, get_state is NULL and so is "? key".
expect_zero $DB "no patch lost: every committed patch's key is in the final state" \
  "SELECT count(*) FROM patches_committed p WHERE (chronicle.get_state('patched', p.entity_id) ? p.key) IS NOT TRUE"
patches=$(sql $DB "SELECT count(*) FROM patches_committed")
echo "ok: $patches concurrent patches, none lost" >&2
expect_zero $DB "compare-and-set counter equals the number of committed increments" \
  "SELECT abs((chronicle.get_state('cas', 'counter') ->> 'n')::int - (SELECT count(*) FROM cas_committed))"
[ "$patches" -gt 100 ] || { echo "FAIL: too few patches ran ($patches) to show anything" >&2; exit 1; }
