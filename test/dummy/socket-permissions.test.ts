// The daemons' unix sockets (control, database, bridge management, punix:
// controller and manager targets, tvsdb-server's) are for their owner (and
// group) only, as OVS's are: another user cannot connect to them.
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DummyHost } from '../../src/api/dummy-host.js';
import { Switch } from '../../src/api/switch.js';
import { eventually } from '../helpers/eventually.js';
import { ServerProcess, createDb, ensureBuilt } from '../compat/ovsdb-harness.js';
import { vswitchSchemaPath } from '../../src/ovsdb/vswitch-schema.js';

describe('listening unix sockets', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tvs-t-sockets-'));
  let sw: Switch<DummyHost> | undefined;

  afterAll(async () => {
    await sw?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('are created owner-only (rwxr-x---): the database socket, the control socket and each bridge management socket', async () => {
    const started = (sw = await Switch.start({ dummy: true, dir, unixctl: join(dir, 'tvs-vswitchd.ctl') }));
    await started.addBridge('br0');
    const modes = ['db.sock', 'tvs-vswitchd.ctl', 'br0.mgmt'].map((f) => [f, (statSync(join(dir, f)).mode & 0o777).toString(8)]);
    expect(modes).toEqual([
      ['db.sock', '750'],
      ['tvs-vswitchd.ctl', '750'],
      ['br0.mgmt', '750'],
    ]);
  });

  it("are created owner-only for a punix: controller target and a punix: Manager target too", async () => {
    const started = sw!;
    const results = await started.daemon.db.transact('Open_vSwitch', [
      { op: 'insert', table: 'Controller', row: { target: `punix:${join(dir, 'br0.controller')}` }, 'uuid-name': 'ctl' },
      { op: 'update', table: 'Bridge', where: [['name', '==', 'br0']], row: { controller: ['named-uuid', 'ctl'] } },
      { op: 'insert', table: 'Manager', row: { target: `punix:${join(dir, 'manager.sock')}` }, 'uuid-name': 'mgr' },
      { op: 'update', table: 'Open_vSwitch', where: [], row: { manager_options: ['named-uuid', 'mgr'] } },
      { op: 'mutate', table: 'Open_vSwitch', where: [], mutations: [['next_cfg', '+=', 1]] },
      { op: 'select', table: 'Open_vSwitch', where: [], columns: ['next_cfg'] },
    ]);
    const { rows } = results[results.length - 1] as { rows: Array<{ next_cfg: number }> };
    await started.daemon.waitForConfig(rows[0]!.next_cfg);
    const modes = ['br0.controller', 'manager.sock'].map((f) => [f, (statSync(join(dir, f)).mode & 0o777).toString(8)]);
    expect(modes).toEqual([
      ['br0.controller', '750'],
      ['manager.sock', '750'],
    ]);
  });

  it("are created owner-only by tvsdb-server: its punix: remote and its control socket", async () => {
    ensureBuilt();
    await createDb(join(dir, 'server.db'), vswitchSchemaPath());
    const server = await ServerProcess.start(join(dir, 'server.db'), [`punix:${join(dir, 'server.sock')}`], [`--unixctl=${join(dir, 'tvsdb-server.ctl')}`]);
    try {
      await eventually(() => existsSync(join(dir, 'tvsdb-server.ctl')), 10_000, 'the control socket');
      const modes = ['server.sock', 'tvsdb-server.ctl'].map((f) => [f, (statSync(join(dir, f)).mode & 0o777).toString(8)]);
      expect(modes).toEqual([
        ['server.sock', '750'],
        ['tvsdb-server.ctl', '750'],
      ]);
    } finally {
      await server.stop();
    }
  });
});
