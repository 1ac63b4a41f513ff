// Our database files use OVS's standalone log format: Debian's ovsdb-tool reads ours, and we
// read files that ovsdb-tool wrote (including its "_is_diff" records for modified sets and maps).

import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEBIAN_SCHEMA, ROOT, TempDir, ensureBuilt, ensureOvsTools, run } from './ovsdb-harness.js';

const tool = (...args: string[]) => run(process.execPath, [join(ROOT, 'dist/src/cli/tvsdb-tool.js'), ...args]);

describe('database files shared with Debian ovsdb-tool', () => {
  let dir: TempDir;

  beforeAll(() => {
    ensureOvsTools();
    ensureBuilt();
    dir = new TempDir();
  });

  afterAll(() => dir?.remove());

  const insertBridge = JSON.stringify([
    'Open_vSwitch',
    { op: 'insert', table: 'Open_vSwitch', row: { bridges: ['named-uuid', 'b'] } },
    { op: 'insert', table: 'Bridge', 'uuid-name': 'b', row: { name: 'br0', other_config: ['map', [['k', 'v']]] } },
  ]);
  const selectBridge = JSON.stringify(['Open_vSwitch', { op: 'select', table: 'Bridge', where: [], columns: ['name', 'other_config'] }]);

  it('ovsdb-tool reads a database that tvsdb-tool created and wrote', async () => {
    const db = dir.file('ours.db');
    await tool('create', db, DEBIAN_SCHEMA);
    await tool('transact', db, insertBridge);
    // Modified maps are logged as diffs ("_is_diff"), which ovsdb-tool must apply the same way.
    await tool('transact', db, JSON.stringify(['Open_vSwitch', { op: 'mutate', table: 'Bridge', where: [], mutations: [['other_config', 'insert', ['map', [['k2', 'v2']]]]] }]));
    await tool('transact', db, JSON.stringify(['Open_vSwitch', { op: 'mutate', table: 'Bridge', where: [], mutations: [['other_config', 'delete', ['set', ['k']]]] }]));
    const r = await run('ovsdb-tool', ['query', db, selectBridge]);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual([{ rows: [{ name: 'br0', other_config: ['map', [['k2', 'v2']]] }] }]);
    expect((await run('ovsdb-tool', ['db-name', db])).stdout).toBe('Open_vSwitch\n');
  });

  it('tvsdb-tool reads a database that ovsdb-tool created and modified', async () => {
    const db = dir.file('theirs.db');
    expect((await run('ovsdb-tool', ['create', db, DEBIAN_SCHEMA])).code).toBe(0);
    await run('ovsdb-tool', ['transact', db, insertBridge]);
    await run('ovsdb-tool', ['transact', db, JSON.stringify(['Open_vSwitch', { op: 'mutate', table: 'Bridge', where: [], mutations: [['other_config', 'insert', ['map', [['k2', 'v2']]]]] }])]);
    const r = await tool('query', db, selectBridge);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual([{ rows: [{ name: 'br0', other_config: ['map', [['k', 'v'], ['k2', 'v2']]] }] }]);
    expect(await tool('check', db)).toMatchObject({ code: 0, stdout: '' });
  });
});
