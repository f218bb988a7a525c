// Types generated from the stored schemas compile and describe the states.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { promisify } from 'node:util';
import { setStateSchema } from '../src/index.js';
import { stateSchemaTypes, typeNameOf } from '../src/types.js';
import { pool, uniqueType } from './helpers.js';

it('turns stored schemas into TypeScript types that compile', async () => {
  const type = uniqueType('typed_config');
  await setStateSchema(pool, type, {
    type: 'object',
    properties: { name: { type: 'string' }, max_parallel: { type: 'integer', minimum: 1 }, tags: { type: 'array', items: { type: 'string' } } },
    required: ['name'],
    additionalProperties: false,
  });
  const source = await stateSchemaTypes(pool);
  const name = new RegExp(`"${type}": (\\w+);`).exec(source)?.[1];
  assert.ok(name, 'ChronicleStates names the type');
  assert.match(source, new RegExp(`export interface ${name} \\{`));
  assert.match(source, /name: string;/);
  assert.match(source, /max_parallel\?: number;/);
  assert.match(source, /tags\?: string\[\];/);
  // The generated file type-checks, and a state of the wrong shape does not.
  const dir = await mkdtemp(join(tmpdir(), 'chronicle-types-'));
  await writeFile(join(dir, 'states.ts'), source);
  await writeFile(join(dir, 'use.ts'), `import type { ChronicleStates } from './states.js';
const ok: ChronicleStates['${type}'] = { name: 'app', max_parallel: 2 };
// @ts-expect-error name is required
const missing: ChronicleStates['${type}'] = { max_parallel: 2 };
export { ok, missing };
`);
  const tsc = join(process.cwd(), 'node_modules', 'typescript', 'bin', 'tsc');
  await promisify(execFile)(process.execPath, [tsc, '--strict', '--noEmit', '--module', 'NodeNext', '--moduleResolution', 'NodeNext',
    join(dir, 'use.ts')]);
});

it('names types after entity types', () => {
  assert.equal(typeNameOf('config'), 'Config');
  assert.equal(typeNameOf('command_state'), 'CommandState');
  assert.equal(typeNameOf('2fa-settings'), 'State2faSettings');
});
