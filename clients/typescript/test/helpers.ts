// Connections to the test database (scripts/test.sh's scratch cluster: PGHOST, PGPORT,
// PGUSER, PGDATABASE), one of each kind the client accepts.
import { randomUUID } from 'node:crypto';
import { after } from 'node:test';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import pg from 'pg';
import postgres from 'postgres';
import type { Db } from '../src/index.js';

const host = process.env.PGHOST ?? '/tmp/pg_chronicle/regress';
const port = Number(process.env.PGPORT ?? 54331);
const user = process.env.PGUSER ?? 'postgres';
const database = process.env.PGDATABASE ?? 'chronicle_client';

export const pool = new pg.Pool({ host, port, user, database, max: 60 });
export const sql = postgres({
  ...(host.startsWith('/') ? { path: `${host}/.s.PGSQL.${port}` } : { host, port }),
  user, database, max: 60, onnotice: () => undefined,
});
after(async () => { await pool.end(); await sql.end(); });

/** Every kind of connection, named. */
export const connections: [string, Db][] = [
  ['node-postgres pool', pool],
  ['postgres.js', sql as unknown as Db],
  ['drizzle (node-postgres)', drizzlePg(pool) as unknown as Db],
  ['drizzle (postgres.js)', drizzlePostgres(sql) as unknown as Db],
];

/** An entity type no other test uses. */
export const uniqueType = (prefix: string) => `${prefix}_${randomUUID().slice(0, 8)}`;

/** Runs plain SQL as the superuser test role. */
export async function admin(text: string, values: unknown[] = []) {
  return (await pool.query(text, values)).rows;
}
