// Supabase identity: run app code as PostgREST runs a request, so row-level security
// applies to it as it does to Supabase clients.
import { requireText } from './args.js';
import { type Db, inTransaction, query, queryOne } from './connection.js';
import { type JsonObject, toJsonObjectText } from './json.js';

/**
 * Runs `fn` in a transaction as `role` (default `authenticated`) with `request.jwt.claims`
 * set to `claims` (its `sub` is the user's uuid: what `auth.uid()` and
 * `chronicle.current_user_id()` return). Both are transaction-local, as PostgREST sets them.
 */
export async function withSupabaseUser<T>(
  db: Db, claims: JsonObject & { sub?: string; role?: string }, fn: (tx: Db) => Promise<T>,
  options: { role?: string } = {},
): Promise<T> {
  const claimsText = toJsonObjectText(claims, 'claims');
  const role = requireText(options.role ?? claims.role ?? 'authenticated', 'role');
  return inTransaction(db, async (tx) => {
    await query(tx, "SELECT set_config('request.jwt.claims', $1, true), set_config('role', $2, true)", [claimsText, role]);
    return fn(tx);
  });
}

/** The acting user: the uuid in the sub claim of request.jwt.claims, else null. */
export async function currentUserId(db: Db): Promise<string | null> {
  const row = await queryOne<{ id: string | null }>(db, 'SELECT chronicle.current_user_id()::text AS id');
  return row.id;
}
