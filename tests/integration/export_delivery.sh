#!/usr/bin/env bash
# At-least-once delivery of the Gist export queue, with real concurrent clients:
# writers keep writing while four kinds of consumers work the queue at once — ones that
# ack, ones that ack at REPEATABLE READ (a snapshot that cannot see exports enqueued
# behind the head they finish; they must fail to serialize and retry rather than strand
# those exports), ones that "crash" after claiming (never ack; their leases expire), and
# ones that ack too late (after their lease was claimed again). Afterwards every committed version
# (every_version mode) or the last version of every file (latest mode) must have been
# acknowledged, and every export acknowledged exactly once. The two races of the protocol
# with a name, an ack at REPEATABLE READ against an export queued behind its head and a
# batch ack against a writer queueing behind two of its heads, are stated step by step in
# tests/isolation/specs/export_ack_behind_head.spec and export_ack_all_timeout.spec.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
DB=chronicle_it_delivery
S=$(mktemp -d)
trap 'rm -rf "$S"' EXIT

fresh_database $DB
sql $DB "SELECT count(*) FROM chronicle.set_gist_target('cfg', 'aaaa1111', mode => 'latest');
         SELECT count(*) FROM chronicle.set_gist_target('log', 'bbbb2222', mode => 'every_version');
         CREATE TABLE acked (seq bigserial, id bigint, entity_type text, entity_id text, version int, ok boolean);" >/dev/null

cat >"$S/write.sql" <<'SQL'
\set e random(1, 20)
\set t random(0, 3)
SELECT chronicle.put_state(CASE WHEN :t = 0 THEN 'log' ELSE 'cfg' END, :e::text, jsonb_build_object('r', random()));
SQL
# Claims one export; the ack is a separate transaction, as for a real exporter.
claim='SELECT coalesce((array_agg(id))[1], 0) AS id, coalesce((array_agg(lease_token))[1]::text, '"''"') AS token
  FROM chronicle.export_claim(1, '"'300 milliseconds'"')'
ack='DO $$ BEGIN
  PERFORM chronicle.export_ack(:id, '"':token'"'::uuid, '"'rev'"');
  INSERT INTO acked (id, entity_type, entity_id, version, ok) SELECT d.id, d.entity_type, d.entity_id, d.version, true FROM chronicle.gist_export_deliveries d WHERE d.id = :id;
EXCEPTION WHEN object_not_in_prerequisite_state THEN
  INSERT INTO acked (id, ok) VALUES (:id, false);
END $$;'
printf '%s \\gset\n\\if :id > 0\n%s\n\\endif\n' "$claim" "$ack" >"$S/consume.sql"
# The REPEATABLE READ acker takes its snapshot, then acks 20 ms later, as an exporter that
# reads something first: writers have time to queue exports behind the head it finishes.
printf '%s \\gset\n\\if :id > 0\nBEGIN ISOLATION LEVEL REPEATABLE READ;\nSELECT pg_sleep(0.02);\n%s\nCOMMIT;\n\\endif\n' \
  "$claim" "$ack" >"$S/consume_rr.sql"
printf '%s \\gset\n' "$claim" >"$S/crash.sql"
printf '%s \\gset\n\\if :id > 0\nSELECT pg_sleep(0.4);\n%s\n\\endif\n' "$claim" "$ack" >"$S/late.sql"

log "writers, consumers, crashing consumers and late ackers, all at once"
pgbench -h "$IT_HOST" -p "$IT_PORT" -U postgres -n -T 10 -c 2 -f "$S/write.sql" $DB >"$S/writers.log" 2>&1 &
writers=$!
# A REPEATABLE READ ack that fails to serialize is retried as a whole, claim included;
# the lease of the first claim then expires and the export is delivered again.
bench $DB 10 6 --max-tries=50 -f "$S/consume.sql@3" -f "$S/consume_rr.sql@2" -f "$S/crash.sql@1" -f "$S/late.sql@1"
status=0
wait $writers || status=$?
pgbench_ok "$S/writers.log" 20 $status

log "draining what is left (expired leases come back)"
for _ in $(seq 1 200); do
  left=$(sql $DB "SELECT pending + in_flight FROM chronicle.export_stats()")
  [ "$left" = 0 ] && break
  bench $DB 1 2 -f "$S/consume.sql" >/dev/null 2>&1 || true
done

expect_zero $DB "nothing left pending, in flight or dead" \
  "SELECT pending + in_flight + dead FROM chronicle.export_stats()"
expect_zero $DB "no export acknowledged twice" "SELECT count(*) - count(DISTINCT id) FROM acked WHERE ok"
expect_zero $DB "every delivered export acknowledged by its lease holder" \
  "SELECT abs((SELECT count(*) FROM chronicle.gist_export_deliveries)
            - (SELECT count(DISTINCT id) FROM acked WHERE ok))"
expect_zero $DB "every_version: every committed version acknowledged" \
  "SELECT count(*) FROM chronicle.state_versions v WHERE v.entity_type = 'log'
      AND NOT EXISTS (SELECT FROM acked a WHERE a.ok AND a.entity_type = 'log' AND a.entity_id = v.entity_id AND a.version = v.version)"
expect_zero $DB "latest: the last version of every file acknowledged" \
  "SELECT count(*) FROM chronicle.state_entities e WHERE e.entity_type = 'cfg'
      AND NOT EXISTS (SELECT FROM acked a WHERE a.ok AND a.entity_type = 'cfg' AND a.entity_id = e.entity_id AND a.version = e.last_version)"
# Order: a file's exports are acknowledged in version order (the next is claimable only
# once the previous one is acknowledged, so the order of the acks is the order of
# delivery), and in latest mode the last one delivered carries the entity's last version.
expect_zero $DB "each file's exports acknowledged in version order" \
  "SELECT count(*) FROM (SELECT version <= lag(version) OVER (PARTITION BY entity_type, entity_id ORDER BY seq) AS backwards
                           FROM acked WHERE ok) a WHERE backwards"
expect_zero $DB "latest: the last export delivered of each file is its entity's last version" \
  "SELECT count(*) FROM chronicle.state_entities e
     JOIN LATERAL (SELECT a.version FROM acked a WHERE a.ok AND a.entity_type = 'cfg' AND a.entity_id = e.entity_id
                    ORDER BY a.seq DESC LIMIT 1) last ON true
    WHERE e.entity_type = 'cfg' AND last.version <> e.last_version"
stale=$(sql $DB "SELECT count(*) FROM acked WHERE NOT ok")
crashed=$(sql $DB "SELECT count(*) FROM chronicle.gist_export_deliveries WHERE attempt > 1")
versions=$(sql $DB "SELECT count(*) FROM chronicle.state_versions")
echo "ok: $versions versions written; $crashed exports re-delivered after an expired lease; $stale late acks refused" >&2
[ "$crashed" -gt 0 ] && [ "$stale" -gt 0 ] || { echo "FAIL: the run did not exercise crashes and late acks" >&2; exit 1; }
