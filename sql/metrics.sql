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
