// The real ovs-ofctl programming a tvs-vswitchd daemon by bridge name,
// with namespace hosts on veth pairs: the flows decide what crosses.
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, ping, type Host } from '../../src/lib/netns.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';

let lab: Lab;
let sw: TestDaemon;
let a: Host;
let aIf: string;
let bIf: string;
let br: string;

/** ovs-ofctl finding the daemon's BRIDGE.mgmt sockets in its rundir. */
function ofctl(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ovs-ofctl', args, { timeout: 20_000, env: { ...process.env, OVS_RUNDIR: sw.dir } }, (e, stdout, stderr) => {
      if (e) reject(new Error(`ovs-ofctl ${args.join(' ')}: ${stderr}`));
      else resolve(stdout);
    });
  });
}

beforeAll(async () => {
  lab = new Lab();
  br = lab.ifname('of');
  sw = await startDaemon();
  const ha = await lab.addVethHost('a', '10.61.0.1/24');
  const hb = await lab.addVethHost('b', '10.61.0.2/24');
  [a, aIf, bIf] = [ha.host, ha.switchIf, hb.switchIf];
  await sw.vsctl('add-br', br, '--', 'add-port', br, aIf, '--', 'set', 'interface', aIf, 'ofport_request=1', '--', 'add-port', br, bIf, '--', 'set', 'interface', bIf, 'ofport_request=2');
});

afterAll(async () => {
  await sw?.stop();
  await lab?.cleanup();
});

describe('ovs-ofctl against tvs-vswitchd, namespace traffic', () => {
  it('carries traffic only where the flows it added say, and counts it', async () => {
    expect(await ping(a, '10.61.0.2', 1)).toBe(1);
    await ofctl('del-flows', br);
    expect(await ping(a, '10.61.0.2', 1)).toBe(0);
    await ofctl('-O', 'OpenFlow13', 'add-flow', br, 'priority=10,in_port=1,actions=output:2');
    await ofctl('-O', 'OpenFlow13', 'add-flow', br, 'priority=10,in_port=2,actions=output:1');
    expect(await ping(a, '10.61.0.2', 3)).toBe(3);
    await sw.appctl('revalidator/wait');
    const flows = await ofctl('dump-flows', br);
    expect(flows).toMatch(/n_packets=[1-9]\d*, .*priority=10,in_port=1 actions=output:2/);
    expect(await ofctl('dump-ports', br, '1')).toMatch(/rx pkts=[1-9]/);
  });
});
