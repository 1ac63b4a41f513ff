// tvs-vswitchd against what should not stop a switch: a restart straight after kill -9. Each time
// the daemon must keep running, or start again, and keep its committed configuration.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDaemon, type TestDaemon } from '../helpers/daemon.js';
import { eventually } from '../helpers/frames.js';
import { killToZombie, spawnUnreaped, type Unreaped } from '../helpers/unreaped.js';

describe('tvs-vswitchd restarts', () => {
  let dir: string;
  let sw: TestDaemon;
  let unreaped: Unreaped | undefined;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tvs-t-restart-'));
    sw = testDaemon(dir);
  });

  afterAll(async () => {
    unreaped?.cleanup();
    await sw.stop();
  });

  it('starts again at once after kill -9, while the killed daemon is still an unreaped zombie', async () => {
    unreaped = await spawnUnreaped(sw.argv, { TVS_RUNDIR: dir });
    await eventually(() => sw.appctl('version').then(() => true, () => false), 15_000, 'the first daemon to answer');
    await sw.vsctl('set', 'Open_vSwitch', '.', 'external_ids:kept=yes');
    await killToZombie(unreaped.pid);

    await sw.start();
    expect(sw.stderr()).not.toContain('in use');
    expect(await sw.vsctl('get', 'Open_vSwitch', '.', 'external_ids:kept')).toBe('yes\n');
  });
});
