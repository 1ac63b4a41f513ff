// Compaction on request, as OVS users ask for it: ovs-appctl ovsdb-server/compact
// against a running tvsdb-server rewrites its log smaller and keeps every row.
import { statSync } from 'node:fs';
import { afterEach, beforeAll, expect, it } from 'vitest';
import { OvsdbClient } from '../../src/ovsdb/client.js';
import { vswitchSchemaPath } from '../../src/ovsdb/vswitch-schema.js';
import { createDb, ensureBuilt, ensureOvsTools, run, ServerProcess, TempDir } from './ovsdb-harness.js';

let dir: TempDir;
let server: ServerProcess | undefined;

beforeAll(() => {
  ensureBuilt();
  ensureOvsTools();
});

afterEach(async () => {
  await server?.stop();
  dir?.remove();
});

it('compacts a live database on ovs-appctl ovsdb-server/compact and keeps every row', async () => {
  dir = new TempDir();
  const db = dir.file('conf.db');
  const ctl = dir.file('server.ctl');
  await createDb(db, vswitchSchemaPath());
  server = await ServerProcess.start(db, [`punix:${dir.file('db.sock')}`], [`--unixctl=${ctl}`]);
  const client = await OvsdbClient.connect(`unix:${dir.file('db.sock')}`, { reconnect: false });
  await client.transact('Open_vSwitch', [{ op: 'insert', table: 'Open_vSwitch', row: {} }]);
  for (let i = 1; i <= 300; i++) {
    await client.transact('Open_vSwitch', [{ op: 'update', table: 'Open_vSwitch', where: [], row: { next_cfg: i, external_ids: ['map', [['k', 'x'.repeat(200)]]] } }]);
  }
  const before = statSync(db).size;
  const r = await run('ovs-appctl', ['-t', ctl, 'ovsdb-server/compact']);
  expect(r).toMatchObject({ code: 0, stderr: '' });
  expect(statSync(db).size).toBeLessThan(before / 2);
  // Still serving, and the data survives a restart from the compacted file.
  await client.transact('Open_vSwitch', [{ op: 'update', table: 'Open_vSwitch', where: [], row: { next_cfg: 301 } }]);
  client.close();
  await server.stop();
  server = await ServerProcess.start(db, [`punix:${dir.file('db.sock')}`], [`--unixctl=${ctl}`]);
  const again = await OvsdbClient.connect(`unix:${dir.file('db.sock')}`, { reconnect: false });
  const [res] = (await again.transact('Open_vSwitch', [{ op: 'select', table: 'Open_vSwitch', where: [], columns: ['next_cfg'] }])) as [{ rows: { next_cfg: number }[] }];
  again.close();
  expect(res.rows).toEqual([{ next_cfg: 301 }]);
  expect(await run('ovs-appctl', ['-t', ctl, 'ovsdb-server/compact', 'NoSuchDb'])).toMatchObject({ code: 2, stderr: expect.stringContaining('NoSuchDb') });
});
