-- The Gist export queue: every state write of an exported entity type is queued in the
-- same transaction, and exporters take it through claim / ack / fail.
BEGIN;

-- Targets are checked when they are set.
SELECT * FROM chronicle.set_gist_target('config', 'aa11bb22', '{entity_type}.{entity_id}.json', 'latest');
SELECT * FROM chronicle.set_gist_target('audit', 'cc33dd44', 'audit-{entity_id}.json', 'every_version');
SELECT regress.error_of($$SELECT chronicle.set_gist_target('config', 'aa11bb22', 'configs/{entity_id}.json')$$);
SELECT regress.error_of($$SELECT chronicle.set_gist_target('config', 'aa11bb22', '{entity_type}.json')$$);
SELECT regress.error_of($$SELECT chronicle.set_gist_target('config', 'aa11bb22', '{entity_type}.{id}.json')$$);
SELECT regress.error_of($$SELECT chronicle.set_gist_target('a/b', 'aa11bb22')$$);
SELECT regress.error_of($$SELECT chronicle.set_gist_target('config', 'not a gist!')$$);
SELECT regress.error_of($$SELECT chronicle.set_gist_target('config', 'aa11bb22', mode => 'sometimes')$$);
-- So is a target written directly into the table, whoever writes it.
SELECT regress.error_of($$INSERT INTO chronicle.gist_targets (entity_type, gist_id, filename_template) VALUES ('direct', 'aa11bb22', 'x/{entity_id}')$$);
SELECT regress.error_of($$UPDATE chronicle.gist_targets SET filename_template = '{entity_type}.json' WHERE entity_type = 'config'$$);
SELECT regress.error_of($$UPDATE chronicle.gist_targets SET entity_type = 'a/b' WHERE entity_type = 'config'$$);
SELECT entity_type, filename_template FROM chronicle.gist_targets ORDER BY entity_type;
SELECT chronicle.gist_file_name('config', 'app'), chronicle.gist_file_name('untracked', 'x') IS NULL AS untracked;

-- An entity id that would make an invalid file name is refused with its write.
SELECT regress.error_of($$SELECT chronicle.put_state('config', 'team/app', '{}')$$);
SELECT count(*) AS versions_written FROM chronicle.state_store WHERE entity_id = 'team/app';

-- latest mode: a new version replaces the payload of the still-pending export.
SELECT chronicle.put_state('config', 'app', '{"theme": "dark"}');
SELECT chronicle.put_state('config', 'app', '{"theme": "light"}');
SELECT id > 0 AS has_id, gist_id, file_name, operation, version, status, payload
  FROM regress.exports WHERE entity_id = 'app';

-- every_version mode: each version is its own export, so its own Gist revision.
SELECT chronicle.put_state('audit', 'log', jsonb_build_object('n', n)) FROM generate_series(1, 3) n;
SELECT file_name, version, status FROM regress.exports WHERE entity_type = 'audit' ORDER BY id;

-- Untracked entity types are not queued.
SELECT chronicle.put_state('untracked', 'x', '{}');
SELECT count(*) FROM regress.exports WHERE entity_type = 'untracked';

-- A claim hands out each file's oldest unfinished export, one per file, in version order.
CREATE TEMP TABLE claim1 AS SELECT * FROM chronicle.export_claim(10, '1 minute');
SELECT file_name, operation, version, attempt, lease_token IS NOT NULL AS leased FROM claim1 ORDER BY file_name;
-- While one version of audit-log.json is in flight, the next one waits.
SELECT count(*) AS nothing_more FROM chronicle.export_claim(10);

-- A wrong token is refused; the right one acknowledges with the Gist revision.
SELECT regress.error_of(format('SELECT chronicle.export_ack(%s, %L, %L)', id, gen_random_uuid(), 'rev0'))
  FROM claim1 WHERE file_name = 'config.app.json';
SELECT chronicle.export_ack(id, lease_token, 'rev1') FROM claim1 WHERE file_name = 'audit-log.json';
SELECT regress.error_of(format('SELECT chronicle.export_ack(%s, %L, %L)', id, lease_token, 'again'))
  FROM claim1 WHERE file_name = 'audit-log.json';
SELECT file_name, version FROM chronicle.export_claim(10) ORDER BY file_name;

-- A failure backs off (exponentially, with jitter, or as long as Retry-After says) and
-- after chronicle.export_max_attempts the export is dead.
SET LOCAL chronicle.export_max_attempts = 2;
SELECT chronicle.export_fail(id, lease_token, 'HTTP 502', retry_after => '0 seconds')
  FROM claim1 WHERE file_name = 'config.app.json';
SELECT status, attempt, last_error FROM regress.exports WHERE entity_id = 'app';
CREATE TEMP TABLE claim2 AS SELECT * FROM chronicle.export_claim(10) WHERE file_name = 'config.app.json';
SELECT chronicle.export_fail(id, lease_token, 'HTTP 502') FROM claim2;
SELECT status, attempt, last_error FROM regress.exports WHERE entity_id = 'app';

-- Redrive brings dead exports back with fresh attempts.
SELECT chronicle.export_redrive() AS redriven;
SELECT status, attempt FROM regress.exports WHERE entity_id = 'app';

-- Released exports (exporter stopping, rate limit) do not use up attempts.
CREATE TEMP TABLE claim3 AS SELECT * FROM chronicle.export_claim(10) WHERE file_name = 'config.app.json';
SELECT chronicle.export_release(id, lease_token) FROM claim3;
SELECT status, attempt FROM regress.exports WHERE entity_id = 'app';

-- A lease that expires makes the export claimable again, and the old token stale.
CREATE TEMP TABLE claim4 AS SELECT * FROM chronicle.export_claim(10, '1 millisecond') WHERE file_name = 'config.app.json';
SELECT pg_sleep(0.01);
CREATE TEMP TABLE claim5 AS SELECT * FROM chronicle.export_claim(10, '1 minute') WHERE file_name = 'config.app.json';
SELECT count(*) AS reclaimed, bool_and(c5.lease_token <> c4.lease_token) AS new_token
  FROM claim5 c5 JOIN claim4 c4 USING (id);
SELECT regress.error_of(format('SELECT chronicle.export_ack(%s, %L, %L)', id, lease_token, 'late')) FROM claim4;
SELECT chronicle.export_ack(id, lease_token, 'rev2') FROM claim5;

-- A version written while its file's export is in flight is queued behind it: the row
-- the exporter holds never changes. Later versions coalesce into the pending row, and a
-- deletion turns it into a removal of the file.
SELECT chronicle.put_state('config', 'app', '{"theme": "blue"}');
CREATE TEMP TABLE claim6 AS SELECT * FROM chronicle.export_claim(10) WHERE file_name = 'config.app.json';
SELECT chronicle.put_state('config', 'app', '{"theme": "green"}');
SELECT chronicle.delete_state('config', 'app');
SELECT version, operation, status, payload IS NULL AS no_payload
  FROM regress.exports WHERE entity_id = 'app' ORDER BY id;

SELECT pending, in_flight, done, dead, oldest_pending_age >= interval '0' AS has_age FROM chronicle.export_stats();
SELECT chronicle.prune_export_queue('0 seconds') AS pruned;
SELECT done FROM chronicle.export_stats();

-- Bad arguments.
SELECT regress.error_of($$SELECT * FROM chronicle.export_claim(0)$$);
SELECT regress.error_of($$SELECT * FROM chronicle.export_claim(10, '-1 minute')$$);
SELECT regress.error_of($$SELECT chronicle.prune_export_queue(NULL)$$);
SELECT regress.error_of($$SELECT chronicle.export_ack(NULL, NULL, 'rev')$$);
SELECT regress.error_of($$SELECT chronicle.export_ack_all('{NULL}', '{NULL}', 'rev')$$);
ROLLBACK;

-- Importing a Gist's history keeps each revision's time, remembers it, and is not
-- exported back.
BEGIN;
SELECT * FROM chronicle.set_gist_target('config', 'aa11bb22');
SELECT chronicle.import_state_version('config', 'app', '{"v": 1}', '2026-01-01 10:00:00+00', 'aa11bb22', 'r1', 'config.app.json');
SELECT chronicle.import_state_version('config', 'app', '{"v": 2}', '2026-01-02 10:00:00+00', 'aa11bb22', 'r2', 'config.app.json');
SELECT chronicle.import_state_version('config', 'app', '{"v": 2}', '2026-01-02 10:00:00+00', 'aa11bb22', 'r2', 'config.app.json') IS NULL AS already_imported;
SELECT regress.error_of($$SELECT chronicle.import_state_version('config', 'app', '{"v": 0}', '2025-12-31 10:00:00+00', 'aa11bb22', 'r0', 'config.app.json')$$);
SELECT version, valid_from, valid_to, state FROM chronicle.state_history('config', 'app');
SELECT gist_revision, version FROM chronicle.gist_imports ORDER BY gist_revision;
SELECT count(*) AS exported_back FROM regress.exports;
ROLLBACK;

-- Several exports delivered by one Gist revision are acknowledged in one statement, all
-- or nothing.
BEGIN;
SELECT * FROM chronicle.set_gist_target('config', 'aa11bb22');
SELECT count(chronicle.put_state('config', 'e' || i, '{}')) FROM generate_series(1, 3) i;
CREATE TEMP TABLE batch AS SELECT * FROM chronicle.export_claim(10);
SELECT regress.error_of(format('SELECT chronicle.export_ack_all(%L, %L, %L)',
         (SELECT array_agg(id ORDER BY id) FROM batch),
         (SELECT array_agg(CASE WHEN file_name = 'config.e2.json' THEN gen_random_uuid() ELSE lease_token END ORDER BY id) FROM batch),
         'rev')) LIKE '55000: export % is not under this lease' AS one_stale_refuses_all;
SELECT count(*) AS still_in_flight FROM regress.exports WHERE status = 'in_flight';
SELECT chronicle.export_ack_all((SELECT array_agg(id) FROM batch), (SELECT array_agg(lease_token) FROM batch), 'rev');
SELECT status, count(*), min(gist_revision) FROM regress.exports GROUP BY status;
SELECT regress.error_of($$SELECT chronicle.export_ack_all('{1, 2}'::bigint[], '{}'::uuid[], 'rev')$$);
ROLLBACK;

-- A deep backlog on a few files (every_version on hot entities): most exports wait behind
-- their file's head, and each ack makes the next one the head. Each claim holds at most
-- one export per file, and draining the queue sends every file's versions in order, none
-- twice, none skipped.
BEGIN;
SELECT * FROM chronicle.set_gist_target('hot', 'cc33dd44', mode => 'every_version');
SELECT count(chronicle.put_state('hot', 'e' || i % 3, jsonb_build_object('i', i))) FROM generate_series(1, 600) i;
CREATE TEMP TABLE drained (round integer, file_name text, version integer);
DO $$
DECLARE
  round integer := 0;
BEGIN
  LOOP
    round := round + 1;
    WITH claimed AS (SELECT * FROM chronicle.export_claim(50)),
         acked AS (SELECT chronicle.export_ack(id, lease_token, 'rev') FROM claimed)
    INSERT INTO drained SELECT round, file_name, version FROM claimed, (SELECT count(*) FROM acked) a;
    EXIT WHEN NOT FOUND OR round > 1000;
  END LOOP;
END $$;
SELECT file_name, count(*) AS versions, min(version), max(version),
       count(DISTINCT version) = count(*) AS none_twice,
       bool_and(version = previous + 1) AS in_order
  FROM (SELECT *, lag(version, 1, 0) OVER (PARTITION BY file_name ORDER BY round) AS previous FROM drained) d
 GROUP BY file_name ORDER BY file_name;
SELECT max(per_file) AS most_per_file_in_one_claim
  FROM (SELECT count(*) AS per_file FROM drained GROUP BY round, file_name) c;
SELECT count(*) AS left_over FROM regress.exports WHERE status <> 'done';
ROLLBACK;

-- latest mode, a head that failed and waits for its retry while a newer version waits
-- behind it: the next version replaces the waiting one, not the head (the newest content
-- must leave last), and once the head is delivered the waiting export is the head.
BEGIN;
SELECT * FROM chronicle.set_gist_target('config', 'aa11bb22');
SELECT chronicle.put_state('config', 'app', '{"v": 1}');
CREATE TEMP TABLE first_claim AS SELECT * FROM chronicle.export_claim(10);
SELECT chronicle.put_state('config', 'app', '{"v": 2}');
SELECT chronicle.export_fail(id, lease_token, 'HTTP 502', retry_after => '0 seconds') FROM first_claim;
SELECT chronicle.put_state('config', 'app', '{"v": 3}');
SELECT version, status, attempt FROM regress.exports ORDER BY id;
CREATE TEMP TABLE second_claim AS SELECT * FROM chronicle.export_claim(10);
SELECT version, attempt FROM second_claim;
SELECT chronicle.export_ack(id, lease_token, 'r1') FROM second_claim;
SELECT version, status FROM regress.exports ORDER BY id;
-- One head per file, whoever writes the queue.
SELECT regress.error_of($$INSERT INTO chronicle.gist_export_queue (gist_id, file_name, operation, mode, entity_type, entity_id, version, payload)
                          VALUES ('aa11bb22', 'config.app.json', 'write', 'latest', 'config', 'app', 9, '{}')$$);
ROLLBACK;

-- every_version: a dead export no longer holds its file back, and redriven while the file
-- has a head it waits behind that head; the file's newest export is queued again behind
-- it, so the Gist ends at the current version, not at the redriven one.
BEGIN;
SET LOCAL chronicle.export_max_attempts = 1;
SELECT * FROM chronicle.set_gist_target('audit', 'cc33dd44', mode => 'every_version');
SELECT chronicle.put_state('audit', 'log', jsonb_build_object('n', n)) FROM generate_series(1, 2) n;
SELECT chronicle.export_fail(id, lease_token, 'HTTP 422') FROM chronicle.export_claim(10);
SELECT version, status FROM regress.exports ORDER BY id;
CREATE TEMP TABLE held AS SELECT * FROM chronicle.export_claim(10);
SELECT chronicle.export_redrive() AS redriven;
SELECT version, status FROM regress.exports ORDER BY id;
SELECT chronicle.export_ack(id, lease_token, 'r2') FROM held;
SELECT version, status FROM regress.exports ORDER BY id;
SELECT pending, in_flight, done, dead FROM chronicle.export_stats();
-- Drained in order: version 1 (redriven), then version 2 again, then nothing.
SELECT c.version, chronicle.export_ack(c.id, c.lease_token, 'r3') FROM chronicle.export_claim(10) c;
SELECT c.version, chronicle.export_ack(c.id, c.lease_token, 'r4') FROM chronicle.export_claim(10) c;
SELECT count(*) AS left_to_deliver FROM chronicle.export_claim(10);
SELECT gist_revision, version FROM regress.exports ORDER BY delivered_at DESC LIMIT 1;
ROLLBACK;

-- The failure backoff, read back: without retry_after a failed export waits 2 s doubling
-- with each attempt, times a jitter of 0.5 to 1.5, and never more than 1.5 hours; never
-- zero, which would retry against GitHub in a tight loop.
BEGIN;
SET LOCAL chronicle.export_max_attempts = 30;
SELECT entity_type FROM chronicle.set_gist_target('backoff', 'bb00cc11');
SELECT chronicle.put_state('backoff', 'a', '{}');
CREATE TEMP TABLE waits (attempt integer, wait_seconds float8);
DO $$
DECLARE
  claimed record;
BEGIN
  FOR i IN 1 .. 16 LOOP
    -- Skip the wait itself (as the owner may); the claim then takes the export again.
    UPDATE chronicle.gist_export_queue SET available_at = clock_timestamp() WHERE entity_type = 'backoff';
    SELECT * INTO claimed FROM chronicle.export_claim(1);
    PERFORM chronicle.export_fail(claimed.id, claimed.lease_token, 'HTTP 500');
    INSERT INTO waits
    SELECT claimed.attempt, extract(epoch FROM q.available_at - clock_timestamp())
      FROM chronicle.gist_export_queue q WHERE q.id = claimed.id;
  END LOOP;
END
$$;
SELECT attempt,
       wait_seconds >= 0.5 * least(3600, 2 * 2 ^ (attempt - 1)) - 0.5
   AND wait_seconds < 1.5 * least(3600, 2 * 2 ^ (attempt - 1)) AS within_jittered_bounds
  FROM waits ORDER BY attempt;
SELECT min(wait_seconds) > 0.5 AS never_immediate, max(wait_seconds) <= 5400 AS capped FROM waits;
ROLLBACK;
