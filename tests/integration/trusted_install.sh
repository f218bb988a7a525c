#!/usr/bin/env bash
# The extension is trusted: a database owner who is not a superuser installs it (as
# Supabase's postgres role does), uses every part of it, grants it on, and drops it.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
DB=chronicle_it_trusted
cluster_psql "$IT_CLUSTER" "$IT_PORT" -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" \
  -c "DROP ROLE IF EXISTS chronicle_db_owner" -c "DROP ROLE IF EXISTS chronicle_reader" \
  -c "CREATE ROLE chronicle_db_owner LOGIN" -c "CREATE ROLE chronicle_reader LOGIN" \
  -c "CREATE DATABASE $DB OWNER chronicle_db_owner" >/dev/null
as_owner() {
  psql -X -v ON_ERROR_STOP=1 -At -h "$IT_HOST" -p "$IT_PORT" -U chronicle_db_owner -d $DB -c "$1"
}
as_owner "CREATE EXTENSION pg_chronicle" >/dev/null
[ "$(as_owner "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")" = f ] || exit 1
[ "$(as_owner "SELECT chronicle.put_state('config', 'app', '{\"a\": 1}')")" = 1 ] || { echo "FAIL: put_state" >&2; exit 1; }
[ "$(as_owner "SELECT chronicle.record_command('deploy') IS NOT NULL")" = t ] || { echo "FAIL: record_command" >&2; exit 1; }
[ "$(as_owner "SELECT hourly_buckets FROM chronicle.refresh_metrics()")" = 1 ] || { echo "FAIL: refresh" >&2; exit 1; }
[ "$(as_owner "SELECT count(*) FROM chronicle.set_gist_target('config', 'abc123')")" = 1 ] || { echo "FAIL: target" >&2; exit 1; }
echo "ok: a non-superuser database owner installs and uses the extension" >&2

# Another role gets nothing until the owner grants it.
reader() {
  psql -X -At -h "$IT_HOST" -p "$IT_PORT" -U chronicle_reader -d $DB -c "$1" 2>&1 || true
}
reader "SELECT chronicle.get_state('config', 'app')" | grep -q "permission denied for schema chronicle" \
  || { echo "FAIL: an ungranted role used the schema" >&2; exit 1; }
# With the schema granted, each check meets the privilege it is about: reading needs
# EXECUTE on get_state (where it is not PUBLIC's) and SELECT on the view behind it;
# writing needs EXECUTE on put_state, revoked from PUBLIC.
as_owner "GRANT USAGE ON SCHEMA chronicle TO chronicle_reader" >/dev/null
reader "SELECT chronicle.get_state('config', 'app')" \
  | grep -qE "permission denied for (function get_state|view current_state)" \
  || { echo "FAIL: an ungranted role read state" >&2; exit 1; }
reader "SELECT chronicle.put_state('config', 'app', '{}')" | grep -q "permission denied for function put_state" \
  || { echo "FAIL: an ungranted role wrote state" >&2; exit 1; }
as_owner "GRANT EXECUTE ON FUNCTION chronicle.get_state(text, text) TO chronicle_reader;
          GRANT SELECT ON chronicle.current_state TO chronicle_reader" >/dev/null
[ "$(reader "SELECT chronicle.get_state('config', 'app') ->> 'a'")" = 1 ] || { echo "FAIL: granted read" >&2; exit 1; }
echo "ok: other roles get nothing until the owner grants it" >&2
# The attacks of the 0.3.0 review, by the owner of the trusted install: each is refused,
# and the owner is still not a superuser afterwards.
owner_refused() {
  local out
  out=$(psql -X -v ON_ERROR_STOP=1 -At -h "$IT_HOST" -p "$IT_PORT" -U chronicle_db_owner -d $DB -c "$1" 2>&1) \
    && { echo "FAIL: the owner could: $1" >&2; exit 1; }
  echo "$out" | grep -qE "$2" || { echo "$out" >&2; echo "FAIL: unexpected error for: $1" >&2; exit 1; }
}
as_owner "CREATE SCHEMA auth;
          CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE plpgsql AS \$\$
          BEGIN EXECUTE 'ALTER ROLE chronicle_db_owner SUPERUSER'; RETURN NULL; END \$\$;
          SELECT chronicle.put_state('config', 'app', '{\"a\": 2}');
          INSERT INTO chronicle.state_store (entity_type, entity_id, state) VALUES ('config', 'app', '{\"a\": 3}')" >/dev/null
owner_refused "INSERT INTO chronicle.state_versions VALUES ('config', 'app', 9, '{}', now(), 'x', gen_random_uuid(), NULL, NULL)" \
  "permission denied for table state_versions"
owner_refused "TRUNCATE chronicle.state_entities" "permission denied for table state_entities"
owner_refused "CREATE FUNCTION public.planted() RETURNS trigger LANGUAGE plpgsql AS \$\$BEGIN RETURN NEW; END\$\$;
               CREATE TRIGGER planted BEFORE INSERT ON chronicle.state_versions FOR EACH ROW EXECUTE FUNCTION public.planted()" \
  "permission denied for table state_versions"
owner_refused "CREATE FUNCTION public.planted() RETURNS trigger LANGUAGE plpgsql AS \$\$BEGIN RETURN NEW; END\$\$;
               CREATE TRIGGER planted BEFORE UPDATE ON chronicle.command_metrics_hourly FOR EACH ROW EXECUTE FUNCTION public.planted()" \
  "permission denied for table command_metrics_hourly"
owner_refused "UPDATE chronicle.gist_export_queue SET status = 'done'" "permission denied for table gist_export_queue"
[ "$(as_owner "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")" = f ] \
  || { echo "FAIL: the owner became a superuser" >&2; exit 1; }
[ "$(as_owner "SELECT max(version) FROM chronicle.state_store WHERE entity_id = 'app'")" = 3 ] \
  || { echo "FAIL: the owner's own writes were not versioned" >&2; exit 1; }
echo "ok: the owner cannot become superuser, forge history or plant triggers" >&2
as_owner "DROP EXTENSION pg_chronicle" >/dev/null
echo "ok: the owner drops the extension" >&2
