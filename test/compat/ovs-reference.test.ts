// The reference switch the ofctl differential tests compare against: it must come up with its
// bridge's mgmt socket, answer the real ovs-ofctl, and leave no process or file behind.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ovsReferenceAvailable, startOvsReference } from '../helpers/ovs-reference.js';

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
});
