// Overlays on an IPv6 underlay (the hosts' eth0 have fd50::1 and fd50::2, no IPv4): TVS to TVS,
// and TVS against endpoints we did not write, the kernel's vxlan device and Debian's OVS on its
// userspace datapath, over VXLAN and Geneve with remote_ip an IPv6 address.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ping } from '../../src/lib/netns.js';
import { ovsReferenceAvailable } from '../helpers/ovs-reference.js';
import { kernelTunnelMissing, Overlay, OVERLAY_PREFIX, type OverlaySwitch, type TunnelType, type TvsSwitch, type VmHost } from '../helpers/overlay.js';
import { tcpTransfer } from '../helpers/tcp.js';

describe.each<TunnelType>(['vxlan', 'geneve'])('TVS to TVS over %s on an IPv6 underlay', (type) => {
  let overlay: Overlay;
  let a: TvsSwitch;
  let vmA: VmHost;
  let vmB: VmHost;

  beforeAll(async () => {
    overlay = await Overlay.create({ underlay: 'ipv6' });
    a = await overlay.tvs(overlay.a);
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

  it('carries 4 MB of TCP each way intact, in segments that fit the 40-byte IPv6 header', async () => {
    const ab = await tcpTransfer(vmB, vmA, 4 << 20);
    expect(ab.received).toEqual(ab.sent);
    const ba = await tcpTransfer(vmA, vmB, 4 << 20);
    expect(ba.received).toEqual(ba.sent);
  });

  it('shows the IPv6 outer header in the datapath flows both ways, as OVS prints it', async () => {
    expect(await ping(vmA, vmB.ip, 1)).toBe(1);
    const flows = await a.dpctl('dump-flows');
    expect(flows).toMatch(/tunnel\(tun_id=0x1388,ipv6_src=fd50::2,ipv6_dst=fd50::1,/);
    expect(flows).toMatch(/set\(tunnel\(tun_id=0x1388,ipv6_dst=fd50::2,ttl=64,tp_dst=\d+,flags\(csum\|key\)\)\)/);
    expect(await a.appctl('tnl/ports/show', '-v')).toContain('::->fd50::2, key=5000, dst_port=');
  });
});

let overlay: Overlay | undefined;
afterEach(async () => {
  await overlay?.cleanup();
  overlay = undefined;
});

/** A VM behind each switch, a tunnel of `type` (key 5000) between them; pings and sends 2 MB of TCP each way. */
async function expectOverlayWorks(a: OverlaySwitch, b: OverlaySwitch, type: TunnelType): Promise<void> {
  const vmA = await a.addVm('vm', `${OVERLAY_PREFIX}.1/24`);
  const vmB = await b.addVm('vm', `${OVERLAY_PREFIX}.2/24`);
  await a.addTunnel('tun0', { type, key: 5000 });
  await b.addTunnel('tun0', { type, key: 5000 });
  expect(await ping(vmA, vmB.ip, 3)).toBe(3);
  expect(await ping(vmB, vmA.ip, 3)).toBe(3);
  const ab = await tcpTransfer(vmB, vmA, 2 << 20);
  expect(ab.received).toEqual(ab.sent);
  const ba = await tcpTransfer(vmA, vmB, 2 << 20);
  expect(ba.received).toEqual(ba.sent);
}

describe('TVS and the kernel on an IPv6 underlay', () => {
  it("carries ping and TCP between TVS VXLAN on host A and the kernel's vxlan device (remote fd50::1) on host B", async (ctx) => {
    const missing = await kernelTunnelMissing('vxlan');
    if (missing) ctx.skip(missing);
    overlay = await Overlay.create({ underlay: 'ipv6' });
    await expectOverlayWorks(await overlay.tvs(overlay.a), await overlay.kernel(overlay.b), 'vxlan');
  });
});

describe.each<TunnelType>(['vxlan', 'geneve'])('TVS %s and Open vSwitch on an IPv6 underlay', (type) => {
  it.skipIf(!ovsReferenceAvailable())(`carries ping and TCP between TVS on host A and OVS userspace ${type} on host B`, async () => {
    overlay = await Overlay.create({ underlay: 'ipv6' });
    await expectOverlayWorks(await overlay.tvs(overlay.a), await overlay.ovs(overlay.b), type);
  });
});

describe('GRE on an IPv6 underlay', () => {
  it("is refused in the Interface's error, naming what works instead, while the switch runs on", async () => {
    overlay = await Overlay.create({ underlay: 'ipv6' });
    const a = await overlay.tvs(overlay.a);
    const r = await a.cli('tvs-vsctl', ['--timeout=20', 'add-port', 'br0', 'gre6', '--', 'set', 'interface', 'gre6', 'type=gre', 'options:remote_ip=fd50::2']);
    expect(r.stderr).toContain("gre6: gre over an IPv6 underlay (ip6gre) is not supported by TVS's datapath (remote_ip=fd50::2): use vxlan or geneve over IPv6");
    expect(await a.vsctl('get', 'interface', 'gre6', 'error')).toContain('ip6gre');
    await a.addTunnel('vx6', { type: 'vxlan', key: 7 });
    expect(await a.vsctl('get', 'interface', 'vx6', 'error')).toBe('[]\n');
  });
});
