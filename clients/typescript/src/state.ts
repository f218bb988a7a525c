// Versioned state: the calls of the README's "Versioned state" section, in its order and
// with its arguments (required ones positional, optional ones in a trailing object).
import { isoText, optionalInteger, optionalUuid, requireInteger, requireText, requireTimestamp } from './args.js';
import { type Db, query, queryOne } from './connection.js';
import { type JsonValue, parseJson, toJsonObjectText, toStateText } from './json.js';

/** One version of an entity's state (`chronicle.state_history`). */
export interface StateVersion<T = JsonValue> {
  version: number;
  /** When it became current: ISO 8601 in UTC with microseconds. */
  validFrom: string;
  /** When it stopped being current; null while current. */
  validTo: string | null;
  state: T;
  /** SHA-256 of the state's canonical JSON. */
  checksum: string;
  commandId: string | null;
  createdBy: string | null;
  /** The entity type's schema version it was validated against; null when none. */
  schemaVersion: number | null;
}

/** One RFC 6902 operation. */
export interface JsonPatchOperation {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  from?: string;
  value?: JsonValue;
}

function key(entityType: unknown, entityId: unknown): [string, string] {
  return [requireText(entityType, 'entityType'), requireText(entityId, 'entityId')];
}

/**
 * Writes a new version and returns its number (the current one when the state is
 * unchanged). With `expectedVersion` it is a compare-and-set: VersionConflictError when
 * another writer got there first (0 means "has no current version").
 */
export async function putState(
  db: Db, entityType: string, entityId: string, state: JsonValue,
  options: { expectedVersion?: number; commandId?: string } = {},
): Promise<number> {
  const row = await queryOne<{ version: number }>(db,
    'SELECT chronicle.put_state($1, $2, $3::text::jsonb, $4::int, $5::uuid) AS version',
    [...key(entityType, entityId), toStateText(state),
     optionalInteger(options.expectedVersion, 'expectedVersion'), optionalUuid(options.commandId, 'commandId')]);
  return row.version;
}

/** Applies an RFC 7396 merge patch to the current state (or to {}) atomically; returns the resulting version. */
export async function patchState(
  db: Db, entityType: string, entityId: string, patch: { [key: string]: JsonValue },
  options: { commandId?: string } = {},
): Promise<number> {
  const row = await queryOne<{ version: number }>(db,
    'SELECT chronicle.patch_state($1, $2, $3::text::jsonb, $4::uuid) AS version',
    [...key(entityType, entityId), toJsonObjectText(patch, 'patch'), optionalUuid(options.commandId, 'commandId')]);
  return row.version;
}

/** The current state, or null when the entity has none. */
export async function getState<T = JsonValue>(db: Db, entityType: string, entityId: string): Promise<T | null> {
  const row = await queryOne<{ state: string | null }>(db,
    'SELECT chronicle.get_state($1, $2)::text AS state', key(entityType, entityId));
  return parseJson<T>(row.state);
}

/** The current version number, or null. */
export async function stateVersion(db: Db, entityType: string, entityId: string): Promise<number | null> {
  const row = await queryOne<{ version: number | null }>(db,
    'SELECT chronicle.state_version($1, $2) AS version', key(entityType, entityId));
  return row.version;
}

/** The state in force at `at`, or null (before the first version, or while deleted). */
export async function stateAsOf<T = JsonValue>(db: Db, entityType: string, entityId: string, at: Date | string): Promise<T | null> {
  const row = await queryOne<{ state: string | null }>(db,
    'SELECT chronicle.state_as_of($1, $2, $3::timestamptz)::text AS state',
    [...key(entityType, entityId), requireTimestamp(at, 'at')]);
  return parseJson<T>(row.state);
}

/** Every version, oldest first. */
export async function stateHistory<T = JsonValue>(db: Db, entityType: string, entityId: string): Promise<StateVersion<T>[]> {
  const rows = await query<{
    version: number; valid_from: string; valid_to: string | null; state: string; checksum: string;
    command_id: string | null; created_by: string | null; schema_version: number | null;
  }>(db,
    `SELECT h.version, ${isoText('h.valid_from')} AS valid_from, ${isoText('h.valid_to')} AS valid_to,
            h.state::text AS state, h.checksum, h.command_id::text AS command_id,
            h.created_by::text AS created_by, h.schema_version
       FROM chronicle.state_history($1, $2) h ORDER BY h.version`, key(entityType, entityId));
  return rows.map((r) => ({
    version: r.version, validFrom: r.valid_from, validTo: r.valid_to, state: parseJson<T>(r.state) as T,
    checksum: r.checksum, commandId: r.command_id, createdBy: r.created_by, schemaVersion: r.schema_version,
  }));
}

/** The RFC 6902 JSON Patch from one version to another. */
export async function stateDiff(
  db: Db, entityType: string, entityId: string, fromVersion: number, toVersion: number,
): Promise<JsonPatchOperation[]> {
  const row = await queryOne<{ diff: string }>(db,
    'SELECT chronicle.state_diff($1, $2, $3::int, $4::int)::text AS diff',
    [...key(entityType, entityId), requireInteger(fromVersion, 'fromVersion'), requireInteger(toVersion, 'toVersion')]);
  return parseJson<JsonPatchOperation[]>(row.diff) ?? [];
}

/** Writes an earlier version's state as a new version; returns the resulting version. */
export async function revertState(
  db: Db, entityType: string, entityId: string, toVersion: number, options: { commandId?: string } = {},
): Promise<number> {
  const row = await queryOne<{ version: number }>(db,
    'SELECT chronicle.revert_state($1, $2, $3::int, $4::uuid) AS version',
    [...key(entityType, entityId), requireInteger(toVersion, 'toVersion'), optionalUuid(options.commandId, 'commandId')]);
  return row.version;
}

/** Ends the current version (history stays); false if there was none. */
export async function deleteState(db: Db, entityType: string, entityId: string): Promise<boolean> {
  const row = await queryOne<{ deleted: boolean }>(db,
    'SELECT chronicle.delete_state($1, $2) AS deleted', key(entityType, entityId));
  return row.deleted;
}
