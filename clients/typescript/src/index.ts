// pg-chronicle: a typed client for the pg_chronicle PostgreSQL extension. Every call
// takes the connection first (a Drizzle database or transaction, a node-postgres client
// or pool, or a postgres.js sql), then the SQL function's required arguments in SQL order,
// then an options object with the optional ones.
export type { Db } from './connection.js';
export { inTransaction } from './connection.js';
export * from './errors.js';
export { type JsonObject, type JsonValue, LosslessNumber, parseJson } from './json.js';
export * from './state.js';
export * from './executions.js';
export * from './metrics.js';
export * from './gist.js';
export * from './schemas.js';
export { currentUserId, withSupabaseUser } from './identity.js';
export { stateSchemaTypes, typeNameOf } from './types.js';
export { type CommandResult, trackCommandExecution } from './analytics.js';
