// The reference switch the ofctl differential tests compare against: it must come up with its
// bridge's mgmt socket, answer the real ovs-ofctl, and leave no process or file behind.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alive } from '../../scripts/bench/ovs-daemons.js';
import { eventually } from '../helpers/eventually.js';
import { ovsReferenceAvailable, startOvsReference } from '../helpers/ovs-reference.js';

const OVS_DAEMONS_JS = resolve('dist/scripts/bench/ovs-daemons.js');

describe.skipIf(!ovsReferenceAvailable())('the reference OVS', () => {
  it('serves OpenFlow on the bridge mgmt socket with the dummy ports numbered as asked, and stop() leaves nothing behind', async () => {
    const ovs = await startOvsReference({ bridge: 'br0', ports: ['p1', 'p2'] });
    let pids: number[];
    try {
      const show = await ovs.ofctl('show', ovs.target);
      expect(show.code).toBe(0);
      expect(show.stdout).toMatch(/^ 1\(p1\): addr:/m);
      expect(show.stdout).toMatch(/^ 2\(p2\): addr:/m);
      expect(show.stdout).toMatch(/^ LOCAL\(br0\): addr:/m);
      pids = ['ovsdb-server', 'ovs-vswitchd'].map((d) => Number(readFileSync(join(ovs.dir, `${d}.pid`), 'utf8')));
    } finally {
      await ovs.stop();
    }
    expect(existsSync(ovs.dir)).toBe(false);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
  });

  it('kills and removes the OVS of a test run that was killed before stopping it, when the next one starts', async () => {
    // A run that starts OVS, prints its directory and then hangs, as a test killed by its timeout.
    const script = `import(${JSON.stringify(OVS_DAEMONS_JS)}).then((m) => m.startOvsDaemons({ purpose: 'killed-run' })).then((d) => { console.log(d.dir); setInterval(() => {}, 1000); });`;
    const run = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [line] = (await once(run.stdout, 'data')) as [Buffer];
    const orphanDir = line.toString().trim();
    const pids = ['ovsdb-server', 'ovs-vswitchd'].map((d) => Number(readFileSync(join(orphanDir, `${d}.pid`), 'utf8')));
    run.kill('SIGKILL');
    await once(run, 'exit');
    for (const pid of pids) expect(() => process.kill(pid, 0)).not.toThrow();

    const next = await startOvsReference();
    await next.stop();
    expect(existsSync(orphanDir)).toBe(false);
    // SIGKILLed and reaped by init, which may take a moment after the signal.
    await eventually(() => pids.every((pid) => !alive(pid)), 10_000, 'the killed run\'s ovsdb-server and ovs-vswitchd to be gone');
  });
});
