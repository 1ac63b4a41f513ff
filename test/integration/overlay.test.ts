// TVS to TVS across an overlay: two hosts, a tvs-vswitchd on each, VMs on one overlay subnet
// joined by VXLAN, GRE or Geneve tunnel ports configured as a user configures them
// (`tvs-vsctl add-port br0 vx0 -- set interface vx0 type=vxlan options:remote_ip=...`).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ping } from '../../src/lib/netns.js';
import { startCapture } from '../helpers/frames.js';
import { Overlay, OVERLAY_PREFIX, type TunnelType, type VmHost } from '../helpers/overlay.js';
import { tcpTransfer } from '../helpers/tcp.js';

const TYPES: TunnelType[] = ['vxlan', 'gre', 'geneve'];

describe.each(TYPES)('TVS to TVS over %s', (type) => {
  let overlay: Overlay;
  let vmA: VmHost;
  let vmB: VmHost;

  beforeAll(async () => {
    overlay = await Overlay.create();
    const a = await overlay.tvs(overlay.a);
    const b = await overlay.tvs(overlay.b);
    vmA = await a.addVm('vm', `${OVERLAY_PREFIX}.1/24`);
    vmB = await b.addVm('vm', `${OVERLAY_PREFIX}.2/24`);
    await a.addTunnel('tun0', { type, key: 5000 });
    await b.addTunnel('tun0', { type, key: 5000 });
  });

  afterAll(async () => {
    await overlay.cleanup();
  });

  it('carries a ping between VMs on the two hosts', async () => {
    expect(await ping(vmA, vmB.ip, 3)).toBe(3);
  });

  it('carries 4 MB of TCP each way intact', async () => {
    const ab = await tcpTransfer(vmB, vmA, 4 << 20);
    expect(ab.received).toEqual(ab.sent);
    const ba = await tcpTransfer(vmA, vmB, 4 << 20);
    expect(ba.received).toEqual(ba.sent);
  });
});

describe('tunnels of two VNIs over one underlay', () => {
  let overlay: Overlay | undefined;
  afterEach(async () => {
    await overlay?.cleanup();
    overlay = undefined;
  });

  it('keeps the VNIs apart: the same addresses in both reach only their own VNI', async () => {
    overlay = await Overlay.create();
    const a = await overlay.tvs(overlay.a);
    const b = await overlay.tvs(overlay.b);
    // Tenant 1 is VLAN 10 on each host, carried as VNI 5000; tenant 2 is VLAN 20, VNI 6000.
    // Both use 10.10.0.1 and 10.10.0.2.
    const a1 = await a.addVm('t1', `${OVERLAY_PREFIX}.1/24`, { tag: 10 });
    const a2 = await a.addVm('t2', `${OVERLAY_PREFIX}.1/24`, { tag: 20 });
    const b1 = await b.addVm('t1', `${OVERLAY_PREFIX}.2/24`, { tag: 10 });
    const b2 = await b.addVm('t2', `${OVERLAY_PREFIX}.2/24`, { tag: 20 });
    for (const sw of [a, b]) {
      await sw.addTunnel('vni5000', { type: 'vxlan', key: 5000, tag: 10 });
      await sw.addTunnel('vni6000', { type: 'vxlan', key: 6000, tag: 20 });
    }
    expect(await ping(a1, b1.ip, 3)).toBe(3);
    // Tenant 2's host B never heard tenant 1's ARP request, and tenant 1's answer came from its own peer.
    expect(await b2.exec('ip', ['neigh', 'show', a1.ip])).toBe('');
    expect(await a1.exec('ip', ['neigh', 'show', b1.ip])).toContain(b1.mac);
    expect(await ping(a2, b2.ip, 3)).toBe(3);
    expect(await a2.exec('ip', ['neigh', 'show', b2.ip])).toContain(b2.mac);
  });

  it('maps an access port of VLAN 10 on host A onto the tunnel, and host B receives its frames untagged', async () => {
    overlay = await Overlay.create();
    const a = await overlay.tvs(overlay.a);
    const b = await overlay.tvs(overlay.b);
    const vmA = await a.addVm('vm', `${OVERLAY_PREFIX}.1/24`, { tag: 10 });
    const vmB = await b.addVm('vm', `${OVERLAY_PREFIX}.2/24`);
    await a.addTunnel('vx0', { type: 'vxlan', key: 5000, tag: 10 });
    await b.addTunnel('vx0', { type: 'vxlan', key: 5000 });
    const capture = await startCapture(vmB, 0x0800);
    expect(await ping(vmA, vmB.ip, 3)).toBe(3);
    const frames = await capture.until(3);
    expect(frames.length).toBeGreaterThanOrEqual(3);
    for (const f of frames) expect(f.readUInt16BE(12)).toBe(0x0800);
  });
});
