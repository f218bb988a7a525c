// One way to run a statement, whatever the caller holds: a Drizzle database or
// transaction, a node-postgres Client, Pool or PoolClient, or a postgres.js sql (or its
// transaction). Statements are written with $1, $2, … placeholders; results come back as
// plain rows. Every call casts its results in SQL (jsonb to text, timestamps to ISO text),
// so rows look the same through every driver and nothing is lost on the way.
import { toChronicleError } from './errors.js';

/** What the calls accept as a connection. */
export type Db = DrizzleLike | NodePgLike | PostgresJsLike;

/** A Drizzle database or transaction (node-postgres or postgres.js underneath). */
export interface DrizzleLike {
  execute(query: unknown): Promise<unknown>;
  transaction<T>(fn: (tx: any) => Promise<T>): Promise<T>;
}
/** A node-postgres Client, Pool or PoolClient. */
export interface NodePgLike {
  query(text: string, values?: unknown[]): Promise<{ rows: any[] }>;
}
/** A postgres.js `sql` (or the `sql` of a transaction). */
export interface PostgresJsLike {
  (...args: any[]): any;
  unsafe(text: string, values?: any[]): PromiseLike<any[]>;
}

export type Row = Record<string, unknown>;
type Kind = 'drizzle' | 'postgres' | 'pg';

function kindOf(db: unknown): Kind {
  if (typeof db === 'function' && typeof (db as PostgresJsLike).unsafe === 'function') return 'postgres';
  if (db !== null && typeof db === 'object') {
    const candidate = db as Record<string, unknown>;
    if (typeof candidate.execute === 'function' && typeof candidate.transaction === 'function' && '_' in candidate) {
      return 'drizzle';
    }
    if (typeof candidate.query === 'function') return 'pg';
  }
  throw new TypeError('db must be a Drizzle database or transaction, a node-postgres client or pool, or a postgres.js sql');
}

let drizzleSql: typeof import('drizzle-orm').sql | undefined;

async function drizzleQuery(text: string, params: unknown[]): Promise<unknown> {
  drizzleSql ??= (await import('drizzle-orm')).sql;
  const sql = drizzleSql;
  const chunks = text.split(/\$(\d+)/);
  const parts = chunks.map((chunk, i) => (i % 2 === 0 ? sql.raw(chunk) : sql`${params[Number(chunk) - 1]}`));
  return sql.join(parts);
}

/** Runs `text` with `params` and returns its rows; database errors become typed errors. */
export async function query<T extends Row = Row>(db: Db, text: string, params: unknown[] = []): Promise<T[]> {
  const kind = kindOf(db);
  try {
    switch (kind) {
      case 'postgres':
        return Array.from(await (db as PostgresJsLike).unsafe(text, params as any[])) as T[];
      case 'pg':
        return (await (db as NodePgLike).query(text, params)).rows as T[];
      case 'drizzle': {
        const result = await (db as DrizzleLike).execute(await drizzleQuery(text, params));
        const rows = Array.isArray(result) ? result : (result as { rows: unknown[] }).rows;
        return Array.from(rows) as T[];
      }
    }
  } catch (error) {
    throw toChronicleError(error);
  }
}

/** The single row of a statement that returns exactly one. */
export async function queryOne<T extends Row = Row>(db: Db, text: string, params: unknown[] = []): Promise<T> {
  const rows = await query<T>(db, text, params);
  if (rows.length !== 1) throw new Error(`expected one row from: ${text.trim().split('\n')[0]}; got ${rows.length}`);
  return rows[0] as T;
}

/** Runs `fn` in a transaction on `db` (a Drizzle transaction given as `db` nests a savepoint). */
export async function inTransaction<T>(db: Db, fn: (tx: Db) => Promise<T>): Promise<T> {
  const kind = kindOf(db);
  if (kind === 'drizzle') return (db as DrizzleLike).transaction((tx) => fn(tx as Db));
  if (kind === 'postgres') {
    const begin = (db as unknown as { begin?: (fn: (tx: PostgresJsLike) => Promise<T>) => Promise<T> }).begin;
    if (typeof begin !== 'function') {
      throw new TypeError('a postgres.js transaction cannot start another; pass the top-level sql');
    }
    return begin.call(db, (tx) => fn(tx));
  }
  const pg = db as NodePgLike & { connect?: () => Promise<NodePgLike & { release(error?: unknown): void }>; totalCount?: number };
  const pooled = typeof pg.connect === 'function' && typeof pg.totalCount === 'number';
  const client = pooled ? await pg.connect!() : pg;
  try {
    await client.query('BEGIN');
    try {
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  } finally {
    if (pooled) (client as unknown as { release(): void }).release();
  }
}
