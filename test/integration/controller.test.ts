// The TypeScript controller API against a real switch: Debian's ovs-vswitchd on the userspace
// datapath, with namespace hosts on veth ports. The README's learning switch
// (examples/learning-switch.ts, run as a user runs it: the compiled program, importing
// 'tvs/controller' through the package's exports) is the only thing that can make them reach each
// other: the bridge is fail_mode=secure and starts with no flows.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, ping, type Host } from '../../src/lib/netns.js';
import { connect, listen, OfRemoteError, type OpenFlowSwitch } from '../../src/public/controller.js';
import { OvsInstance } from '../../scripts/bench/ovs.js';
import { eventually } from '../helpers/eventually.js';

const CHECKOUT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const EXAMPLE = join(CHECKOUT, 'dist/examples/learning-switch.js');
const haveOvs = existsSync('/usr/sbin/ovs-vswitchd') && existsSync('/usr/bin/ovs-ofctl');

/** Starts the compiled example and resolves with its TCP port once it says it listens. */
async function startExample(): Promise<{ child: ChildProcess; port: number; stderr: () => string }> {
  const child = spawn(process.execPath, [EXAMPLE, '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let errors = '';
  child.stderr.on('data', (d: Buffer) => (errors += d.toString()));
  const lines = createInterface({ input: child.stdout });
  for await (const line of lines) {
    const m = /listening on tcp:127\.0\.0\.1:(\d+)/.exec(line);
    if (m) return { child, port: Number(m[1]), stderr: () => errors };
  }
  throw new Error(`the learning switch example exited before listening: ${errors}`);
}

it("shows in the README exactly the learning switch the tests run", () => {
  const readme = readFileSync(join(CHECKOUT, 'README.md'), 'utf8');
  const example = readFileSync(join(CHECKOUT, 'examples/learning-switch.ts'), 'utf8');
  expect(readme).toContain('```ts\n' + example + '```\n');
});

describe.skipIf(!haveOvs)('the controller API against ovs-vswitchd (userspace datapath)', () => {
  let lab: Lab;
  let ovs: OvsInstance;
  let h1: Host;
  let h2: Host;

  beforeAll(async () => {
    lab = new Lab();
    const a = await lab.addVethHost('a', '10.0.7.1/24');
    const b = await lab.addVethHost('b', '10.0.7.2/24');
    h1 = a.host;
    h2 = b.host;
    ovs = new OvsInstance();
    await ovs.start([a.switchIf, b.switchIf], { tso: false });
    await ovs.vsctl('set-fail-mode', ovs.bridge, 'secure');
    await ovs.ofctl('del-flows');
  });

  afterAll(async () => {
    await ovs?.stop();
    await lab?.cleanup();
  });

  it("connects to the bridge's management socket and learns its datapath id and ports", async () => {
    const sw = await connect(`unix:${join(ovs.dir, `${ovs.bridge}.mgmt`)}`);
    try {
      const dpid = (await ovs.vsctl('get', 'bridge', ovs.bridge, 'datapath_id')).trim().replaceAll('"', '');
      expect(sw.datapathId).toBe(BigInt(`0x${dpid}`));
      expect([...sw.ports.values()].map((p) => p.name).sort()).toEqual([ovs.bridge, ...[h1, h2].map((h) => lab.ifname(h === h1 ? 'a' : 'b'))].sort());
      expect(await sw.echo()).toBeGreaterThanOrEqual(0);
    } finally {
      sw.close();
    }
  });

  it('adds flows written as ovs-ofctl writes them, dumps them back and deletes them', async () => {
    const sw = await connect(`unix:${join(ovs.dir, `${ovs.bridge}.mgmt`)}`);
    try {
      await sw.flowMods(['table=3,priority=7,ip,nw_dst=10.9.0.1,actions=output:2', 'table=3,priority=8,arp,actions=drop']);
      const flows = await sw.dumpFlows('', 3);
      expect(flows.map((f) => f.priority).sort()).toEqual([7, 8]);
      expect(await ovs.ofctl('dump-flows', 'table=3')).toContain('nw_dst=10.9.0.1 actions=output:2');
      await sw.flowMod('table=3', 'delete');
      expect(await sw.dumpFlows('', 3)).toEqual([]);
    } finally {
      sw.close();
    }
  });

  it("rejects a flow the switch refuses with the switch's error name", async () => {
    const sw = await connect(`unix:${join(ovs.dir, `${ovs.bridge}.mgmt`)}`);
    try {
      const refused = sw.flowMod('priority=5,actions=group:77');
      await expect(refused).rejects.toBeInstanceOf(OfRemoteError);
      await expect(refused).rejects.toMatchObject({ name: 'OFPBAC_BAD_OUT_GROUP' });
      // The connection goes on.
      await sw.barrier();
    } finally {
      sw.close();
    }
  });

  it("lets hosts reach each other only through the README's learning switch", async () => {
    expect(await ping(h1, h2.ip, 1)).toBe(0);
    const example = await startExample();
    try {
      await ovs.vsctl('set-controller', ovs.bridge, `tcp:127.0.0.1:${example.port}`);
      await eventually(async () => (await ping(h1, h2.ip, 1)) === 1, 20_000, 'h1 to reach h2 through the controller');
      const flows = await ovs.ofctl('dump-flows');
      expect(flows).toContain(`dl_dst=${h2.mac} actions=output:2`);
      expect(flows).toContain(`dl_dst=${h1.mac} actions=output:1`);
      expect(example.stderr()).toBe('');
    } finally {
      await ovs.vsctl('del-controller', ovs.bridge);
      example.child.kill();
      await once(example.child, 'exit');
    }
  });

  it('receives the packet-ins of a listening controller and answers them with flow-mods and packet-outs', async () => {
    const controller = await listen({ port: 0 });
    try {
      await ovs.ofctl('del-flows');
      const connected = controller.nextSwitch();
      await ovs.vsctl('set-controller', ovs.bridge, `tcp:127.0.0.1:${controller.port}`);
      const sw: OpenFlowSwitch = await connected;
      const seen: number[] = [];
      sw.on('packet-in', (pi) => {
        seen.push(pi.inPort);
        const out = pi.inPort === 1 ? 2 : 1;
        void sw.packetOut({ inPort: pi.inPort, actions: `output:${out}`, data: pi.data });
      });
      await sw.flowMod('priority=0,actions=CONTROLLER:65535');
      expect(await ping(h1, h2.ip, 1)).toBe(1);
      expect(seen).toContain(1);
      expect(seen).toContain(2);
    } finally {
      await ovs.vsctl('del-controller', ovs.bridge);
      await controller.close();
    }
  });
});
