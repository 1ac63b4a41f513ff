// Interoperability over a VXLAN/GRE/Geneve underlay between two host namespaces: the harness
// proven with two switches that are not TVS (the kernel's vxlan device and Debian's OVS), then
// TVS against each of them.
import { afterEach, describe, expect, it } from 'vitest';
import { ping } from '../../src/lib/netns.js';
import { kernelTunnelMissing, Overlay, ovsInstalled, OVERLAY_PREFIX, type TunnelType } from '../helpers/overlay.js';
import { tcpTransfer } from '../helpers/tcp.js';

let overlay: Overlay | undefined;
afterEach(async () => {
  await overlay?.cleanup();
  overlay = undefined;
});

describe('the two-host harness, without TVS', () => {
  it.skipIf(!ovsInstalled())('carries a ping from a kernel vxlan device on host A to OVS userspace VXLAN on host B', async () => {
    overlay = await Overlay.create();
    const a = await overlay.kernel(overlay.a);
    const b = await overlay.ovs(overlay.b);
    const vmA = await a.addVm('vm', `${OVERLAY_PREFIX}.1/24`);
    const vmB = await b.addVm('vm', `${OVERLAY_PREFIX}.2/24`);
    await a.addTunnel('vx0', { type: 'vxlan', key: 5000 });
    await b.addTunnel('vx0', { type: 'vxlan', key: 5000 });
    expect(await ping(vmA, vmB.ip, 3)).toBe(3);
    const t = await tcpTransfer(vmB, vmA, 2 << 20);
    expect(t.received).toEqual(t.sent);
  });
});
