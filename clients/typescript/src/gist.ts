// Gist targets and the export queue's numbers.
import { optionalText, requireText } from './args.js';
import { type Db, queryOne } from './connection.js';

export interface GistTarget {
  entityType: string;
  gistId: string;
  filenameTemplate: string;
  mode: 'latest' | 'every_version';
  enabled: boolean;
}

/** Exports an entity type's states to a Gist (one file per entity); returns the stored target. */
export async function setGistTarget(
  db: Db, entityType: string, gistId: string,
  options: { filenameTemplate?: string; mode?: 'latest' | 'every_version' } = {},
): Promise<GistTarget> {
  const row = await queryOne<{ entity_type: string; gist_id: string; filename_template: string; mode: GistTarget['mode']; enabled: boolean }>(db,
    `SELECT t.entity_type, t.gist_id, t.filename_template, t.mode, t.enabled
       FROM chronicle.set_gist_target($1, $2, coalesce($3, '{entity_type}.{entity_id}.json'), coalesce($4, 'latest')) t`,
    [requireText(entityType, 'entityType'), requireText(gistId, 'gistId'),
     optionalText(options.filenameTemplate, 'filenameTemplate'), optionalText(options.mode, 'mode')]);
  return { entityType: row.entity_type, gistId: row.gist_id, filenameTemplate: row.filename_template, mode: row.mode, enabled: row.enabled };
}

/** Stops exporting an entity type; false if it had no target. */
export async function removeGistTarget(db: Db, entityType: string): Promise<boolean> {
  const row = await queryOne<{ removed: boolean }>(db, 'SELECT chronicle.remove_gist_target($1) AS removed',
    [requireText(entityType, 'entityType')]);
  return row.removed;
}

/** The export queue's state (`chronicle.export_stats()`). */
export interface ExportStats {
  pending: number;
  inFlight: number;
  done: number;
  dead: number;
  /** Age of the oldest pending export in seconds; null when none is pending. */
  oldestPendingSeconds: number | null;
  /** Exports delivered per minute over the last ten minutes. */
  drainPerMinute: number;
  /** Seconds the backlog takes at that rate; null when nothing is pending or nothing was delivered lately. */
  estimatedDrainSeconds: number | null;
}

export async function exportStats(db: Db): Promise<ExportStats> {
  const row = await queryOne<{
    pending: string; in_flight: string; done: string; dead: string; oldest: number | null; drain: number;
    drain_time: number | null;
  }>(db,
    `SELECT pending::text AS pending, in_flight::text AS in_flight, done::text AS done, dead::text AS dead,
            extract(epoch FROM oldest_pending_age)::float8 AS oldest, drain_per_minute AS drain,
            extract(epoch FROM estimated_drain_time)::float8 AS drain_time
       FROM chronicle.export_stats()`);
  return {
    pending: Number(row.pending), inFlight: Number(row.in_flight), done: Number(row.done), dead: Number(row.dead),
    oldestPendingSeconds: row.oldest === null ? null : Number(row.oldest),
    drainPerMinute: Number(row.drain),
    estimatedDrainSeconds: row.drain_time === null ? null : Number(row.drain_time),
  };
}

/** The Gist file name an entity's state is exported to (its type's template applied). */
export async function gistFileName(db: Db, entityType: string, entityId: string): Promise<string | null> {
  const row = await queryOne<{ name: string | null }>(db, 'SELECT chronicle.gist_file_name($1, $2) AS name',
    [requireText(entityType, 'entityType'), requireText(entityId, 'entityId')]);
  return row.name;
}
