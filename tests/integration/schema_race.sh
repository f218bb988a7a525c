#!/usr/bin/env bash
# A schema changing while writers write: one client keeps switching the entity type's
# schema between "n is even" and "n is odd" while others write random n at READ COMMITTED
# and REPEATABLE READ. Each write must be checked against the schema in force when it
# takes its lock, so afterwards:
#   - every stored version validates against the schema version it records;
#   - that schema version is exactly the newest one set before the version's valid_from
#     (a schema change and a write hold conflicting locks, so one happens wholly first);
#   - writes were refused under both schemas (the race really ran), and none was lost:
#     every accepted write is a version.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
DB=chronicle_it_schema_race
SCRIPTS=$(mktemp -d)
trap 'rm -rf "$SCRIPTS"' EXIT

fresh_database $DB
sql $DB "
CREATE TABLE outcomes (accepted boolean NOT NULL, n int NOT NULL);
CREATE FUNCTION try_put(entity_id text, n int) RETURNS void LANGUAGE plpgsql AS \$\$
BEGIN
  PERFORM chronicle.put_state('race', entity_id, jsonb_build_object('n', n, 'r', random()));
  INSERT INTO outcomes VALUES (true, n);
EXCEPTION WHEN check_violation THEN
  INSERT INTO outcomes VALUES (false, n);
END \$\$;
SELECT chronicle.set_state_schema('race', '{\"required\": [\"n\"], \"properties\": {\"n\": {\"multipleOf\": 2}}}');" >/dev/null

cat >"$SCRIPTS/switch.sql" <<'SQL'
SELECT chronicle.set_state_schema('race',
  CASE WHEN (SELECT schema_version % 2 FROM chronicle.current_state_schemas WHERE entity_type = 'race') = 1
       THEN '{"required": ["n"], "properties": {"n": {"not": {"multipleOf": 2}}}}'::jsonb
       ELSE '{"required": ["n"], "properties": {"n": {"multipleOf": 2}}}'::jsonb END);
SELECT pg_sleep(0.005);
SQL
cat >"$SCRIPTS/write.sql" <<'SQL'
\set e random(1, 20)
\set n random(1, 1000)
SELECT try_put(:e::text, :n);
SQL
cat >"$SCRIPTS/write_rr.sql" <<'SQL'
\set e random(1, 20)
\set n random(1, 1000)
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT count(*) FROM chronicle.current_state WHERE entity_type = 'race';
SELECT try_put(:e::text, :n);
COMMIT;
SQL

bench $DB 15 6 --max-tries=100 -f "$SCRIPTS/switch.sql@1" -f "$SCRIPTS/write.sql@10" -f "$SCRIPTS/write_rr.sql@10"

expect_zero $DB "every version validates against the schema version it records" "
  SELECT count(*) FROM chronicle.state_versions v
    JOIN chronicle.state_schemas s USING (entity_type, schema_version)
   WHERE v.entity_type = 'race' AND chronicle.json_schema_violations(s.schema, v.state) <> '[]'"
expect_zero $DB "every version records the schema in force when it was written" "
  SELECT count(*) FROM chronicle.state_versions v
   WHERE v.entity_type = 'race'
     AND v.schema_version IS DISTINCT FROM (SELECT max(s.schema_version) FROM chronicle.state_schemas s
                                             WHERE s.entity_type = 'race' AND s.set_at < v.valid_from)"
expect_zero $DB "every accepted write is a version" "
  SELECT abs((SELECT count(*) FROM outcomes WHERE accepted)
             - (SELECT count(*) FROM chronicle.state_versions WHERE entity_type = 'race'))"
expect_zero $DB "the race ran: schemas switched, writes accepted and refused under both" "
  SELECT count(*) FROM (VALUES
    ((SELECT count(*) FROM chronicle.state_schemas WHERE entity_type = 'race') >= 10),
    ((SELECT count(*) FROM chronicle.state_versions WHERE entity_type = 'race' AND schema_version % 2 = 1) >= 10),
    ((SELECT count(*) FROM chronicle.state_versions WHERE entity_type = 'race' AND schema_version % 2 = 0) >= 10),
    ((SELECT count(*) FROM outcomes WHERE NOT accepted) >= 10)) AS c(ok)
   WHERE NOT ok"
sql $DB "SELECT format('%s schema versions, %s writes accepted, %s refused',
                      (SELECT count(*) FROM chronicle.state_schemas),
                      count(*) FILTER (WHERE accepted), count(*) FILTER (WHERE NOT accepted)) FROM outcomes" >&2
check_invariants $DB
