// Row-level security through withSupabaseUser, as PostgREST applies it: two signed-in
// users see only their own executions; service_role sees both.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { it } from 'node:test';
import { startCommand, trackCommandExecution, withSupabaseUser } from '../src/index.js';
import { query } from '../src/connection.js';
import { connections } from './helpers.js';

for (const [name, db] of connections) {
  it(`two users and service_role (${name})`, async () => {
    const alice = randomUUID();
    const bob = randomUUID();
    const command = `rls_${randomUUID().slice(0, 8)}`;
    const aliceRun = await withSupabaseUser(db, { sub: alice, role: 'authenticated' }, (tx) => startCommand(tx, command, { token: 'secret' }));
    await withSupabaseUser(db, { sub: bob }, (tx) => trackCommandExecution(tx, { command, success: false, durationMs: 12, error: { code: 'E1' } }, { userId: bob }));
    const visible = async (sub: string | undefined, role: string) =>
      withSupabaseUser(db, sub ? { sub } : {}, async (tx) =>
        (await query<{ user_id: string; parameters: string }>(tx,
          'SELECT user_id::text AS user_id, parameters::text AS parameters FROM chronicle.command_executions WHERE command_name = $1 ORDER BY user_id',
          [command])), { role });
    const seenByAlice = await visible(alice, 'authenticated');
    assert.deepEqual(seenByAlice.map((r) => r.user_id), [alice]);
    assert.equal(JSON.parse(seenByAlice[0]!.parameters).token, '[REDACTED]', 'the database redacted the secret');
    assert.deepEqual((await visible(bob, 'authenticated')).map((r) => r.user_id), [bob]);
    assert.deepEqual((await visible(undefined, 'service_role')).map((r) => r.user_id).sort(), [alice, bob].sort());
    assert.match(aliceRun, /^[0-9a-f-]{36}$/);
  });
}
