// Command executions: start, finish, record and track, as in the README's "Command
// executions" section. Parameters, metadata and errors are redacted by the database.
import { optionalNumber, optionalText, optionalUuid, requireText, requireUuid } from './args.js';
import { type Db, queryOne } from './connection.js';
import { type JsonObject, type JsonValue, toJsonObjectText } from './json.js';
import { camelRow } from './rows.js';

export type ExecutionStatus = 'pending' | 'running' | 'success' | 'failed';

/** A row of `chronicle.command_executions` (timestamps as ISO 8601 text). */
export interface CommandExecution {
  id: string;
  commandName: string;
  userId: string | null;
  parameters: JsonObject;
  status: ExecutionStatus;
  startedAt: string;
  completedAt: string | null;
  durationMs: number | null;
  error: JsonValue | null;
  metadata: JsonValue | null;
  createdAt: string;
  updatedAt: string;
  commandCategory: string | null;
  hooksExecuted: string[];
  hooksBlocked: string[];
  totalHookTimeMs: number | null;
  chainDepth: number;
  chainCommands: string[];
  stateReads: number;
  stateWrites: number;
  stateSizeBytes: number | bigint;
  event: string | null;
  anonymousId: string | null;
  messageId: string | null;
  sentAt: string | null;
  receivedAt: string | null;
  context: JsonValue | null;
}

const objectOrNull = (value: unknown, what: string) =>
  value === undefined || value === null ? null : toJsonObjectText(value, what);

/** Records a running execution and returns its id (the user: the acting user unless `userId`). */
export async function startCommand(
  db: Db, commandName: string, parameters: JsonObject = {},
  options: { userId?: string; metadata?: JsonObject } = {},
): Promise<string> {
  const row = await queryOne<{ id: string }>(db,
    'SELECT chronicle.start_command($1, $2::text::jsonb, $3::uuid, $4::text::jsonb)::text AS id',
    [requireText(commandName, 'commandName'), toJsonObjectText(parameters ?? {}, 'parameters'),
     optionalUuid(options.userId, 'userId'), objectOrNull(options.metadata, 'metadata')]);
  return row.id;
}

/** Finishes an execution as success or failed and returns it as stored. */
export async function finishCommand(
  db: Db, id: string, status: 'success' | 'failed', error?: JsonObject,
): Promise<CommandExecution> {
  const row = await queryOne<{ execution: string }>(db,
    'SELECT to_jsonb(e)::text AS execution FROM chronicle.finish_command($1::uuid, $2, $3::text::jsonb) e',
    [requireUuid(id, 'id'), requireText(status, 'status'), objectOrNull(error, 'error')]);
  return camelRow<CommandExecution>(row.execution);
}

/** Records an execution that already finished; returns its id. */
export async function recordCommand(
  db: Db, commandName: string, parameters: JsonObject = {},
  options: { userId?: string; status?: 'success' | 'failed'; durationMs?: number; error?: JsonObject; metadata?: JsonObject } = {},
): Promise<string> {
  const row = await queryOne<{ id: string }>(db,
    `SELECT chronicle.record_command($1, $2::text::jsonb, $3::uuid, coalesce($4, 'success'), $5::float8,
                                     $6::text::jsonb, $7::text::jsonb)::text AS id`,
    [requireText(commandName, 'commandName'), toJsonObjectText(parameters ?? {}, 'parameters'),
     optionalUuid(options.userId, 'userId'), optionalText(options.status, 'status'),
     optionalNumber(options.durationMs, 'durationMs'), objectOrNull(options.error, 'error'),
     objectOrNull(options.metadata, 'metadata')]);
  return row.id;
}

/** A RudderStack track call as `chronicle.track()` accepts it. */
export interface TrackEvent {
  type?: 'track';
  event: 'command_executed' | 'command_failed' | 'hook_blocked';
  userId?: string;
  anonymousId?: string;
  messageId?: string;
  timestamp?: string;
  originalTimestamp?: string;
  sentAt?: string;
  receivedAt?: string;
  context?: JsonObject;
  properties: {
    command_name: string;
    command_category?: string;
    execution_time_ms?: number;
    parameters?: JsonObject;
    success?: boolean;
    error_code?: string;
    error_message?: string;
    hooks_executed?: string[];
    hooks_blocked?: string[];
    total_hook_time_ms?: number;
    state_reads?: number;
    state_writes?: number;
    state_size_bytes?: number;
    chain_depth?: number;
    chain_commands?: string[];
    [key: string]: JsonValue | undefined;
  };
}

/** Records a track call (idempotent per messageId and sender); returns the execution id. */
export async function track(db: Db, event: TrackEvent): Promise<string> {
  const row = await queryOne<{ id: string }>(db, 'SELECT chronicle.track($1::text::jsonb)::text AS id',
    [toJsonObjectText(stripUndefined(event), 'event')]);
  return row.id;
}

/** Drops undefined members (optional fields left out), so they are absent rather than refused. */
export function stripUndefined<T>(value: T, seen: WeakSet<object> = new WeakSet()): T {
  if (value === null || typeof value !== 'object' || seen.has(value)) return value; // a cycle is reported by toJsonText
  seen.add(value);
  let result: unknown = value;
  if (Array.isArray(value)) result = value.map((item) => stripUndefined(item, seen));
  else if (Object.getPrototypeOf(value) === Object.prototype) {
    result = Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, stripUndefined(v, seen)]));
  }
  seen.delete(value);
  return result as T;
}
