// Tunnel vports on real underlays: a vport of the datapath in this process
// (the root namespace's IP stack is its underlay) talks to a Linux kernel
// tunnel device, and to a second TVS datapath running in another namespace,
// with flows installed by hand in ODP syntax. The root end of the underlay
// veth has an address of this run's own and the tunnels use a UDP port of
// their own, so runs side by side do not meet.
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { show } from '../../src/datapath/dpctl.js';
import { Datapath } from '../../src/datapath/dpif.js';
import { encodeKey } from '../../src/datapath/flow-key.js';
import { parseActions, parseMatch } from '../../src/datapath/odp-syntax.js';
import { Lab, ping, run, type Host } from '../../src/lib/netns.js';
import { eventually } from '../helpers/eventually.js';
import { tcpTransfer } from '../helpers/tcp.js';

const ROOT = join(import.meta.dirname, '..', '..');
const VNI = 0x5;
// Per-run underlay subnet and UDP port.
const RUN = process.pid % 200;
const PORT = 20000 + (process.pid % 20000);

type TunnelType = 'vxlan' | 'geneve' | 'gre';
const VPORT_NAME: Record<TunnelType, string> = { vxlan: `vxlan_sys_${PORT}`, geneve: `genev_sys_${PORT}`, gre: 'gre_sys' };

let lab: Lab;
let dp: Datapath;
let a: Host;
let pa: number;
let underlay: { local: string; remote: string; ns: string };
let peer: ChildProcess | undefined;

function putFlow(d: Datapath, match: string, actions: string): void {
  const m = parseMatch(match);
  d.putFlow({ key: encodeKey(m.key), mask: encodeKey(m.mask), actions: parseActions(actions) });
}

/** Whether the kernel can make a device of this link type (this one has no gretap or geneve). */
async function kernelHas(type: string): Promise<boolean> {
  const probe = `tvs-t-probe-${process.pid}`;
  await run('ip', ['netns', 'add', probe]);
  try {
    await run('ip', ['-n', probe, 'link', 'add', 'p0', 'type', type, ...(type === 'gretap' ? ['remote', '192.0.2.1'] : ['id', '1', 'remote', '192.0.2.1'])]);
    return true;
  } catch {
    return false;
  } finally {
    await run('ip', ['netns', 'del', probe]);
  }
}

/** Over Geneve, both ends send OVN's option (class 0x102, type 0x80, 4 bytes) and match on it. */
const geneveOption = (type: TunnelType, data: number) => (type === 'geneve' ? `geneve({class=0x102,type=0x80,len=4,${hex(data)}}),` : '');
const hex = (n: number) => `0x${n.toString(16)}`;

/**
 * A vport of `type` joined to host a by flows: everything from a goes into
 * the tunnel; what the tunnel brings with our VNI/key goes to a.
 */
function openTunnel(type: TunnelType): number {
  const vport = dp.addPort({ type, name: VPORT_NAME[type], ...(type === 'gre' ? {} : { options: { dstPort: PORT } }) }).port;
  putFlow(dp, `in_port(${pa})`, `set(tunnel(tun_id=${VNI},src=${underlay.local},dst=${underlay.remote},ttl=64,${geneveOption(type, 0xa)}flags(df|key))),${vport}`);
  putFlow(dp, `tunnel(tun_id=${VNI},src=${underlay.remote},dst=${underlay.local},${geneveOption(type, 0xb)}flags(+key)),in_port(${vport})`, String(pa));
  return vport;
}

/** The kernel's own vxlan device in the underlay namespace, with the far overlay address. */
async function kernelVxlan(): Promise<void> {
  const ns = underlay.ns;
  await run('ip', ['-n', ns, 'link', 'add', 'vx0', 'type', 'vxlan', 'id', String(VNI), 'remote', underlay.local, 'local', underlay.remote, 'dstport', String(PORT), 'dev', 'eth0']);
  await run('ip', ['-n', ns, 'addr', 'add', `192.168.${RUN}.2/24`, 'dev', 'vx0']);
  await run('ip', ['-n', ns, 'link', 'set', 'vx0', 'up']);
}

/** The namespace's ICMP counters, from its /proc/net/snmp. */
async function icmpCounters(ns: string): Promise<Record<string, number>> {
  const lines = (await run('ip', ['netns', 'exec', ns, 'cat', '/proc/net/snmp'])).split('\n').filter((l) => l.startsWith('Icmp:'));
  const [names, values] = lines.map((l) => l.split(/\s+/).slice(1)) as [string[], string[]];
  return Object.fromEntries(names.map((n, i) => [n, Number(values[i])]));
}

beforeEach(async () => {
  lab = new Lab();
  dp = Datapath.open();
  const ha = await lab.addVethHost('a', `192.168.${RUN}.1/24`);
  a = ha.host;
  pa = dp.addPort({ type: 'system', name: ha.switchIf }).port;
  // The underlay: a namespace at 10.213.RUN.2 behind a veth whose root end is 10.213.RUN.1.
  const u = await lab.addVethHost('u', `10.213.${RUN}.2/24`);
  await run('ip', ['addr', 'add', `10.213.${RUN}.1/24`, 'dev', u.switchIf]);
  underlay = { local: `10.213.${RUN}.1`, remote: `10.213.${RUN}.2`, ns: u.host.ns };
});

afterEach(async () => {
  if (peer?.pid !== undefined && peer.exitCode === null) {
    peer.kill();
    await once(peer, 'exit');
  }
  peer = undefined;
  dp.close();
  await lab.cleanup();
});

describe('a vxlan vport and a Linux kernel vxlan device', () => {
  it('carry a ping there and back, and the kernel draws no ICMP port-unreachable from us', async () => {
    const vport = openTunnel('vxlan');
    await kernelVxlan();
    expect(await ping(a, `192.168.${RUN}.2`, 3)).toBe(3);
    const stats = dp.port(vport).stats;
    expect(stats.rxPackets).toBeGreaterThanOrEqual(3);
    expect(stats.txPackets).toBeGreaterThanOrEqual(3);
    expect(stats.rxErrors + stats.txErrors + stats.txDropped).toBe(0);
    // The far end saw every VXLAN datagram it sent arrive at a bound port.
    expect((await icmpCounters(underlay.ns)).InDestUnreachs).toBe(0);
  });

  it('carry a TCP transfer from a host with a 1500-byte MTU intact: its super-frames are cut to fit the tunnel, unfinished checksums from the kernel finished', async () => {
    openTunnel('vxlan');
    await kernelVxlan();
    const server: Host = { ns: underlay.ns, ifname: 'vx0', ip: `192.168.${RUN}.2`, mac: '', exec: (cmd, args, opts) => run('ip', ['netns', 'exec', underlay.ns, cmd, ...args], opts) };
    const r = await tcpTransfer(server, a, 8 << 20, 5300 + RUN);
    expect(r.received).toEqual(r.sent);
    expect(r.received.bytes).toBe(8 << 20);
  });

  it('answer a ping with DF too big for the tunnel with ICMP fragmentation needed, naming the tunnel MTU', async () => {
    const vport = openTunnel('vxlan');
    await kernelVxlan();
    const out = await a.exec('ping', ['-c', '1', '-W', '2', '-M', 'do', '-s', '1472', `192.168.${RUN}.2`]).catch((e: unknown) => String(e));
    expect(out).toMatch(/Frag needed and DF set \(mtu = 1450\)/);
    expect(dp.port(vport).stats.txDropped).toBe(1);
  });
});

describe.each(['vxlan', 'geneve', 'gre'] as const)('a %s vport and a second TVS datapath', (type) => {
  it('carry a ping between hosts behind them (over geneve, matching the option each sends), with no ICMP unreachable on either side', async () => {
    openTunnel(type);
    // The peer: a datapath in the underlay namespace whose vport (1) and
    // tap (2) are joined by the mirror image of our flows.
    const spec = {
      type,
      name: VPORT_NAME[type],
      port: type === 'gre' ? undefined : PORT,
      tap: 'tvtap0',
      flows: [
        ['in_port(2)', `set(tunnel(tun_id=${VNI},src=${underlay.remote},dst=${underlay.local},ttl=64,${geneveOption(type, 0xb)}flags(df|key))),1`],
        [`tunnel(tun_id=${VNI},src=${underlay.local},dst=${underlay.remote},${geneveOption(type, 0xa)}flags(+key)),in_port(1)`, '2'],
      ],
    };
    const script = `
      import { Datapath } from '${join(ROOT, 'dist/src/datapath/dpif.js')}';
      import { encodeKey } from '${join(ROOT, 'dist/src/datapath/flow-key.js')}';
      import { parseActions, parseMatch } from '${join(ROOT, 'dist/src/datapath/odp-syntax.js')}';
      const spec = JSON.parse(process.env.TUNNEL_PEER);
      const dp = Datapath.open();
      dp.addPort({ type: spec.type, name: spec.name, portNo: 1, ...(spec.port ? { options: { dstPort: spec.port } } : {}) });
      dp.addPort({ type: 'tap', name: spec.tap, portNo: 2 });
      for (const [match, actions] of spec.flows) {
        const m = parseMatch(match);
        dp.putFlow({ key: encodeKey(m.key), mask: encodeKey(m.mask), actions: parseActions(actions) });
      }
      process.on('SIGTERM', () => { dp.close(); process.exit(0); });
      console.log('ready');
      setInterval(() => {}, 1 << 30);
    `;
    peer = spawn('ip', ['netns', 'exec', underlay.ns, process.execPath, '--input-type=module', '-e', script], {
      env: { ...process.env, TUNNEL_PEER: JSON.stringify(spec) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    peer.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await eventually(() => out.includes('ready') || peer!.exitCode !== null, 20_000, 'the peer datapath to start');
    expect(out).toContain('ready');
    await run('ip', ['-n', underlay.ns, 'addr', 'add', `192.168.${RUN}.2/24`, 'dev', spec.tap]);
    await run('ip', ['-n', underlay.ns, 'link', 'set', spec.tap, 'up']);

    expect(await ping(a, `192.168.${RUN}.2`, 3)).toBe(3);
    const icmp = await icmpCounters(underlay.ns);
    expect([icmp.InDestUnreachs, icmp.OutDestUnreachs]).toEqual([0, 0]);
  });
});

describe.each([['geneve', 'geneve'], ['gre', 'gretap']] as const)('a %s vport and the kernel', (type, kernelType) => {
  it(`interoperate with a kernel ${kernelType} device, when the kernel has one`, async (ctx) => {
    if (!(await kernelHas(kernelType))) ctx.skip(`this kernel has no ${kernelType} devices`);
    openTunnel(type);
    const ns = underlay.ns;
    const idArgs = type === 'gre' ? ['key', String(VNI)] : ['id', String(VNI), 'dstport', String(PORT)];
    await run('ip', ['-n', ns, 'link', 'add', 'tun0', 'type', kernelType, ...idArgs, 'remote', underlay.local, ...(type === 'gre' ? ['local', underlay.remote] : [])]);
    await run('ip', ['-n', ns, 'addr', 'add', `192.168.${RUN}.2/24`, 'dev', 'tun0']);
    await run('ip', ['-n', ns, 'link', 'set', 'tun0', 'up']);
    expect(await ping(a, `192.168.${RUN}.2`, 3)).toBe(3);
  });
});

describe('a vxlan vport', () => {
  it('counts malformed datagrams as receive errors and keeps working', async () => {
    const vport = openTunnel('vxlan');
    const s = createSocket('udp4');
    const send = (b: Buffer) => new Promise<void>((resolve, reject) => s.send(b, PORT, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
    // No I flag; then a VNI but no room for an Ethernet header; then two bytes.
    await send(Buffer.from('0000000000000500aabbccddeeff00112233445566', 'hex'));
    await send(Buffer.from('0800000000000500aabbcc', 'hex'));
    await send(Buffer.from('08', 'hex'));
    s.close();
    await eventually(() => dp.port(vport).stats.rxErrors === 3, 5000, 'three receive errors');
    expect(dp.port(vport).stats.rxPackets).toBe(0);
    // As `tvs-dpctl show -s` prints them.
    const shown = show({ name: 'br0', dp }, { stats: true });
    expect(shown).toContain(`port ${vport}: vxlan_sys_${PORT} (vxlan)\n    RX packets:0 errors:3 dropped:0`);
  });

  it('drops a frame sent to it without set(tunnel(...)) and counts it', async () => {
    const vport = openTunnel('vxlan');
    const frame = Buffer.alloc(60);
    frame.writeUInt16BE(0x0800, 12);
    dp.execute(pa, frame, parseActions(String(vport)));
    await eventually(() => dp.port(vport).stats.txDropped === 1, 5000, 'one dropped frame');
  });
});
