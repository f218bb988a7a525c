// The command tool's analytics call: a command's result recorded as a RudderStack track
// event through chronicle.track(), which validates it and redacts secrets in the database.
import { randomUUID } from 'node:crypto';
import { type Db } from './connection.js';
import { type TrackEvent, stripUndefined, track } from './executions.js';
import { type JsonObject } from './json.js';

/** What the command runner knows about one run. */
export interface CommandResult {
  command: string;
  category?: string;
  parameters?: JsonObject;
  success: boolean;
  durationMs: number;
  error?: { code?: string; message?: string };
  hooksExecuted?: string[];
  hooksBlocked?: string[];
  totalHookTimeMs?: number;
  stateReads?: number;
  stateWrites?: number;
  stateSizeBytes?: number;
  chainDepth?: number;
  chainCommands?: string[];
  /** When the command finished (default: now). */
  finishedAt?: Date;
}

/**
 * Records a command run (`AnalyticsIntegration.trackCommandExecution`): `command_executed`
 * or `command_failed`, for `userId` (or `anonymousId`), idempotent per `messageId` (a new
 * uuid unless given). Returns the execution id.
 */
export async function trackCommandExecution(
  db: Db, result: CommandResult,
  who: { userId?: string; anonymousId?: string; messageId?: string; context?: JsonObject } = {},
): Promise<string> {
  const event: TrackEvent = {
    type: 'track',
    event: result.success ? 'command_executed' : 'command_failed',
    userId: who.userId,
    anonymousId: who.anonymousId,
    messageId: who.messageId ?? randomUUID(),
    timestamp: (result.finishedAt ?? new Date()).toISOString(),
    context: who.context,
    properties: {
      command_name: result.command,
      command_category: result.category,
      execution_time_ms: result.durationMs,
      parameters: result.parameters ?? {},
      success: result.success,
      error_code: result.error?.code,
      error_message: result.error?.message,
      hooks_executed: result.hooksExecuted,
      hooks_blocked: result.hooksBlocked,
      total_hook_time_ms: result.totalHookTimeMs,
      state_reads: result.stateReads,
      state_writes: result.stateWrites,
      state_size_bytes: result.stateSizeBytes,
      chain_depth: result.chainDepth,
      chain_commands: result.chainCommands,
    },
  };
  return track(db, stripUndefined(event));
}
