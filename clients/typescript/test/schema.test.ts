// The Drizzle schema matches the catalog exactly: every relation a user reads, every
// column with its type and nullability. A column added to the extension without the
// client, or a relation added without the client, fails here.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { is } from 'drizzle-orm';
import { getTableConfig, getViewConfig, PgTable, type PgColumn } from 'drizzle-orm/pg-core';
import { relations } from '../src/schema.js';
import { admin } from './helpers.js';

it('every chronicle relation a user reads is declared, with the catalog\'s columns', async () => {
  const catalog = await admin(`
    SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull
      FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE c.relnamespace = 'chronicle'::regnamespace AND c.relname = ANY($1)
     ORDER BY c.relname, a.attnum`, [Object.keys(relations)]);
  for (const [relation, declared] of Object.entries(relations)) {
    const columns: PgColumn[] = is(declared, PgTable)
      ? getTableConfig(declared).columns
      : Object.values(getViewConfig(declared as never).selectedFields as Record<string, PgColumn>);
    const fromDrizzle = columns.map((c) => `${c.name} ${c.getSQLType()} ${is(declared, PgTable) ? c.notNull : false}`);
    const fromCatalog = catalog.filter((r) => r.relname === relation).map((r) => `${r.attname} ${r.type} ${r.attnotnull}`);
    assert.ok(fromCatalog.length > 0, `${relation} is not in the catalog`);
    assert.deepEqual(fromDrizzle, fromCatalog, relation);
  }
});

it('the state, execution, metrics, export and schema relations are all covered', async () => {
  // The extension's relations a user reads, minus storage and internals the client does not expose
  // (the exporters' shared write budget among them: chronicle-gist's, not an application's).
  const internal = new Set(['state_versions', 'state_deletions', 'state_entities', 'gist_export_queue',
    'gist_export_outbox', 'gist_export_deliveries', 'gist_imports', 'metrics_changes', 'metrics_horizon',
    'metrics_failures', 'gist_write_log', 'gist_rate_limit']);
  const all = (await admin(`SELECT relname FROM pg_class WHERE relnamespace = 'chronicle'::regnamespace
                              AND relkind IN ('r', 'v', 'm', 'p') ORDER BY relname`)).map((r) => r.relname as string);
  const uncovered = all.filter((name) => !internal.has(name) && !(name in relations));
  assert.deepEqual(uncovered, [], 'relations of the extension the client does not declare');
});
