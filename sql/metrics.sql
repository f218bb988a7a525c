-- Command metrics: hourly and daily rollups of command_executions, refreshed
-- incrementally. Every change to an execution records which (hour, command) bucket it
-- touched, in the same transaction; chronicle.refresh_metrics() recomputes just those
-- buckets from the raw rows, and the days they belong to from the hours. Durations are
-- kept as chronicle.quantile_sketch, so any range of hours or days rolls up into exact
-- counts and percentiles within the sketch's error; the distinct users of each bucket
-- are kept too, so unique_users is exact at every grain. Buckets are UTC hours and days.

-- Buckets whose rollups are out of date. Append-only: a refresh takes the rows that were
-- committed when it started and leaves any that commit later for the next one, so a
-- change is never lost between two refreshes.
CREATE TABLE chronicle.metrics_changes (
    hour         timestamptz NOT NULL,
    command_name text        NOT NULL
) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000);

COMMENT ON TABLE chronicle.metrics_changes IS
  'Hourly buckets changed since the last chronicle.refresh_metrics(), recorded by triggers on command_executions';

-- Raw executions before pruned_before were deleted by chronicle.prune_executions(); the
-- rollups of those hours are final.
CREATE TABLE chronicle.metrics_horizon (
    singleton     boolean     NOT NULL DEFAULT true,
    pruned_before timestamptz NOT NULL DEFAULT '-infinity',
    CONSTRAINT metrics_horizon_pkey PRIMARY KEY (singleton),
    CONSTRAINT metrics_horizon_singleton_check CHECK (singleton)
);
-- No row until the first prune (so a restored dump never meets a row the extension put
-- there itself).
COMMENT ON TABLE chronicle.metrics_horizon IS
  'At most one row: raw command executions before pruned_before were pruned, and the rollups of those hours and days are final';

-- Buckets the last refresh could not compute, and why: one bad row must not hold back
-- the metrics of every other bucket. A bucket leaves this table when a later refresh
-- computes it (any new change to it, or chronicle.retry_failed_metrics()).
CREATE TABLE chronicle.metrics_failures (
    hour         timestamptz NOT NULL,
    command_name text        NOT NULL,
    sqlstate     text        NOT NULL,
    message      text        NOT NULL,
    failed_at    timestamptz NOT NULL,
    CONSTRAINT metrics_failures_pkey PRIMARY KEY (hour, command_name)
);

COMMENT ON TABLE chronicle.metrics_failures IS
  'Hourly buckets chronicle.refresh_metrics() could not compute, with the error; the other buckets were refreshed';

CREATE TABLE chronicle.command_metrics_hourly (
    hour            timestamptz      NOT NULL,
    command_name    text             NOT NULL,
    executions      bigint           NOT NULL,
    successful      bigint           NOT NULL,
    failed          bigint           NOT NULL,
    avg_time_ms     double precision,
    duration_sketch chronicle.quantile_sketch,
    p50_time_ms     double precision,
    p95_time_ms     double precision,
    p99_time_ms     double precision,
    unique_users    bigint           NOT NULL,
    error_codes     text[]           NOT NULL,
    user_ids        uuid[]           NOT NULL,
    refreshed_at    timestamptz      NOT NULL,
    CONSTRAINT command_metrics_hourly_pkey PRIMARY KEY (hour, command_name)
);
CREATE INDEX command_metrics_hourly_command ON chronicle.command_metrics_hourly (command_name, hour);

CREATE TABLE chronicle.command_metrics_daily (
    date            date             NOT NULL,
    command_name    text             NOT NULL,
    executions      bigint           NOT NULL,
    successful      bigint           NOT NULL,
    failed          bigint           NOT NULL,
    avg_time_ms     double precision,
    duration_sketch chronicle.quantile_sketch,
    p50_time_ms     double precision,
    p95_time_ms     double precision,
    p99_time_ms     double precision,
    unique_users    bigint           NOT NULL,
    error_codes     text[]           NOT NULL,
    user_ids        uuid[]           NOT NULL,
    refreshed_at    timestamptz      NOT NULL,
    CONSTRAINT command_metrics_daily_pkey PRIMARY KEY (date, command_name)
);
CREATE INDEX command_metrics_daily_command ON chronicle.command_metrics_daily (command_name, date);

COMMENT ON TABLE chronicle.command_metrics_hourly IS
  'Per UTC hour and command: executions started, successful, failed, duration statistics and sketch, distinct users and error codes; maintained by chronicle.refresh_metrics()';
COMMENT ON TABLE chronicle.command_metrics_daily IS
  'Per UTC day and command, rolled up from the hourly metrics; maintained by chronicle.refresh_metrics()';
COMMENT ON COLUMN chronicle.command_metrics_hourly.executions IS 'Executions started in the hour (any status)';
COMMENT ON COLUMN chronicle.command_metrics_hourly.avg_time_ms IS 'Mean duration of the finished executions (exact)';
COMMENT ON COLUMN chronicle.command_metrics_hourly.duration_sketch IS 'Durations of the finished executions; chronicle.rollup() merges any range of hours';
COMMENT ON COLUMN chronicle.command_metrics_hourly.p95_time_ms IS 'Estimated 95th percentile duration, within the sketch''s relative error';
COMMENT ON COLUMN chronicle.command_metrics_hourly.unique_users IS 'Distinct users (exact)';
COMMENT ON COLUMN chronicle.command_metrics_hourly.user_ids IS 'The distinct users, so coarser grains count unique users exactly';
COMMENT ON COLUMN chronicle.command_metrics_hourly.error_codes IS 'Distinct error->>''code'' of the failed executions';
COMMENT ON COLUMN chronicle.command_metrics_daily.executions IS 'Executions started on the day (any status)';
COMMENT ON COLUMN chronicle.command_metrics_daily.duration_sketch IS 'Durations of the finished executions; chronicle.rollup() merges any range of days';
COMMENT ON COLUMN chronicle.command_metrics_daily.unique_users IS 'Distinct users (exact)';

-- Records the buckets a statement changed. Executions before the pruning horizon belong
-- to final buckets: writing one is refused.
CREATE FUNCTION chronicle.record_metrics_changes() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  horizon timestamptz := coalesce((SELECT pruned_before FROM chronicle.metrics_horizon), '-infinity');
  too_old timestamptz;
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    SELECT min(started_at) INTO too_old FROM new_executions WHERE started_at < horizon;
    IF too_old IS NOT NULL THEN
      RAISE EXCEPTION 'cannot record a command execution started at %: executions before % were pruned and their metrics are final',
        too_old, horizon
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
  END IF;
  IF TG_OP = 'INSERT' THEN
    INSERT INTO chronicle.metrics_changes (hour, command_name)
    SELECT DISTINCT date_trunc('hour', started_at, 'UTC'), command_name FROM new_executions;
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO chronicle.metrics_changes (hour, command_name)
    SELECT date_trunc('hour', started_at, 'UTC'), command_name FROM new_executions
     UNION
    SELECT date_trunc('hour', started_at, 'UTC'), command_name FROM old_executions WHERE started_at >= horizon;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO chronicle.metrics_changes (hour, command_name)
    SELECT DISTINCT date_trunc('hour', started_at, 'UTC'), command_name FROM old_executions
     WHERE started_at >= horizon;
  ELSE
    -- TRUNCATE names no rows: every bucket that is not final may have lost some.
    INSERT INTO chronicle.metrics_changes (hour, command_name)
    SELECT m.hour, m.command_name FROM chronicle.command_metrics_hourly m WHERE m.hour >= horizon;
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER command_executions_metrics_insert
    AFTER INSERT ON chronicle.command_executions
    REFERENCING NEW TABLE AS new_executions
    FOR EACH STATEMENT EXECUTE FUNCTION chronicle.record_metrics_changes();
CREATE TRIGGER command_executions_metrics_update
    AFTER UPDATE ON chronicle.command_executions
    REFERENCING OLD TABLE AS old_executions NEW TABLE AS new_executions
    FOR EACH STATEMENT EXECUTE FUNCTION chronicle.record_metrics_changes();
CREATE TRIGGER command_executions_metrics_delete
    AFTER DELETE ON chronicle.command_executions
    REFERENCING OLD TABLE AS old_executions
    FOR EACH STATEMENT EXECUTE FUNCTION chronicle.record_metrics_changes();
CREATE TRIGGER command_executions_metrics_truncate
    AFTER TRUNCATE ON chronicle.command_executions
    FOR EACH STATEMENT EXECUTE FUNCTION chronicle.record_metrics_changes();

COMMENT ON FUNCTION chronicle.record_metrics_changes() IS
  'Trigger: records the hourly buckets a statement on command_executions changed, for chronicle.refresh_metrics()';
