// Interoperability across an overlay between two host namespaces: the harness proven first with
// two switches that are not TVS (the kernel's vxlan device and Debian's OVS on its userspace
// datapath), then TVS on host A against the kernel's tunnel devices and against OVS on host B.
import { afterEach, describe, expect, it } from 'vitest';
import { ping } from '../../src/lib/netns.js';
import { ovsReferenceAvailable } from '../helpers/ovs-reference.js';
import { kernelTunnelMissing, Overlay, OVERLAY_PREFIX, type OverlaySwitch, type TunnelType } from '../helpers/overlay.js';
import { tcpTransfer } from '../helpers/tcp.js';

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
  const ab = await tcpTransfer(vmB, vmA, 2 << 20);
  expect(ab.received).toEqual(ab.sent);
  const ba = await tcpTransfer(vmA, vmB, 2 << 20);
  expect(ba.received).toEqual(ba.sent);
}

describe('the two-host harness, without TVS', () => {
  it.skipIf(!ovsReferenceAvailable())('carries ping and TCP between a kernel vxlan device on host A and OVS userspace VXLAN on host B', async () => {
    overlay = await Overlay.create();
    await expectOverlayWorks(await overlay.kernel(overlay.a), await overlay.ovs(overlay.b), 'vxlan');
  });

  // OVS against itself shows what the TVS cases below expect of each tunnel type on this underlay.
  it.skipIf(!ovsReferenceAvailable()).each<TunnelType>(['gre', 'geneve'])('carries ping and TCP between OVS userspace %s on both hosts', async (type) => {
    overlay = await Overlay.create();
    await expectOverlayWorks(await overlay.ovs(overlay.a), await overlay.ovs(overlay.b), type);
  });
});

describe.each<TunnelType>(['vxlan', 'gre', 'geneve'])('TVS %s and the kernel', (type) => {
  it(`carries ping and TCP between TVS on host A and the kernel's ${type} device in a Linux bridge on host B`, async (ctx) => {
    const missing = await kernelTunnelMissing(type);
    if (missing) ctx.skip(missing);
    overlay = await Overlay.create();
    await expectOverlayWorks(await overlay.tvs(overlay.a), await overlay.kernel(overlay.b), type);
  });
});

describe.each<TunnelType>(['vxlan', 'gre', 'geneve'])('TVS %s and Open vSwitch', (type) => {
  it.skipIf(!ovsReferenceAvailable())(`carries ping and TCP between TVS on host A and OVS userspace ${type} on host B`, async () => {
    overlay = await Overlay.create();
    await expectOverlayWorks(await overlay.tvs(overlay.a), await overlay.ovs(overlay.b), type);
  });
});
