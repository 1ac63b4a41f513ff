// The daemons' unix sockets (control, database, bridge management) are for
// their owner only, as OVS's are: another user cannot connect to them.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DummyHost } from '../../src/api/dummy-host.js';
import { Switch } from '../../src/api/switch.js';

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
});
