// The tables and views of the `chronicle` schema as Drizzle sees them, for typed reads.
// The extension owns them: views are declared `.existing()`, and an app's drizzle-kit
// config must leave the schema alone (schemaFilter: ['public'], see drizzle.config.example.ts).
// Column types match the catalog exactly; test/schema.test.ts compares them on every run.
// Timestamps are read as ISO strings (mode 'string') so microseconds survive.
import {
  bigint, boolean, customType, date, doublePrecision, integer, jsonb, pgSchema, text, timestamp, uuid,
} from 'drizzle-orm/pg-core';

export const chronicle = pgSchema('chronicle');

const tstz = (name: string) => timestamp(name, { withTimezone: true, mode: 'string' });

/** `chronicle.quantile_sketch`, read as its text form. */
export const quantileSketch = customType<{ data: string }>({ dataType: () => 'chronicle.quantile_sketch' });

export const currentState = chronicle.view('current_state', {
  entityType: text('entity_type'),
  entityId: text('entity_id'),
  state: jsonb('state'),
  version: integer('version'),
  validFrom: tstz('valid_from'),
  createdBy: uuid('created_by'),
  commandId: uuid('command_id'),
  checksum: text('checksum'),
}).existing();

export const stateStore = chronicle.view('state_store', {
  id: uuid('id'),
  entityType: text('entity_type'),
  entityId: text('entity_id'),
  state: jsonb('state'),
  version: integer('version'),
  validFrom: tstz('valid_from'),
  validTo: tstz('valid_to'),
  createdBy: uuid('created_by'),
  commandId: uuid('command_id'),
  checksum: text('checksum'),
  schemaVersion: integer('schema_version'),
}).existing();

export const commandExecutions = chronicle.table('command_executions', {
  id: uuid('id').notNull().defaultRandom().primaryKey(),
  commandName: text('command_name').notNull(),
  userId: uuid('user_id'),
  parameters: jsonb('parameters').notNull().default({}),
  status: text('status').notNull().default('pending'),
  startedAt: tstz('started_at').notNull().defaultNow(),
  completedAt: tstz('completed_at'),
  durationMs: doublePrecision('duration_ms'),
  error: jsonb('error'),
  metadata: jsonb('metadata'),
  createdAt: tstz('created_at').notNull().defaultNow(),
  updatedAt: tstz('updated_at').notNull().defaultNow(),
  commandCategory: text('command_category'),
  hooksExecuted: text('hooks_executed').array().notNull().default([]),
  hooksBlocked: text('hooks_blocked').array().notNull().default([]),
  totalHookTimeMs: doublePrecision('total_hook_time_ms'),
  chainDepth: integer('chain_depth').notNull().default(0),
  chainCommands: text('chain_commands').array().notNull().default([]),
  stateReads: integer('state_reads').notNull().default(0),
  stateWrites: integer('state_writes').notNull().default(0),
  stateSizeBytes: bigint('state_size_bytes', { mode: 'number' }).notNull().default(0),
  event: text('event'),
  anonymousId: text('anonymous_id'),
  messageId: text('message_id'),
  sentAt: tstz('sent_at'),
  receivedAt: tstz('received_at'),
  context: jsonb('context'),
});

export const commandEvents = chronicle.view('command_events', {
  id: text('id'),
  anonymousId: text('anonymous_id'),
  userId: text('user_id'),
  event: text('event'),
  sentAt: tstz('sent_at'),
  receivedAt: tstz('received_at'),
  timestamp: tstz('timestamp'),
  context: jsonb('context'),
  properties: jsonb('properties'),
}).existing();

const metricsColumns = {
  commandName: text('command_name').notNull(),
  executions: bigint('executions', { mode: 'number' }).notNull(),
  successful: bigint('successful', { mode: 'number' }).notNull(),
  failed: bigint('failed', { mode: 'number' }).notNull(),
  avgTimeMs: doublePrecision('avg_time_ms'),
  durationSketch: quantileSketch('duration_sketch'),
  p50TimeMs: doublePrecision('p50_time_ms'),
  p95TimeMs: doublePrecision('p95_time_ms'),
  p99TimeMs: doublePrecision('p99_time_ms'),
  uniqueUsers: bigint('unique_users', { mode: 'number' }).notNull(),
  errorCodes: text('error_codes').array().notNull(),
  userIds: uuid('user_ids').array().notNull(),
  refreshedAt: tstz('refreshed_at').notNull(),
};

export const commandMetricsHourly = chronicle.table('command_metrics_hourly', {
  hour: tstz('hour').notNull(),
  ...metricsColumns,
});

export const commandMetricsDaily = chronicle.table('command_metrics_daily', {
  date: date('date', { mode: 'string' }).notNull(),
  ...metricsColumns,
});

export const commandPerformance = chronicle.view('command_performance', {
  commandName: text('command_name'),
  hour: tstz('hour'),
  executions: bigint('executions', { mode: 'number' }),
  avgDuration: doublePrecision('avg_duration'),
  p95Duration: doublePrecision('p95_duration'),
  failures: bigint('failures', { mode: 'number' }),
}).existing();

export const gistTargets = chronicle.table('gist_targets', {
  entityType: text('entity_type').notNull().primaryKey(),
  gistId: text('gist_id').notNull(),
  filenameTemplate: text('filename_template').notNull().default('{entity_type}.{entity_id}.json'),
  mode: text('mode').notNull().default('latest'),
  enabled: boolean('enabled').notNull().default(true),
  updatedAt: tstz('updated_at').notNull().defaultNow(),
});

export const stateSchemas = chronicle.table('state_schemas', {
  entityType: text('entity_type').notNull(),
  schemaVersion: integer('schema_version').notNull(),
  schema: jsonb('schema'),
  mode: text('mode').notNull(),
  setAt: tstz('set_at').notNull(),
  setBy: uuid('set_by'),
  setByRole: text('set_by_role').notNull(),
});

export const currentStateSchemas = chronicle.view('current_state_schemas', {
  entityType: text('entity_type'),
  schemaVersion: integer('schema_version'),
  schema: jsonb('schema'),
  mode: text('mode'),
  setAt: tstz('set_at'),
  setBy: uuid('set_by'),
  setByRole: text('set_by_role'),
}).existing();

export const stateSchemaViolations = chronicle.table('state_schema_violations', {
  entityType: text('entity_type').notNull(),
  entityId: text('entity_id').notNull(),
  version: integer('version').notNull(),
  schemaVersion: integer('schema_version').notNull(),
  violations: jsonb('violations').notNull(),
  recordedAt: tstz('recorded_at').notNull(),
});

/** Every relation above, by its SQL name (what the schema test compares with the catalog). */
export const relations = {
  current_state: currentState,
  state_store: stateStore,
  command_executions: commandExecutions,
  command_events: commandEvents,
  command_metrics_hourly: commandMetricsHourly,
  command_metrics_daily: commandMetricsDaily,
  command_performance: commandPerformance,
  gist_targets: gistTargets,
  state_schemas: stateSchemas,
  current_state_schemas: currentStateSchemas,
  state_schema_violations: stateSchemaViolations,
} as const;
