// State schemas: the JSON Schema the database checks every write of an entity type against.
import { requireText } from './args.js';
import { type Db, query, queryOne } from './connection.js';
import { type JsonObject, type JsonValue, parseJson, toJsonText } from './json.js';

export interface SchemaViolation {
  /** JSON Pointer of the failing value in the state ("" for the whole state). */
  path: string;
  keyword: string;
  /** JSON Pointer of the keyword in the schema. */
  schema_path: string;
  message: string;
}

/** Attaches a JSON Schema to an entity type; returns the schema version. */
export async function setStateSchema(
  db: Db, entityType: string, schema: JsonObject | boolean, options: { mode?: 'enforce' | 'warn' } = {},
): Promise<number> {
  const row = await queryOne<{ version: number }>(db,
    `SELECT chronicle.set_state_schema($1, $2::text::jsonb, coalesce($3, 'enforce')) AS version`,
    [requireText(entityType, 'entityType'), toJsonText(schema, 'schema'), options.mode ?? null]);
  return row.version;
}

/** Removes an entity type's schema; false if it had none. */
export async function dropStateSchema(db: Db, entityType: string): Promise<boolean> {
  const row = await queryOne<{ dropped: boolean }>(db, 'SELECT chronicle.drop_state_schema($1) AS dropped',
    [requireText(entityType, 'entityType')]);
  return row.dropped;
}

/** The current schema of every entity type that has one. */
export async function stateSchemas(db: Db): Promise<{ entityType: string; schemaVersion: number; mode: 'enforce' | 'warn'; schema: JsonValue }[]> {
  const rows = await query<{ entity_type: string; schema_version: number; mode: 'enforce' | 'warn'; schema: string }>(db,
    `SELECT entity_type, schema_version, mode, schema::text AS schema FROM chronicle.current_state_schemas
      WHERE mode <> 'dropped' ORDER BY entity_type`);
  return rows.map((r) => ({ entityType: r.entity_type, schemaVersion: r.schema_version, mode: r.mode, schema: parseJson(r.schema) }));
}

/** The dry run: current states of the type failing `schema` (or the schema in force). */
export async function validateStates(
  db: Db, entityType: string, options: { schema?: JsonObject | boolean } = {},
): Promise<{ entityId: string; version: number; violations: SchemaViolation[] }[]> {
  const rows = await query<{ entity_id: string; version: number; violations: string }>(db,
    'SELECT entity_id, version, violations::text AS violations FROM chronicle.validate_states($1, $2::text::jsonb)',
    [requireText(entityType, 'entityType'), options.schema === undefined ? null : toJsonText(options.schema, 'schema')]);
  return rows.map((r) => ({ entityId: r.entity_id, version: r.version, violations: parseJson<SchemaViolation[]>(r.violations) ?? [] }));
}

/** The violations of any JSON value against any JSON Schema ([] when it conforms), up to 20. */
export async function jsonSchemaViolations(db: Db, schema: JsonObject | boolean, document: JsonValue): Promise<SchemaViolation[]> {
  const row = await queryOne<{ violations: string }>(db,
    'SELECT chronicle.json_schema_violations($1::text::jsonb, $2::text::jsonb)::text AS violations',
    [toJsonText(schema, 'schema'), toJsonText(document, 'document')]);
  return parseJson<SchemaViolation[]>(row.violations) ?? [];
}
