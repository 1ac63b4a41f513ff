// The TypeScript controller API against real switches, Debian's ovs-vswitchd on the userspace
// datapath and tvs-vswitchd, each with namespace hosts on veth ports. The README's learning switch
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
import { connect, listen, OfRemoteError, type FlowRemoved, type OpenFlowSwitch, type PortStatus } from '../../src/public/controller.js';
import { OfConnection } from '../../src/openflow/connection.js';
import type { OfMessage } from '../../src/openflow/messages.js';
import { OvsInstance } from '../../scripts/bench/ovs.js';
import { startDaemon } from '../helpers/daemon.js';
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

/** A switch with one bridge joining the hosts' veths as ports 1 and 2, in fail_mode=secure with no flows. */
interface SwitchUnderTest {
  bridge: string;
  /** The bridge's management socket, as a `connect()` target. */
  mgmt: string;
  vsctl(...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

const switches: Array<{ name: string; available: boolean; start(ports: string[]): Promise<SwitchUnderTest> }> = [
  {
    name: 'ovs-vswitchd (userspace datapath)',
    available: haveOvs,
    async start(ports) {
      const ovs = new OvsInstance();
      await ovs.start(ports, { tso: false });
      await ovs.vsctl('set-fail-mode', ovs.bridge, 'secure', '--', 'set', 'bridge', ovs.bridge, 'other_config:disable-in-band=true');
      await ovs.ofctl('del-flows');
      return { bridge: ovs.bridge, mgmt: `unix:${join(ovs.dir, `${ovs.bridge}.mgmt`)}`, vsctl: (...a) => ovs.vsctl(...a), stop: () => ovs.stop() };
    },
  },
  {
    name: 'tvs-vswitchd',
    available: true,
    async start(ports) {
      const d = await startDaemon();
      const bridge = 'br0';
      await d.vsctl('add-br', bridge, '--', 'set-fail-mode', bridge, 'secure');
      for (const [i, p] of ports.entries()) await d.vsctl('add-port', bridge, p, '--', 'set', 'interface', p, `ofport_request=${i + 1}`);
      // A new TVS bridge holds priority=0,actions=NORMAL, as an OVS bridge does.
      const sw = await connect(`unix:${join(d.dir, `${bridge}.mgmt`)}`);
      await sw.flowMod('', 'delete');
      sw.close();
      return { bridge, mgmt: `unix:${join(d.dir, `${bridge}.mgmt`)}`, vsctl: (...a) => d.vsctl(...a), stop: () => d.stop() };
    },
  },
];

/** The destination MACs of the bridge's flows, as learned rules match them. */
async function learnedDestinations(target: string): Promise<string[]> {
  const sw = await connect(target);
  try {
    const macs = (await sw.dumpFlows()).filter((f) => f.match.field('dl_dst').mask !== 0n).map((f) => f.match.field('dl_dst').value);
    return macs.map((m) => m.toString(16).padStart(12, '0').replace(/(..)(?!$)/g, '$1:')).sort();
  } finally {
    sw.close();
  }
}

describe.each(switches)('the controller API against $name', (kind) => {
  const available = kind.available;
  let lab: Lab;
  let sut: SwitchUnderTest;
  let h1: Host;
  let h2: Host;
  let portNames: string[];

  beforeAll(async () => {
    if (!available) return;
    lab = new Lab();
    const a = await lab.addVethHost('a', '10.0.7.1/24');
    const b = await lab.addVethHost('b', '10.0.7.2/24');
    h1 = a.host;
    h2 = b.host;
    portNames = [a.switchIf, b.switchIf];
    sut = await kind.start(portNames);
  });

  afterAll(async () => {
    await sut?.stop();
    await lab?.cleanup();
  });

  it.skipIf(!available)("connects to the bridge's management socket and learns its datapath id and ports", async () => {
    const sw = await connect(sut.mgmt);
    try {
      const dpid = (await sut.vsctl('get', 'bridge', sut.bridge, 'datapath_id')).trim().replaceAll('"', '');
      expect(sw.datapathId).toBe(BigInt(`0x${dpid}`));
      expect([...sw.ports.values()].map((p) => p.name).sort()).toEqual([sut.bridge, ...portNames].sort());
      expect(await sw.echo()).toBeGreaterThanOrEqual(0);
    } finally {
      sw.close();
    }
  });

  it.skipIf(!available)('adds flows written as ovs-ofctl writes them, dumps them back and deletes them', async () => {
    const sw = await connect(sut.mgmt);
    try {
      await sw.flowMods(['table=3,priority=7,ip,nw_dst=10.9.0.1,actions=output:2', 'table=3,priority=8,arp,actions=drop']);
      const flows = await sw.dumpFlows('', 3);
      expect(flows.map((f) => f.priority).sort()).toEqual([7, 8]);
      expect(flows.find((f) => f.priority === 7)?.instructions.apply).toEqual([{ type: 'output', port: 2, maxLen: 0 }]);
      await sw.flowMod('table=3', 'delete');
      expect(await sw.dumpFlows('', 3)).toEqual([]);
    } finally {
      sw.close();
    }
  });

  it.skipIf(!available)("rejects a flow the switch refuses with the switch's error name, and goes on", async () => {
    const sw = await connect(sut.mgmt);
    try {
      const refused = sw.flowMod('priority=5,actions=group:77');
      await expect(refused).rejects.toBeInstanceOf(OfRemoteError);
      await expect(refused).rejects.toMatchObject({ name: 'OFPBAC_BAD_OUT_GROUP' });
      await sw.barrier();
      expect(await sw.dumpFlows()).toEqual([]);
    } finally {
      sw.close();
    }
  });

  it.skipIf(!available)("lets hosts reach each other only through the README's learning switch", async () => {
    expect(await ping(h1, h2.ip, 1)).toBe(0);
    const example = await startExample();
    try {
      await sut.vsctl('set-controller', sut.bridge, `tcp:127.0.0.1:${example.port}`);
      await eventually(async () => (await ping(h1, h2.ip, 1)) === 1, 20_000, 'h1 to reach h2 through the controller');
      expect(await learnedDestinations(sut.mgmt)).toEqual([h1.mac, h2.mac].sort());
      expect(example.stderr()).toBe('');
    } finally {
      await sut.vsctl('del-controller', sut.bridge);
      example.child.kill();
      await once(example.child, 'exit');
    }
  });

  it.skipIf(!available)('receives the packet-ins of a listening controller and answers them with packet-outs', async () => {
    const controller = await listen({ port: 0 });
    try {
      const cleaner = await connect(sut.mgmt);
      await cleaner.flowMod('', 'delete');
      cleaner.close();
      const connected = controller.nextSwitch();
      await sut.vsctl('set-controller', sut.bridge, `tcp:127.0.0.1:${controller.port}`);
      const sw: OpenFlowSwitch = await connected;
      const seen = new Set<number>();
      const answers: Array<Promise<void>> = [];
      sw.on('packet-in', (pi) => {
        seen.add(pi.inPort);
        answers.push(sw.packetOut({ inPort: pi.inPort, actions: `output:${pi.inPort === 1 ? 2 : 1}`, data: pi.data }));
      });
      await sw.flowMod('priority=0,actions=CONTROLLER:65535');
      expect(await ping(h1, h2.ip, 1)).toBe(1);
      expect([...seen].sort()).toEqual([1, 2]);
      // Every packet-out the switch was sent, it executed, before the controller goes away.
      sw.removeAllListeners('packet-in');
      await Promise.all(answers);
    } finally {
      await sut.vsctl('del-controller', sut.bridge);
      await controller.close();
    }
  });

  it.skipIf(!available)('takes the master role, hears a flow removed by a delete, and sees a new port arrive', async () => {
    const controller = await listen({ port: 0 });
    const c = await lab.addVethHost('c', '10.0.7.3/24');
    try {
      const connected = controller.nextSwitch();
      await sut.vsctl('set-controller', sut.bridge, `tcp:127.0.0.1:${controller.port}`);
      const sw = await connected;
      expect((await sw.role('master', 1n)).role).toBe('master');

      const removed = once(sw, 'flow-removed');
      await sw.flowMod('table=5,priority=9,cookie=0x77,udp,send_flow_rem,actions=drop');
      await sw.flowMod('table=5', 'delete');
      const [flow] = (await removed) as [FlowRemoved];
      expect({ reason: flow.reason, cookie: flow.cookie, priority: flow.priority, tableId: flow.tableId }).toEqual({ reason: 'delete', cookie: 0x77n, priority: 9, tableId: 5 });

      const added = once(sw, 'port-status');
      await sut.vsctl('add-port', sut.bridge, c.switchIf, '--', 'set', 'interface', c.switchIf, 'ofport_request=3');
      const [status] = (await added) as [PortStatus];
      expect({ reason: status.reason, name: status.desc.name, portNo: status.desc.portNo }).toEqual({ reason: 'add', name: c.switchIf, portNo: 3 });
      expect(sw.ports.get(3)?.name).toBe(c.switchIf);
    } finally {
      await sut.vsctl('--if-exists', 'del-port', sut.bridge, c.switchIf);
      await sut.vsctl('del-controller', sut.bridge);
      await controller.close();
    }
  });

  it.skipIf(!available)('sends a packet-in and a flow-removed to the controller that asked for them, not to one whose async config masks them', async () => {
    const [masked, plain] = await Promise.all([connect(sut.mgmt, { versions: [0x05] }), connect(sut.mgmt, { versions: [0x05] })]);
    const seen = new Map<OpenFlowSwitch, string[]>([[masked, []], [plain, []]]);
    for (const [sw, list] of seen) {
      sw.on('packet-in', (m) => list.push(`packet_in:${m.reason}`));
      sw.on('flow-removed', (m) => list.push(`flow_removed:${m.reason}`));
    }
    try {
      // Management connections get asynchronous messages once they set a miss_send_len.
      for (const sw of seen.keys()) sw.send({ type: 'set_config', flags: 0, missSendLen: 128 });
      // Two properties of OpenFlow 1.4's set_async: no packet-ins, and flow-removed for idle timeouts only.
      masked.send({ type: 'set_async', config: { packetIn: [0], flowRemoved: [0b1] } });
      await Promise.all([masked.barrier(), plain.barrier()]);

      const both = eventually(() => (seen.get(plain)?.length ?? 0) >= 2, 10_000, 'the unmasked controller to hear the flow removed and the packet-in');
      await plain.flowMod('table=5,priority=9,cookie=0x77,udp,send_flow_rem,actions=drop');
      await plain.flowMod('table=5', 'delete');
      const frame = Buffer.concat([Buffer.from('ffffffffffff020000000001', 'hex'), Buffer.from([0x88, 0xb5]), Buffer.alloc(46)]);
      await plain.packetOut({ data: frame, actions: 'controller' });
      await both;
      // Whatever the switch sent the masked controller before, it sent before this echo's reply.
      await masked.echo();
      // The two come from different paths (the flow table, the datapath), so either may arrive first.
      expect([...(seen.get(plain) ?? [])].sort()).toEqual(['flow_removed:delete', 'packet_in:packet_out']);
      expect(seen.get(masked)).toEqual([]);
    } finally {
      masked.close();
      plain.close();
    }
  });

  it.skipIf(!available)('tells a master it became slave when another controller takes over: role status on 1.4, ONF role status on 1.3, nothing on 1.0', async () => {
    const [of10, of13, of14] = await Promise.all([connect(sut.mgmt, { versions: [0x01] }), connect(sut.mgmt, { versions: [0x04] }), connect(sut.mgmt, { versions: [0x05] })]);
    const unsolicited = new Map<OpenFlowSwitch, OfMessage[]>([[of10, []], [of13, []], [of14, []]]);
    for (const [sw, seen] of unsolicited) sw.on('message', (m) => seen.push(m));
    try {
      await of10.role('master');
      await of14.role('master', 1n);
      // The 1.0 connection is slave now, but OpenFlow 1.0 has no message to say so.
      await of10.echo();
      expect(unsolicited.get(of10)).toEqual([]);
      expect(await of10.stats({ kind: 'desc' })).toMatchObject({ kind: 'desc' });

      await of13.role('master', 2n);
      await of14.echo();
      expect(unsolicited.get(of14)).toEqual([{ type: 'role_status', role: 'slave', reason: 'master_request', generationId: 2n }]);

      await of14.role('master', 3n);
      await of13.echo();
      expect(unsolicited.get(of13)).toEqual([{ type: 'role_status', role: 'slave', reason: 'master_request', generationId: 3n }]);
      expect(await of13.role('nochange')).toEqual({ role: 'slave', generationId: 3n });
    } finally {
      for (const sw of unsolicited.keys()) sw.close();
    }
  });

  it.skipIf(!available)('reports group features as ovs-vswitchd does: four types, weight, liveness and chaining, and the bucket actions each switch executes per version', async () => {
    const all = (actions: number) => ({ all: actions, select: actions, indirect: actions, ff: actions });
    const expected = (actions: number) => ({ kind: 'group_features', types: ['all', 'select', 'indirect', 'ff'], capabilities: 0x7, maxGroups: all(0xffffff00), actions: all(actions) });
    // OpenFlow 1.3: output, push/pop_vlan, group, set_nw_ttl, dec_nw_ttl, set_field, and in OVS also the
    // MPLS actions and set_queue, which TVS does not execute; 1.0 (Nicira's request): output to
    // set_tp_dst, and in OVS also enqueue.
    const ovs = kind.name.startsWith('ovs');
    for (const [version, actions] of [[0x04, ovs ? 0x3ff8001 : 0x3c60001], [0x01, ovs ? 0xfff : 0x7ff]] as const) {
      const sw = await connect(sut.mgmt, { versions: [version] });
      try {
        expect(await sw.stats({ kind: 'group_features' })).toEqual(expected(actions));
      } finally {
        sw.close();
      }
    }
  });

  it.skipIf(!available)('answers a queue config request with no queues for a port and OFPQOFC_BAD_PORT for a port that does not exist', async () => {
    // TVS has no QoS queues, nor has an OVS port (a veth here) without QoS configured.
    const queues: never[] = [];
    for (const version of [0x01, 0x04, 0x05]) {
      const conn = await OfConnection.connect(sut.mgmt, { versions: [version] });
      try {
        if (version < 0x05) {
          expect(await conn.request({ type: 'queue_get_config_request', portNo: 1 })).toEqual({ type: 'queue_get_config_reply', portNo: 1, queues });
          await expect(conn.request({ type: 'queue_get_config_request', portNo: 7 })).rejects.toMatchObject({ name: 'OFPQOFC_BAD_PORT' });
          continue;
        }
        // OpenFlow 1.4 asks with the queue_desc multipart, which may name one queue.
        const ask = (portNo: number, queueId: number) => conn.request({ type: 'multipart_request', request: { kind: 'queue_desc', portNo, queueId } });
        expect(await ask(1, 0xffffffff)).toEqual({ type: 'multipart_reply', reply: { kind: 'queue_desc', queues } });
        await expect(ask(7, 0xffffffff)).rejects.toMatchObject({ name: 'OFPQOFC_BAD_PORT' });
        // A queue the port lacks: OpenFlow's OFPQOFC_BAD_QUEUE. OVS answers its Nicira NXQOFC_QUEUE_ERROR
        // when a Linux device has no QoS at all (its dummy ports answer OFPQOFC_BAD_QUEUE, as TVS does).
        await expect(ask(1, 3)).rejects.toMatchObject({ name: kind.name.startsWith('ovs') ? 'NXQOFC_QUEUE_ERROR' : 'OFPQOFC_BAD_QUEUE' });
      } finally {
        conn.close();
      }
    }
  });
});
