// Metrics from the hourly rollups: what a dashboard asks, without reading raw executions.
import { optionalText, requireText, requireTimestamp } from './args.js';
import { type Db, query, queryOne } from './connection.js';

/** Counts and percentiles of one command's executions over a time range. */
export interface CommandPercentiles {
  commandName: string;
  executions: number;
  successful: number;
  failed: number;
  /** Milliseconds; null when no execution in the range has a duration. */
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/**
 * p50/p95/p99 of `commandName` over [from, to), merged from the hourly sketches (whole
 * UTC hours: an hour is counted when it starts in the range). Reflects the last
 * `chronicle.refresh_metrics()`.
 */
export async function commandPercentiles(
  db: Db, commandName: string, range: { from: Date | string; to: Date | string },
): Promise<CommandPercentiles> {
  const row = await queryOne<{ executions: string; successful: string; failed: string; p: number[] | string | null }>(db,
    `SELECT coalesce(sum(h.executions), 0)::text AS executions, coalesce(sum(h.successful), 0)::text AS successful,
            coalesce(sum(h.failed), 0)::text AS failed,
            chronicle.approx_percentiles(chronicle.rollup(h.duration_sketch), ARRAY[0.5, 0.95, 0.99])::text AS p
       FROM chronicle.command_metrics_hourly h
      WHERE h.command_name = $1 AND h.hour >= $2::timestamptz AND h.hour < $3::timestamptz`,
    [requireText(commandName, 'commandName'), requireTimestamp(range.from, 'from'), requireTimestamp(range.to, 'to')]);
  const p = typeof row.p === 'string' ? row.p.replace(/[{}]/g, '').split(',').map(Number) : null;
  return {
    commandName, executions: Number(row.executions), successful: Number(row.successful), failed: Number(row.failed),
    p50: p?.[0] ?? null, p95: p?.[1] ?? null, p99: p?.[2] ?? null,
  };
}

/** What one refresh did. */
export interface RefreshResult {
  hourlyBuckets: number;
  dailyBuckets: number;
  executionsRead: number;
  milliseconds: number;
}

/** Brings the rollups up to date (incremental). Needs an administrator's rights. */
export async function refreshMetrics(db: Db): Promise<RefreshResult> {
  const rows = await query<{ hourly_buckets: number; daily_buckets: number; executions_read: string; milliseconds: number }>(db,
    'SELECT hourly_buckets, daily_buckets, executions_read::text AS executions_read, milliseconds FROM chronicle.refresh_metrics()');
  const r = rows[0];
  return {
    hourlyBuckets: r?.hourly_buckets ?? 0, dailyBuckets: r?.daily_buckets ?? 0,
    executionsRead: Number(r?.executions_read ?? 0), milliseconds: r?.milliseconds ?? 0,
  };
}

/** Re-queues the buckets listed in chronicle.metrics_failures for the next refresh; returns how many. */
export async function retryFailedMetrics(db: Db): Promise<number> {
  const row = await queryOne<{ n: string }>(db, 'SELECT chronicle.retry_failed_metrics()::text AS n');
  return Number(row.n);
}

/**
 * Refreshes, then deletes raw executions of whole UTC days older than `olderThan` (an
 * interval such as '90 days'); their rollups stay. Returns how many were deleted.
 */
export async function pruneExecutions(db: Db, olderThan: string): Promise<number> {
  const row = await queryOne<{ n: string }>(db, 'SELECT chronicle.prune_executions($1::interval)::text AS n',
    [requireText(olderThan, 'olderThan')]);
  return Number(row.n);
}

/** Schedules chronicle.refresh_metrics() with pg_cron (default every 5 minutes); returns the job id. */
export async function scheduleRefresh(db: Db, options: { schedule?: string } = {}): Promise<number> {
  const row = await queryOne<{ job: string }>(db,
    "SELECT chronicle.schedule_refresh(coalesce($1, '*/5 * * * *'))::text AS job", [optionalText(options.schedule, 'schedule')]);
  return Number(row.job);
}

/** Removes the pg_cron job; false if there was none. */
export async function unscheduleRefresh(db: Db): Promise<boolean> {
  const row = await queryOne<{ removed: boolean }>(db, 'SELECT chronicle.unschedule_refresh() AS removed');
  return row.removed;
}
