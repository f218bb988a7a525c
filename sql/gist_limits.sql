-- GitHub's limits on content-creating requests, shared by every chronicle-gist exporter
-- of this database. GitHub allows 80 such requests a minute and 500 an hour per user
-- (its web UI included), and bans integrations that keep sending while limited. Each
-- exporter process knows only its own requests, so the count lives here: before every
-- PATCH an exporter takes one write from the shared budget (gist_take_write_budget),
-- and a secondary-limit answer from GitHub pauses every exporter of the database
-- (gist_note_secondary_limit) until Retry-After, or at least a minute that doubles on
-- repeated hits.
--
-- Writes are serialized on the single row of gist_rate_limit (taken FOR UPDATE), so two
-- exporters cannot both see the last free write: the count and the insert happen under
-- that lock, timed with clock_timestamp() after it is granted. The exporter's role
-- needs EXECUTE on the three public functions and no right on the tables: the
-- functions that change them are SECURITY DEFINER with a pinned search_path and reach
-- only the two tables and the helpers below.
--
-- Every statement here can run again (IF NOT EXISTS, CREATE OR REPLACE, ON CONFLICT), so
-- that an upgrade step can include this file whole, as it does the other files of sql/.

CREATE TABLE IF NOT EXISTS chronicle.gist_write_log (
    written_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS gist_write_log_written_at ON chronicle.gist_write_log (written_at);

COMMENT ON TABLE chronicle.gist_write_log IS
  'One row per content-creating Gist request an exporter was allowed to send (the sliding minute and hour of the write budget); rows older than the longest window are pruned by gist_take_write_budget';
COMMENT ON COLUMN chronicle.gist_write_log.written_at IS 'When the write was taken from the budget (clock_timestamp())';

CREATE TABLE IF NOT EXISTS chronicle.gist_rate_limit (
    singleton     boolean     NOT NULL DEFAULT true,
    blocked_until timestamptz,
    hits          integer     NOT NULL DEFAULT 0,
    last_hit_at   timestamptz,
    last_message  text,
    CONSTRAINT gist_rate_limit_pkey PRIMARY KEY (singleton),
    CONSTRAINT gist_rate_limit_singleton_check CHECK (singleton)
);
INSERT INTO chronicle.gist_rate_limit DEFAULT VALUES ON CONFLICT DO NOTHING;

COMMENT ON TABLE chronicle.gist_rate_limit IS
  'The one row every exporter locks to take a write: whether GitHub''s secondary rate limit has paused all exporters of this database, and until when';
COMMENT ON COLUMN chronicle.gist_rate_limit.singleton IS 'Always true: the table has exactly one row';
COMMENT ON COLUMN chronicle.gist_rate_limit.blocked_until IS 'No exporter sends anything to GitHub before this time';
COMMENT ON COLUMN chronicle.gist_rate_limit.hits IS
  'Secondary-limit answers in a row (each within 60 minimum waits of the previous): the wait without Retry-After doubles with each';
COMMENT ON COLUMN chronicle.gist_rate_limit.last_hit_at IS 'When the last secondary-limit answer was recorded';
COMMENT ON COLUMN chronicle.gist_rate_limit.last_message IS 'GitHub''s message in the last secondary-limit answer';

-- How long before a write fits both windows at `now` (zero when one fits now). Reads
-- the tables, so it only works for the owner: it runs inside the functions below.
CREATE OR REPLACE FUNCTION chronicle._gist_budget_wait(per_minute integer, per_hour integer,
                                            minute_window interval, hour_window interval, asof timestamptz)
RETURNS interval
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  wait interval := interval '0';
  blocked timestamptz;
  in_minute bigint;
  in_hour bigint;
  oldest timestamptz;
BEGIN
  SELECT r.blocked_until INTO blocked FROM chronicle.gist_rate_limit r WHERE r.singleton;
  IF blocked > asof THEN
    wait := blocked - asof;
  END IF;
  SELECT count(*) FILTER (WHERE w.written_at > asof - minute_window), count(*)
    INTO in_minute, in_hour
    FROM chronicle.gist_write_log w
   WHERE w.written_at > asof - greatest(minute_window, hour_window);
  -- A write fits once enough of the window's writes have left it: the one that must
  -- leave is the (count - limit + 1)-th oldest.
  IF in_minute >= per_minute THEN
    SELECT w.written_at INTO oldest
      FROM chronicle.gist_write_log w
     WHERE w.written_at > asof - minute_window
     ORDER BY w.written_at
    OFFSET in_minute - per_minute LIMIT 1;
    wait := greatest(wait, oldest + minute_window - asof);
  END IF;
  IF in_hour >= per_hour THEN
    SELECT w.written_at INTO oldest
      FROM chronicle.gist_write_log w
     WHERE w.written_at > asof - greatest(minute_window, hour_window)
     ORDER BY w.written_at
    OFFSET in_hour - per_hour LIMIT 1;
    wait := greatest(wait, oldest + hour_window - asof);
  END IF;
  RETURN wait;
END
$$;

CREATE OR REPLACE FUNCTION chronicle._gist_check_budget_arguments(per_minute integer, per_hour integer,
                                                       minute_window interval, hour_window interval)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF per_minute IS NULL OR per_minute < 1 THEN
    RAISE EXCEPTION 'per_minute must be a positive number of writes, not %', coalesce(per_minute::text, 'NULL')
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF per_hour IS NULL OR per_hour < 1 THEN
    RAISE EXCEPTION 'per_hour must be a positive number of writes, not %', coalesce(per_hour::text, 'NULL')
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF minute_window IS NULL OR minute_window <= interval '0' OR minute_window > interval '1 day' THEN
    RAISE EXCEPTION 'minute_window must be a positive interval of at most a day, not %', coalesce(minute_window::text, 'NULL')
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF hour_window IS NULL OR hour_window <= interval '0' OR hour_window > interval '1 day' THEN
    RAISE EXCEPTION 'hour_window must be a positive interval of at most a day, not %', coalesce(hour_window::text, 'NULL')
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
END
$$;

CREATE OR REPLACE FUNCTION chronicle.gist_take_write_budget(per_minute integer, per_hour integer,
                                                 minute_window interval DEFAULT '1 minute',
                                                 hour_window interval DEFAULT '1 hour')
RETURNS interval
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  at_now timestamptz;
  wait interval;
BEGIN
  PERFORM chronicle._gist_check_budget_arguments(per_minute, per_hour, minute_window, hour_window);
  PERFORM FROM chronicle.gist_rate_limit r WHERE r.singleton FOR UPDATE;
  at_now := clock_timestamp();
  wait := chronicle._gist_budget_wait(per_minute, per_hour, minute_window, hour_window, at_now);
  IF wait > interval '0' THEN
    RETURN wait;
  END IF;
  INSERT INTO chronicle.gist_write_log (written_at) VALUES (at_now);
  DELETE FROM chronicle.gist_write_log w
   WHERE w.written_at <= at_now - greatest(minute_window, hour_window, interval '1 hour');
  RETURN interval '0';
END
$$;

CREATE OR REPLACE FUNCTION chronicle.gist_write_budget_wait(per_minute integer, per_hour integer,
                                                 minute_window interval DEFAULT '1 minute',
                                                 hour_window interval DEFAULT '1 hour')
RETURNS interval
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM chronicle._gist_check_budget_arguments(per_minute, per_hour, minute_window, hour_window);
  RETURN chronicle._gist_budget_wait(per_minute, per_hour, minute_window, hour_window, clock_timestamp());
END
$$;

CREATE OR REPLACE FUNCTION chronicle.gist_note_secondary_limit(retry_after interval DEFAULT NULL,
                                                    min_wait interval DEFAULT '1 minute',
                                                    message text DEFAULT NULL)
RETURNS interval
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  state chronicle.gist_rate_limit;
  at_now timestamptz;
  streak integer;
  wait interval;
BEGIN
  IF retry_after < interval '0' OR retry_after > interval '1 day' THEN
    RAISE EXCEPTION 'retry_after must be between 0 and a day, not %', retry_after
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF min_wait IS NULL OR min_wait <= interval '0' OR min_wait > interval '1 hour' THEN
    RAISE EXCEPTION 'min_wait must be a positive interval of at most an hour, not %', coalesce(min_wait::text, 'NULL')
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT * INTO state FROM chronicle.gist_rate_limit r WHERE r.singleton FOR UPDATE;
  at_now := clock_timestamp();
  streak := CASE WHEN state.last_hit_at > at_now - min_wait * 60 THEN state.hits + 1 ELSE 1 END;
  -- Without Retry-After GitHub asks for at least a minute; a limit hit again soon after
  -- means the wait was too short: double it, up to 64 minimum waits.
  wait := coalesce(retry_after, min_wait * power(2, least(streak - 1, 6)));
  UPDATE chronicle.gist_rate_limit r
     SET blocked_until = greatest(r.blocked_until, at_now + wait),
         hits = streak, last_hit_at = at_now, last_message = left(message, 500)
   WHERE r.singleton
  RETURNING r.blocked_until - at_now INTO wait;
  RETURN wait;
END
$$;

CREATE OR REPLACE FUNCTION chronicle.gist_write_budget_status(minute_window interval DEFAULT '1 minute',
                                                   hour_window interval DEFAULT '1 hour')
RETURNS TABLE (writes_last_minute bigint, writes_last_hour bigint, blocked_until timestamptz,
               secondary_limit_hits integer, last_secondary_limit_message text)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF minute_window IS NULL OR minute_window <= interval '0' OR hour_window IS NULL OR hour_window <= interval '0' THEN
    RAISE EXCEPTION 'minute_window and hour_window must be positive intervals'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  RETURN QUERY
  SELECT (SELECT count(*) FROM chronicle.gist_write_log w WHERE w.written_at > clock_timestamp() - minute_window),
         (SELECT count(*) FROM chronicle.gist_write_log w WHERE w.written_at > clock_timestamp() - hour_window),
         CASE WHEN r.blocked_until > clock_timestamp() THEN r.blocked_until END,
         r.hits, r.last_message
    FROM chronicle.gist_rate_limit r
   WHERE r.singleton;
END
$$;

COMMENT ON FUNCTION chronicle._gist_budget_wait(integer, integer, interval, interval, timestamptz) IS
  'Internal: how long from now until a write fits the per-minute and per-hour budgets and no secondary-limit pause is in force';
COMMENT ON FUNCTION chronicle._gist_check_budget_arguments(integer, integer, interval, interval) IS
  'Internal: refuses budget arguments that are not positive (22023)';
COMMENT ON FUNCTION chronicle.gist_take_write_budget(integer, integer, interval, interval) IS
  'Takes one content-creating Gist request from the budget shared by every exporter of the database: 0 when taken (send now), else how long until one is free (send nothing)';
COMMENT ON FUNCTION chronicle.gist_write_budget_wait(integer, integer, interval, interval) IS
  'How long until gist_take_write_budget would give a write, without taking one (0: now)';
COMMENT ON FUNCTION chronicle.gist_note_secondary_limit(interval, interval, text) IS
  'Records a GitHub secondary-limit answer: every exporter of the database sends nothing for retry_after, or without it for min_wait doubled on each repeated hit; returns the pause';
COMMENT ON FUNCTION chronicle.gist_write_budget_status(interval, interval) IS
  'Writes taken in the last minute and hour, and the secondary-limit pause in force, if any';

-- Nothing for PUBLIC. Administrators get the three exporter functions and the status
-- (sql/finalize.sql in a fresh install, the 0.6.0 step in an update); other exporter
-- roles are granted them by an administrator (chronicle-gist/README.md lists what an
-- exporter needs). The helpers stay the owner's.
REVOKE ALL ON TABLE chronicle.gist_write_log, chronicle.gist_rate_limit FROM PUBLIC;
REVOKE ALL ON FUNCTION
    chronicle._gist_budget_wait(integer, integer, interval, interval, timestamptz),
    chronicle._gist_check_budget_arguments(integer, integer, interval, interval),
    chronicle.gist_take_write_budget(integer, integer, interval, interval),
    chronicle.gist_write_budget_wait(integer, integer, interval, interval),
    chronicle.gist_note_secondary_limit(interval, interval, text),
    chronicle.gist_write_budget_status(interval, interval)
FROM PUBLIC;
