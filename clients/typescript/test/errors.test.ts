// Every error class, from the database and from the client's own checks; a refused call
// writes nothing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ChronicleError, FeatureNotSupportedError, finishCommand, ImmutableHistoryError, InvalidArgumentError,
  InvalidRepresentationError, InvalidTransitionError, NotFoundError, NullValueError, patchState, PermissionDeniedError,
  putState, recordCommand, SchemaViolationError, setGistTarget, setStateSchema, StaleLeaseError, startCommand,
  StateTooLargeError, stateVersion, StringTooLongError, TooComplexError, track, withSupabaseUser,
} from '../src/index.js';
import { query } from '../src/connection.js';
import { connections, pool, uniqueType } from './helpers.js';

async function refused<E extends ChronicleError>(call: Promise<unknown>, type: new (...args: any[]) => E, sqlstate: string, message: RegExp) {
  await assert.rejects(call, (error: unknown) => {
    assert.ok(error instanceof type, `expected ${type.name}, got ${String(error)}`);
    assert.equal((error as ChronicleError).sqlstate, sqlstate);
    assert.match((error as Error).message, message);
    return true;
  });
}

for (const [name, db] of connections) {
  describe(`errors through ${name}`, () => {
    it('maps every SQLSTATE the README documents to its class', async () => {
      const type = uniqueType('err');
      await refused(putState(db, type, 'x'.repeat(256), {}), StringTooLongError, '22001', /entity_id is 256 characters/);
      await refused(putState(db, type, 'big', { blob: 'x'.repeat(11 << 20) }), StateTooLargeError, '54000', /bytes of JSON/);
      const id = await startCommand(db, 'deploy');
      await finishCommand(db, id, 'success');
      await refused(finishCommand(db, id, 'failed'), InvalidTransitionError, '55000', /already finished/);
      await refused(finishCommand(db, '00000000-0000-4000-8000-000000000000', 'success'), NotFoundError, 'P0002', /./);
      await setStateSchema(db, type, { type: 'object', required: ['name'] });
      await refused(putState(db, type, 's', { other: 1 }), SchemaViolationError, '23514', /"name" is a required property/);
      await putState(db, `${type}_h`, 'h', { n: 1 });
      await refused(query(db, `UPDATE chronicle.state_store SET state = '{}' WHERE entity_type = $1`, [`${type}_h`]),
        ImmutableHistoryError, '23000', /append-only/);
      await refused(setGistTarget(db, type, 'abc123', { filenameTemplate: 'a/{entity_id}.json' }), InvalidArgumentError, '22023', /contains '\/'/);
      await refused(track(db, { event: 'command_executed', userId: 'ada', properties: { command_name: 'x' } }),
        InvalidArgumentError, '22023', /userId expected a user uuid/);
      await refused(query(db, "SELECT chronicle.export_ack(1, gen_random_uuid(), 'r')"), StaleLeaseError, '55000', /lease/);
      await refused(query(db, 'SELECT chronicle.schedule_refresh()'), FeatureNotSupportedError, '0A000', /pg_cron/);
      await refused(query(db, "SELECT 'garbage'::chronicle.quantile_sketch"), InvalidRepresentationError, '22P02', /./);
      const wide = { anyOf: Array.from({ length: 700 }, () => ({ type: 'array' })) };
      await setStateSchema(db, `${type}_wide`, wide);
      let deep: unknown = [];
      for (let i = 0; i < 100; i++) deep = [deep];
      await refused(putState(db, `${type}_wide`, 'd', deep as []), TooComplexError, '54001', /schema levels/);
      await refused(withSupabaseUser(db, {}, (tx) => putState(tx, type, 'anon', {}), { role: 'anon' }),
        PermissionDeniedError, '42501', /permission denied/);
      assert.equal(await stateVersion(db, type, 's'), null, 'refused writes wrote nothing');
    });

    it('refuses bad JavaScript input before sending it, and writes nothing', async () => {
      const type = uniqueType('bad');
      const cyclic: Record<string, unknown> = { a: 1 };
      cyclic.self = cyclic;
      await refused(putState(db, undefined as unknown as string, 'x', {}), NullValueError, '22004', /entityType must not be undefined/);
      await refused(putState(db, type, 'x', { n: NaN }), InvalidArgumentError, '22023', /state\.n is NaN/);
      await refused(putState(db, type, 'x', { n: Infinity }), InvalidArgumentError, '22023', /Infinity/);
      await refused(putState(db, type, 'x', { f: undefined as unknown as null }), InvalidArgumentError, '22023', /state\.f is undefined/);
      await refused(putState(db, type, 'x', cyclic as never), InvalidArgumentError, '22023', /cyclic/);
      await refused(putState(db, type, 'x', '{"theme": "dark"}'), InvalidArgumentError, '22023', /string holding JSON text/);
      await refused(patchState(db, type, 'x', [1, 2] as never), InvalidArgumentError, '22023', /patch must be a JSON object, not an array/);
      await refused(putState(db, type, 'x', {}, { expectedVersion: 1.5 }), InvalidArgumentError, '22023', /expectedVersion must be an integer/);
      await refused(putState(db, type, 'x', {}, { commandId: 'nope' }), InvalidArgumentError, '22023', /commandId must be a uuid/);
      await refused(recordCommand(db, 'x', {}, { durationMs: NaN }), InvalidArgumentError, '22023', /durationMs must be a finite number/);
      assert.equal(await stateVersion(db, type, 'x'), null);
      // A plain string state is fine (any JSON value is a state).
      assert.equal(await putState(db, type, 'text', 'just text'), 1);
    });
  });
}

it('a node-postgres error outside the client keeps its class', async () => {
  await assert.rejects(pool.query('SELECT 1/0'), (error: unknown) => !(error instanceof ChronicleError));
});
