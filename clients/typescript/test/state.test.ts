import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  deleteState, getState, LosslessNumber, patchState, putState, revertState, stateAsOf, stateDiff, stateHistory,
  stateVersion,
} from '../src/index.js';
import { connections, uniqueType } from './helpers.js';

for (const [name, db] of connections) {
  describe(`state through ${name}`, () => {
    it('writes, reads, patches, diffs, reverts and deletes', async () => {
      const type = uniqueType('config');
      assert.equal(await putState(db, type, 'app', { theme: 'dark' }), 1);
      assert.equal(await putState(db, type, 'app', { theme: 'dark' }), 1, 'an unchanged state writes nothing');
      assert.equal(await patchState(db, type, 'app', { max_parallel: 4 }), 2);
      assert.deepEqual(await getState(db, type, 'app'), { theme: 'dark', max_parallel: 4 });
      assert.equal(await stateVersion(db, type, 'app'), 2);
      assert.deepEqual(await stateDiff(db, type, 'app', 1, 2), [{ op: 'add', path: '/max_parallel', value: 4 }]);
      assert.equal(await revertState(db, type, 'app', 1), 3);
      assert.deepEqual(await getState(db, type, 'app'), { theme: 'dark' });
      const history = await stateHistory(db, type, 'app');
      assert.deepEqual(history.map((v) => v.version), [1, 2, 3]);
      assert.equal(history[0]?.validTo, history[1]?.validFrom);
      assert.equal(history[2]?.validTo, null);
      assert.match(history[0]?.validFrom ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      assert.deepEqual(await stateAsOf(db, type, 'app', history[1]!.validFrom), { theme: 'dark', max_parallel: 4 });
      assert.equal(await stateAsOf(db, type, 'app', '2000-01-01T00:00:00Z'), null);
      assert.equal(await deleteState(db, type, 'app'), true);
      assert.equal(await deleteState(db, type, 'app'), false);
      assert.equal(await getState(db, type, 'app'), null);
      assert.equal(await stateVersion(db, type, 'app'), null);
    });

    it('round-trips big integers, exact decimals, unicode and nesting without loss', async () => {
      const type = uniqueType('exact');
      const state = {
        big: 12345678901234567890n, negative: -9007199254740993n, safe: 9007199254740991,
        decimal: new LosslessNumber('0.1000000000000000000000000001'), float: 1.5, text: 'zażółć 🦀 "q"',
        nested: [[{ a: null, b: true }]],
      };
      await putState(db, type, 'x', state);
      const back = await getState<typeof state>(db, type, 'x');
      assert.equal(back?.big, 12345678901234567890n);
      assert.equal(back?.negative, -9007199254740993n);
      assert.equal(back?.safe, 9007199254740991);
      assert.equal(String(back?.decimal), '0.1000000000000000000000000001');
      assert.equal(back?.float, 1.5);
      assert.equal(back?.text, 'zażółć 🦀 "q"');
      assert.deepEqual(back?.nested, [[{ a: null, b: true }]]);
    });
  });
}
