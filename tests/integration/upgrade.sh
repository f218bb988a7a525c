#!/usr/bin/env bash
# ALTER EXTENSION pg_chronicle UPDATE from every earlier release kept in tests/upgrade/:
# the earlier release is installed and used, then updated. Its data is untouched, the
# database goes on working, and its extension objects (members, definitions, columns,
# constraints, indexes, triggers, policies, privileges, comments, dump configuration)
# are exactly those of a fresh install of the current version.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
OLD=chronicle_it_upgrade_old
NEW=chronicle_it_upgrade_new
EXTENSION_DIR=$(pg_tool pg_config --sharedir)/extension
LIBRARY_DIR=$(pg_tool pg_config --pkglibdir)
# Releases before 0.6.0 named their library pg_chronicle.so (MODULE_PATHNAME in their
# scripts); from 0.6.0 on each names its own by version. A database keeps calling its
# release's library until ALTER EXTENSION UPDATE, so the earlier releases run here on a
# real earlier library: the previous release's (tests/upgrade/previous-library names its
# commit and version), built from this repository's history, once per major. It is the
# library users of every earlier release have when they update (0.5.0's serves the
# catalogs of 0.1.0 to 0.5.0), installed as pg_chronicle.so for the test and taken away
# after it; the update must leave nothing calling it.
OLD_LIBRARY=$LIBRARY_DIR/pg_chronicle.so
OLD_LIBRARY_KEPT=$RUN_DIR/upgrade-test-pg_chronicle.so
installed_files=()
remove_installed_files() {
  local file
  for file in "${installed_files[@]}"; do in_root rm -f "$file"; done
  # A pg_chronicle.so that was there before (an earlier build) goes back.
  if in_root test -e "$OLD_LIBRARY_KEPT"; then in_root mv -f "$OLD_LIBRARY_KEPT" "$OLD_LIBRARY"; fi
}
trap remove_installed_files EXIT

build_previous_library() {
  local commit version source logfile
  read -r commit version <"$REPO_ROOT/tests/upgrade/previous-library"
  source=$TARGET_DIR/previous-release/$version-$commit
  logfile=$LOG_DIR/previous-library-pg$PG_MAJOR.log
  if [ ! -f "$source/.extracted" ]; then
    # A shallow clone lacks the release's commit: fetch it from where the clone came from.
    if ! git -C "$REPO_ROOT" cat-file -e "$commit^{commit}" 2>/dev/null; then
      git -C "$REPO_ROOT" fetch --quiet origin "$commit" 2>/dev/null \
        || git -C "$REPO_ROOT" fetch --quiet --unshallow origin 2>/dev/null || true
    fi
    rm -rf "$source"; mkdir -p "$source"
    git -C "$REPO_ROOT" archive "$commit" | tar -x -C "$source" \
      || { echo "FAIL: cannot extract release $version ($commit) from git history" >&2; exit 1; }
    # Its own library name, so that it shares the dependencies' builds in $TARGET_DIR
    # without replacing this build's libpg_chronicle.so there.
    sed -i 's/^\[lib\]$/[lib]\nname = "pg_chronicle_previous"/' "$source/Cargo.toml"
    touch "$source/.extracted"
  fi
  log "building release $version's library for PostgreSQL $PG_MAJOR (log: $logfile)"
  (cd "$source" && in_root env CARGO_TARGET_DIR="$TARGET_DIR" cargo build --lib -p pg_chronicle \
     --no-default-features --features "pg$PG_MAJOR" >"$logfile" 2>&1) \
    || { tail -n 20 "$logfile" >&2; echo "FAIL: building release $version's library" >&2; exit 1; }
  echo "$TARGET_DIR/debug/libpg_chronicle_previous.so"
}
previous_library=$(build_previous_library)
if in_root test -e "$OLD_LIBRARY"; then in_root mv -f "$OLD_LIBRARY" "$OLD_LIBRARY_KEPT"; fi
in_root install -m 755 "$previous_library" "$OLD_LIBRARY"
installed_files+=("$OLD_LIBRARY")

# The catalog's view of the extension, one line per fact, in a fixed order.
CATALOG_FINGERPRINT=$(cat <<'SQL'
WITH ext AS (SELECT oid, extconfig, extcondition FROM pg_extension WHERE extname = 'pg_chronicle'),
rels AS (SELECT c.oid FROM pg_class c WHERE c.relnamespace = 'chronicle'::regnamespace),
facts(fact) AS (
  SELECT 'member ' || pg_describe_object(d.classid, d.objid, d.objsubid)
    FROM pg_depend d, ext WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
  UNION ALL
  SELECT 'dumped ' || array_to_string(ext.extconfig::regclass[], ',') || ' where ' || array_to_string(ext.extcondition, ',') FROM ext
  UNION ALL
  -- An aggregate by its definition, types by name (the state type the extension makes has
  -- another OID in each database).
  SELECT format('function %s: %s owner %s acl %s comment %s', p.oid::regprocedure,
                md5(CASE WHEN p.prokind = 'a' THEN (SELECT concat_ws(' ', a.aggkind, a.aggnumdirectargs, a.aggtransfn, a.aggfinalfn,
                                                a.aggcombinefn, a.aggserialfn, a.aggdeserialfn, a.aggmtransfn, a.aggminvtransfn,
                                                a.aggmfinalfn, a.aggfinalextra, a.aggmfinalextra, a.aggfinalmodify,
                                                a.aggmfinalmodify, a.aggsortop::regoperator, a.aggtranstype::regtype,
                                                a.aggtransspace, a.aggmtranstype::regtype, a.aggmtransspace,
                                                a.agginitval, a.aggminitval)
                                              FROM pg_aggregate a WHERE a.aggfnoid = p.oid)
                         ELSE pg_get_functiondef(p.oid) END),
                p.proowner::regrole, p.proacl, obj_description(p.oid, 'pg_proc'))
    FROM pg_proc p WHERE p.pronamespace = 'chronicle'::regnamespace
  UNION ALL
  SELECT format('relation %s kind %s acl %s options %s comment %s', c.oid::regclass, c.relkind, c.relacl,
                c.reloptions, obj_description(c.oid, 'pg_class'))
    FROM pg_class c WHERE c.oid IN (SELECT oid FROM rels)
  UNION ALL
  SELECT format('column %s.%s %s not null %s default %s acl %s comment %s', a.attrelid::regclass, a.attname,
                format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(ad.adbin, ad.adrelid), a.attacl,
                col_description(a.attrelid, a.attnum))
    FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
   WHERE a.attrelid IN (SELECT oid FROM rels) AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT format('constraint %s on %s: %s', co.conname, co.conrelid::regclass, pg_get_constraintdef(co.oid))
    FROM pg_constraint co WHERE co.connamespace = 'chronicle'::regnamespace
  UNION ALL
  SELECT 'index ' || pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid IN (SELECT oid FROM rels)
  UNION ALL
  SELECT 'trigger ' || pg_get_triggerdef(t.oid) FROM pg_trigger t WHERE t.tgrelid IN (SELECT oid FROM rels) AND NOT t.tgisinternal
  UNION ALL
  SELECT format('view %s: %s', c.oid::regclass, md5(pg_get_viewdef(c.oid))) FROM pg_class c
   WHERE c.oid IN (SELECT oid FROM rels) AND c.relkind IN ('v', 'm')
  UNION ALL
  SELECT format('policy %s on %s: %s %s to %s using %s check %s', pol.polname, pol.polrelid::regclass, pol.polcmd,
                pol.polpermissive, pol.polroles::regrole[], pg_get_expr(pol.polqual, pol.polrelid),
                pg_get_expr(pol.polwithcheck, pol.polrelid))
    FROM pg_policy pol WHERE pol.polrelid IN (SELECT oid FROM rels)
  UNION ALL
  SELECT format('type %s comment %s', t.oid::regtype, obj_description(t.oid, 'pg_type'))
    FROM pg_type t WHERE t.typnamespace = 'chronicle'::regnamespace
  UNION ALL
  SELECT format('schema acl %s comment %s', n.nspacl, obj_description(n.oid, 'pg_namespace'))
    FROM pg_namespace n WHERE n.nspname = 'chronicle')
SELECT fact FROM facts ORDER BY fact COLLATE "C";
SQL
)

# The queue's rows, except that an export behind its file's unfinished one counts as
# pending: releases before 0.3.0 had no other word for it, and the update says waiting.
# has_waiting (0.6.0) is derived by the update, and checked on its own below. Delivered
# exports were rows marked done before 0.6.0 and are rows of gist_export_deliveries since;
# both are compared as deliveries.
queue_fingerprint() {
  local delivered
  if [ "$(sql "$1" "SELECT to_regclass('chronicle.gist_export_deliveries') IS NOT NULL")" = t ]; then
    delivered="SELECT jsonb_build_object('delivered', to_jsonb(d)) AS r FROM chronicle.gist_export_deliveries d"
  else
    delivered="SELECT jsonb_build_object('delivered', jsonb_build_object(
                 'id', t.id, 'gist_id', t.gist_id, 'file_name', t.file_name, 'operation', t.operation,
                 'mode', t.mode, 'entity_type', t.entity_type, 'entity_id', t.entity_id,
                 'version', t.version, 'checksum', t.checksum, 'payload', t.payload,
                 'attempt', t.attempt, 'enqueued_at', t.enqueued_at,
                 'gist_revision', t.gist_revision, 'delivered_at', t.done_at)) AS r
                 FROM chronicle.gist_export_queue t WHERE t.status = 'done' AND t.gist_revision IS NOT NULL"
  fi
  rows_fingerprint "$1" gist_export_queue "
    SELECT to_jsonb(t) - 'stage' - 'has_waiting' - 'gist_revision' - 'done_at'
           || jsonb_build_object('status', CASE t.status WHEN 'waiting' THEN 'pending' ELSE t.status END) AS r
      FROM chronicle.gist_export_queue t WHERE t.status <> 'done'
    UNION ALL $delivered"
}
FINGERPRINTED_TABLES=${FINGERPRINTED_TABLES/gist_export_queue/}
FINGERPRINTED_TABLES=${FINGERPRINTED_TABLES/gist_export_deliveries/}
# A column an update adds is NULL in the rows it finds (0.5.0: state_versions.schema_version),
# so rows are compared without their NULL members.
FINGERPRINT_ROW='jsonb_strip_nulls(to_jsonb(t))'

current=$(sql postgres "SELECT default_version FROM pg_available_extensions WHERE name = 'pg_chronicle'")
fresh_database $NEW
fresh_catalog=$(sql $NEW "$CATALOG_FINGERPRINT")

releases=("$(dirname "$0")"/../upgrade/pg_chronicle--*.sql)
[ -e "${releases[0]}" ] || { echo "FAIL: no earlier release in tests/upgrade" >&2; exit 1; }
for script in "${releases[@]}"; do
  previous=$(basename "$script" .sql); previous=${previous#pg_chronicle--}
  log "upgrade: $previous -> $current"
  sed "s|MODULE_PATHNAME|\$libdir/pg_chronicle|g" "$script" | in_root sh -c 'cat > "$1"' _ "$EXTENSION_DIR/$(basename "$script")"
  installed_files+=("$EXTENSION_DIR/$(basename "$script")")

  cluster_psql "$IT_CLUSTER" "$IT_PORT" -d postgres \
    -c "DROP DATABASE IF EXISTS $OLD WITH (FORCE)" -c "CREATE DATABASE $OLD"
  sql $OLD "CREATE EXTENSION pg_chronicle VERSION '$previous'" >/dev/null
  expect_zero $OLD "release $previous installs" \
    "SELECT count(*) FROM pg_extension WHERE extname = 'pg_chronicle' AND extversion <> '$previous'"
  load_sample_data $OLD
  # Versions written while their file's export is in flight: rows that wait behind it.
  sql $OLD "SELECT count(chronicle.put_state('config', q.entity_id, '{\"after\": \"claim\"}'))
              FROM chronicle.gist_export_queue q WHERE q.status = 'in_flight'" >/dev/null
  before=$(table_fingerprint $OLD && queue_fingerprint $OLD)

  # One session uses the old library, updates, and goes on with the new one loaded beside
  # it: the new library must read the settings the old one registered instead of failing
  # to register them again (a 20-byte limit refuses the second state).
  refused=$(cluster_psql "$IT_CLUSTER" "$IT_PORT" -d $OLD -At \
    -c "SELECT chronicle.num_vals(chronicle.percentile_agg(1.0))" \
    -c "ALTER EXTENSION pg_chronicle UPDATE" \
    -c "SET chronicle.max_state_bytes = 20" \
    -c "DO \$\$ BEGIN PERFORM chronicle.put_state('config', 'before-update', '{\"n\": \"more than twenty bytes\"}');
        EXCEPTION WHEN program_limit_exceeded THEN RAISE NOTICE 'refused'; END \$\$" \
    2>&1)
  if ! grep -q "NOTICE:  refused" <<<"$refused"; then
    echo "$refused" >&2
    echo "FAIL: a session that loaded the old library does not enforce chronicle.max_state_bytes after the update" >&2
    exit 1
  fi
  echo "ok: a session that used the old library goes on after the update with its settings" >&2
  expect_zero $OLD "no function calls the old release's library after the update" \
    "SELECT count(*) FROM pg_proc WHERE probin IS NOT NULL AND probin <> 'pg_chronicle-$current'
                                    AND pronamespace = 'chronicle'::regnamespace"
  expect_zero $OLD "ALTER EXTENSION pg_chronicle UPDATE reaches $current" \
    "SELECT count(*) FROM pg_extension WHERE extname = 'pg_chronicle' AND extversion <> '$current'"
  after=$(table_fingerprint $OLD && queue_fingerprint $OLD)
  if [ "$before" != "$after" ]; then
    diff <(echo "$before") <(echo "$after") >&2
    echo "FAIL: data changed by the update from $previous" >&2
    exit 1
  fi
  echo "ok: every chronicle table identical after the update" >&2
  expect_zero $OLD "the two exports written behind in-flight ones wait" \
    "SELECT 2 - count(*) FROM chronicle.gist_export_queue WHERE status = 'waiting'"
  expect_zero $OLD "exactly the heads with exports waiting behind them are marked so" \
    "SELECT count(*) FROM chronicle.gist_export_queue h
      WHERE h.stage = 'head'
        AND h.has_waiting IS DISTINCT FROM EXISTS (
              SELECT FROM chronicle.gist_export_queue w
               WHERE w.gist_id = h.gist_id AND w.file_name = h.file_name AND w.stage = 'waiting')"

  updated_catalog=$(sql $OLD "$CATALOG_FINGERPRINT")
  if [ "$updated_catalog" != "$fresh_catalog" ]; then
    diff <(echo "$fresh_catalog") <(echo "$updated_catalog") >&2
    echo "FAIL: updated from $previous differs from a fresh $current install (< fresh, > updated)" >&2
    exit 1
  fi
  echo "ok: the same $(echo "$fresh_catalog" | wc -l) catalog facts as a fresh install" >&2

  # The updated database goes on: numbering, the queue (with what was claimed before the
  # update), the refresh.
  expect_zero $OLD "each file has one head after the update, and the exports behind it wait" \
    "SELECT count(*) FROM (SELECT gist_id, file_name FROM chronicle.gist_export_queue
                            WHERE status IN ('waiting', 'pending', 'in_flight')
                            GROUP BY gist_id, file_name
                           HAVING count(*) FILTER (WHERE status IN ('pending', 'in_flight')) <> 1) f"
  expect_goes_on $OLD "the update"
done
