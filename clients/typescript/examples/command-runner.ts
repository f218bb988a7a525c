// A tiny command runner on pg_chronicle: each run writes the command's state, records the
// execution through the analytics call, and the dashboard numbers come from the rollups.
//   npm run example            (against the demo database: PGHOST/PGPORT/PGDATABASE)
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { drizzle } from 'drizzle-orm/node-postgres';
import { desc, eq } from 'drizzle-orm';
import {
  commandPercentiles, getState, patchState, putState, refreshMetrics, trackCommandExecution, VersionConflictError,
} from '../src/index.js';
import { currentState } from '../src/schema.js';

const pool = new pg.Pool({
  host: process.env.PGHOST ?? '/tmp/pg_chronicle/demo',
  port: Number(process.env.PGPORT ?? 54320),
  user: process.env.PGUSER ?? 'postgres',
  database: process.env.PGDATABASE ?? 'chronicle_demo',
});
const db = drizzle(pool);
const userId = randomUUID();

async function run(command: string, work: () => Promise<void>) {
  const started = performance.now();
  let error: { code: string; message: string } | undefined;
  try { await work(); } catch (e) { error = { code: (e as { sqlstate?: string }).sqlstate ?? 'E_RUN', message: String(e) }; }
  const durationMs = performance.now() - started;
  await trackCommandExecution(db, { command, success: !error, durationMs, error, stateWrites: 1 }, { userId });
  console.log(`${command}: ${error ? `failed (${error.code})` : 'ok'} in ${durationMs.toFixed(1)} ms`);
}

const runner = `runner-${userId.slice(0, 8)}`;
await run('init', async () => { await putState(db, 'command_state', runner, { runs: 0, last: null }); });
for (let i = 1; i <= 5; i++) {
  await run('step', async () => { await patchState(db, 'command_state', runner, { runs: i, last: `step ${i}` }); });
}
// A stale compare-and-set: the runner's state moved on since version 1.
await run('stale-update', async () => {
  try { await putState(db, 'command_state', runner, { runs: -1 }, { expectedVersion: 1 }); }
  catch (e) { if (e instanceof VersionConflictError) console.log(`  conflict: expected ${e.expectedVersion}, current ${e.currentVersion}`); throw e; }
});

console.log('state:', await getState(db, 'command_state', runner));
const latest = await db.select({ id: currentState.entityId, version: currentState.version })
  .from(currentState).where(eq(currentState.entityType, 'command_state')).orderBy(desc(currentState.validFrom)).limit(3);
console.log('latest command states:', latest);
await refreshMetrics(db);
const hour = 3600_000;
const now = Date.now();
for (const command of ['step', 'stale-update']) {
  const p = await commandPercentiles(db, command, { from: new Date(now - 2 * hour), to: new Date(now + hour) });
  console.log(`${command}: ${p.executions} runs, ${p.failed} failed, p50 ${p.p50?.toFixed(2)} ms, p95 ${p.p95?.toFixed(2)} ms, p99 ${p.p99?.toFixed(2)} ms`);
}
await pool.end();
