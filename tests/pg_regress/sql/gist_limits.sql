-- GitHub's limits on content-creating requests, shared by every exporter of a database:
-- each PATCH is first taken from a budget per sliding minute and hour, and a
-- secondary-limit answer pauses every exporter. Waits come back as intervals: 0 means
-- "send now".
BEGIN;

-- Two writes a minute: the third waits until the first leaves the minute.
SELECT chronicle.gist_take_write_budget(2, 100) AS first,
       chronicle.gist_take_write_budget(2, 100) AS second;
SELECT w > interval '50 seconds' AND w <= interval '1 minute' AS third_waits_a_minute
  FROM chronicle.gist_take_write_budget(2, 100) w;
-- Waiting is asking without taking; a refused take took nothing.
SELECT chronicle.gist_write_budget_wait(2, 100) > interval '0' AS still_spent,
       chronicle.gist_write_budget_wait(3, 100) AS room_for_a_third;
SELECT writes_last_minute, writes_last_hour, blocked_until, secondary_limit_hits
  FROM chronicle.gist_write_budget_status();
-- The hour counts the same writes.
SELECT w > interval '50 minutes' AS hour_spent FROM chronicle.gist_take_write_budget(100, 2) w;
-- Windows of any length (the tests of chronicle-gist scale them down).
SELECT w > interval '0' AND w <= interval '10 seconds' AS spent_within_ten_seconds
  FROM chronicle.gist_take_write_budget(2, 100, '10 seconds', '20 seconds') w;

-- A secondary limit: Retry-After is obeyed by everyone, the budget has no write meanwhile.
SELECT p > interval '29 seconds' AND p <= interval '30 seconds' AS paused_for_retry_after
  FROM chronicle.gist_note_secondary_limit('30 seconds', '1 minute', 'You have exceeded a secondary rate limit.') p;
SELECT w > interval '20 seconds' AS budget_paused FROM chronicle.gist_take_write_budget(1000, 1000) w;
SELECT secondary_limit_hits, last_secondary_limit_message, blocked_until IS NOT NULL AS blocked
  FROM chronicle.gist_write_budget_status();
-- Without Retry-After: the minimum wait, doubled on each hit that follows soon; a pause
-- is never shortened.
UPDATE chronicle.gist_rate_limit SET blocked_until = NULL, hits = 0, last_hit_at = NULL;
SELECT round(extract(epoch FROM chronicle.gist_note_secondary_limit(NULL, '1 minute'))) AS first_pause,
       round(extract(epoch FROM chronicle.gist_note_secondary_limit(NULL, '1 minute'))) AS second_pause,
       round(extract(epoch FROM chronicle.gist_note_secondary_limit(NULL, '1 minute'))) AS third_pause,
       round(extract(epoch FROM chronicle.gist_note_secondary_limit('5 seconds'))) AS after_a_short_retry_after;

-- What a caller can get wrong.
SELECT regress.error_of($$SELECT chronicle.gist_take_write_budget(0, 10)$$);
SELECT regress.error_of($$SELECT chronicle.gist_take_write_budget(10, NULL)$$);
SELECT regress.error_of($$SELECT chronicle.gist_write_budget_wait(10, 10, '0 seconds')$$);
SELECT regress.error_of($$SELECT chronicle.gist_write_budget_wait(10, 10, '1 minute', '2 days')$$);
SELECT regress.error_of($$SELECT chronicle.gist_note_secondary_limit('-1 second')$$);
SELECT regress.error_of($$SELECT chronicle.gist_note_secondary_limit(NULL, NULL)$$);
SELECT regress.error_of($$SELECT * FROM chronicle.gist_write_budget_status('0 seconds')$$);
ROLLBACK;

-- export_stats says how far behind the exporters are and how fast they drain: exports
-- delivered per minute over the last ten minutes, and the time the backlog takes at that
-- rate.
BEGIN;
SELECT count(*) AS targets FROM chronicle.set_gist_target('drain', 'dd00ee11', 'd-{entity_id}.json', 'every_version');
SELECT count(chronicle.put_state('drain', 'e' || i, jsonb_build_object('i', i))) AS written FROM generate_series(1, 30) i;
SELECT pending, drain_per_minute, estimated_drain_time FROM chronicle.export_stats();
WITH delivered AS (SELECT chronicle.export_ack(c.id, c.lease_token, 'rev1') FROM chronicle.export_claim(20) c)
SELECT count(*) AS delivered FROM delivered;
SELECT pending, drain_per_minute, estimated_drain_time FROM chronicle.export_stats();
ROLLBACK;
