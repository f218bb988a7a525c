import assert from 'node:assert/strict';
import { it } from 'node:test';
import { getState, patchState, putState, stateHistory, VersionConflictError } from '../src/index.js';
import { connections, uniqueType } from './helpers.js';

for (const [name, db] of connections) {
  it(`50 concurrent compare-and-sets on one version: exactly one wins (${name})`, async () => {
    const type = uniqueType('cas');
    await putState(db, type, 'e', { n: 0 });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) => putState(db, type, 'e', { n: i + 1 }, { expectedVersion: 1 })));
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    assert.equal(won.length, 1);
    assert.equal(lost.length, 49);
    for (const { reason } of lost) {
      assert.ok(reason instanceof VersionConflictError, String(reason));
      assert.equal(reason.expectedVersion, 1);
      assert.equal(reason.currentVersion, 2);
      assert.equal(reason.sqlstate, '55000');
    }
    assert.equal((await stateHistory(db, type, 'e')).length, 2);
  });

  it(`concurrent patches lose nothing (${name})`, async () => {
    const type = uniqueType('patch');
    await Promise.all(Array.from({ length: 40 }, (_, i) => patchState(db, type, 'e', { [`k${i}`]: i })));
    const state = await getState<Record<string, number>>(db, type, 'e');
    assert.equal(Object.keys(state ?? {}).length, 40);
    assert.equal((await stateHistory(db, type, 'e')).length, 40);
  });
}
