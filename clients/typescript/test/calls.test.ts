// Every call not covered elsewhere, through each kind of connection.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  commandPercentiles, currentUserId, dropStateSchema, exportStats, finishCommand, gistFileName, jsonSchemaViolations,
  pruneExecutions, recordCommand, refreshMetrics, removeGistTarget, retryFailedMetrics, setGistTarget, setStateSchema,
  startCommand, stateSchemas, trackCommandExecution, validateStates, putState, withSupabaseUser,
} from '../src/index.js';
import { connections, uniqueType } from './helpers.js';

for (const [name, db] of connections) {
  describe(`calls through ${name}`, () => {
    it('executions: start, finish, record, track; percentiles from the rollups', async () => {
      const command = uniqueType('cmd');
      const id = await startCommand(db, command, { env: 'prod', api_key: 'k' }, { metadata: { host: 'ci' } });
      const finished = await finishCommand(db, id, 'failed', { code: 'E_X' });
      assert.equal(finished.id, id);
      assert.equal(finished.status, 'failed');
      assert.equal(finished.commandName, command);
      assert.deepEqual(finished.parameters, { env: 'prod', api_key: '[REDACTED]' });
      assert.deepEqual(finished.error, { code: 'E_X' });
      assert.equal(typeof finished.durationMs, 'number');
      assert.match(finished.completedAt ?? '', /^\d{4}-\d\d-\d\dT/);
      await recordCommand(db, command, {}, { status: 'success', durationMs: 100 });
      await recordCommand(db, command, {}, { durationMs: 300 });
      await trackCommandExecution(db, { command, success: true, durationMs: 200, hooksExecuted: ['lint'] }, { userId: randomUUID() });
      await refreshMetrics(db);
      const hour = 3_600_000;
      const p = await commandPercentiles(db, command, { from: new Date(Date.now() - 2 * hour), to: new Date(Date.now() + hour) });
      assert.equal(p.executions, 4);
      assert.equal(p.failed, 1);
      assert.equal(p.successful, 3);
      assert.ok(p.p50 !== null && p.p50 > 0 && p.p99! >= p.p50, JSON.stringify(p));
      const empty = await commandPercentiles(db, `${command}_none`, { from: new Date(0), to: new Date() });
      assert.deepEqual([empty.executions, empty.p50], [0, null]);
      assert.equal(await retryFailedMetrics(db), 0);
      assert.equal(await pruneExecutions(db, '100 years'), 0);
    });

    it('Gist targets and the export queue', async () => {
      const type = uniqueType('gist');
      const target = await setGistTarget(db, type, 'aa11bb22', { filenameTemplate: 'cfg-{entity_id}.json', mode: 'every_version' });
      assert.deepEqual(target, { entityType: type, gistId: 'aa11bb22', filenameTemplate: 'cfg-{entity_id}.json', mode: 'every_version', enabled: true });
      assert.equal(await gistFileName(db, type, 'app'), 'cfg-app.json');
      await putState(db, type, 'app', { n: 1 });
      const stats = await exportStats(db);
      assert.ok(stats.pending >= 1, JSON.stringify(stats));
      assert.ok(stats.oldestPendingSeconds !== null && stats.oldestPendingSeconds >= 0);
      assert.ok(stats.drainPerMinute >= 0, JSON.stringify(stats));
      assert.ok(stats.estimatedDrainSeconds === null || stats.estimatedDrainSeconds >= 0, JSON.stringify(stats));
      assert.equal(await removeGistTarget(db, type), true);
      assert.equal(await removeGistTarget(db, type), false);
    });

    it('state schemas: set, list, dry run, drop; a value of your own', async () => {
      const type = uniqueType('schema');
      await putState(db, type, 'a', { name: 'a' });
      await putState(db, type, 'b', { other: 1 });
      const schema = { type: 'object', required: ['name'] } as const;
      const failing = await validateStates(db, type, { schema: { ...schema, required: ['name'] } });
      assert.deepEqual(failing.map((f) => [f.entityId, f.violations[0]?.keyword]), [['b', 'required']]);
      assert.equal(await setStateSchema(db, type, { ...schema, required: ['name'] }, { mode: 'warn' }), 1);
      assert.ok((await stateSchemas(db)).some((s) => s.entityType === type && s.mode === 'warn' && s.schemaVersion === 1));
      assert.deepEqual((await validateStates(db, type)).map((f) => f.entityId), ['b']);
      assert.equal(await dropStateSchema(db, type), true);
      assert.equal(await dropStateSchema(db, type), false);
      assert.deepEqual(await jsonSchemaViolations(db, { type: 'integer' }, 5), []);
      assert.equal((await jsonSchemaViolations(db, { type: 'integer' }, 'five'))[0]?.keyword, 'type');
    });

    it('the acting user is the claims\' sub', async () => {
      const sub = randomUUID();
      assert.equal(await withSupabaseUser(db, { sub }, (tx) => currentUserId(tx)), sub);
      assert.equal(await currentUserId(db), null);
    });
  });
}
