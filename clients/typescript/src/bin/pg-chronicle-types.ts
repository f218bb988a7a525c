#!/usr/bin/env node
// pg-chronicle-types: prints TypeScript types for the state schemas stored in a database
// (DATABASE_URL, or the PG* environment variables libpq reads).
//   npx pg-chronicle-types > src/chronicle-states.ts
import pg from 'pg';
import { stateSchemaTypes } from '../types.js';

const pool = new pg.Pool(process.env.DATABASE_URL ? { connectionString: process.env.DATABASE_URL } : {});
try {
  process.stdout.write(await stateSchemaTypes(pool));
} catch (error) {
  process.stderr.write(`pg-chronicle-types: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
} finally {
  await pool.end();
}
