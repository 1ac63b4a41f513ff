// The outer header TVS puts on the wire, as host B's underlay device sees it: IPv4's DF bit as
// options:df_default says, the outer UDP checksum csum=true asks for (valid), and over an IPv6
// underlay the UDP checksum IPv6 requires.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseIpv6 } from '../../src/lib/addr.js';
import { ping, type Host } from '../../src/lib/netns.js';
import { checksumsValid, startCapture } from '../helpers/frames.js';
import { eventually } from '../helpers/eventually.js';
import { Overlay, OVERLAY_PREFIX, type TvsSwitch, type UnderlayFamily, type VmHost } from '../helpers/overlay.js';

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const VXLAN_PORT = 4789;

/** Two TVS hosts with a VXLAN tunnel (key 5000) and a VM behind each. */
async function twoHosts(underlay: UnderlayFamily): Promise<{ overlay: Overlay; a: TvsSwitch; vmA: VmHost; vmB: VmHost }> {
  const overlay = await Overlay.create({ underlay });
  const a = await overlay.tvs(overlay.a);
  const b = await overlay.tvs(overlay.b);
  const vmA = await a.addVm('vm', `${OVERLAY_PREFIX}.1/24`);
  const vmB = await b.addVm('vm', `${OVERLAY_PREFIX}.2/24`);
  await a.addTunnel('tun0', { type: 'vxlan', key: 5000 });
  await b.addTunnel('tun0', { type: 'vxlan', key: 5000 });
  return { overlay, a, vmA, vmB };
}

/** Host B's underlay device, as a capture takes it. */
function underlayOf(overlay: Overlay): Host {
  return { ns: overlay.b.ns, ifname: 'eth0', ip: overlay.b.underlayIp, mac: '', exec: (cmd, args, opts) => overlay.b.exec(cmd, args, opts) };
}

/** The outer frames of VXLAN datagrams host B receives while vmA pings vmB once (IPv4 or IPv6 outer header). */
async function vxlanFramesOfOnePing(overlay: Overlay, vmA: VmHost, vmB: VmHost): Promise<Buffer[]> {
  const v6 = overlay.family === 'ipv6';
  const udpAt = v6 ? 14 + 40 : 14 + 20;
  const isVxlan = (f: Buffer) => f.length > udpAt + 8 && f[v6 ? 20 : 23] === 17 && f.readUInt16BE(udpAt + 2) === VXLAN_PORT;
  const capture = await startCapture(underlayOf(overlay), v6 ? ETH_IPV6 : ETH_IPV4);
  await ping(vmA, vmB.ip, 1);
  return (await capture.until((fs) => fs.some(isVxlan))).filter(isVxlan);
}

describe('the outer IPv4 header', () => {
  let ctx: Awaited<ReturnType<typeof twoHosts>>;
  beforeAll(async () => {
    ctx = await twoHosts('ipv4');
  });
  afterAll(async () => {
    await ctx.overlay.cleanup();
  });

  it('sets DF by default (df_default=true) and carries a valid UDP checksum with csum=true', async () => {
    await ctx.a.vsctl('set', 'interface', 'tun0', 'options:csum=true', `options:local_ip=${ctx.overlay.a.underlayIp}`);
    await eventually(async () => {
      const [f] = await vxlanFramesOfOnePing(ctx.overlay, ctx.vmA, ctx.vmB);
      return f !== undefined && f.readUInt16BE(14 + 20 + 6) !== 0;
    }, 15_000, 'a VXLAN datagram with a UDP checksum from host A');
    const [f] = await vxlanFramesOfOnePing(ctx.overlay, ctx.vmA, ctx.vmB);
    expect(f![14 + 6]! & 0x40).toBe(0x40);
    expect(checksumsValid(f!)).toEqual({ ip: true, udp: true });
  });

  it('clears DF with options:df_default=false', async () => {
    await ctx.a.vsctl('set', 'interface', 'tun0', 'options:df_default=false');
    await eventually(async () => {
      const [f] = await vxlanFramesOfOnePing(ctx.overlay, ctx.vmA, ctx.vmB);
      return f !== undefined && (f[14 + 6]! & 0x40) === 0;
    }, 15_000, 'a VXLAN datagram without DF from host A');
  });
});

describe('the outer IPv6 header', () => {
  let ctx: Awaited<ReturnType<typeof twoHosts>>;
  beforeAll(async () => {
    ctx = await twoHosts('ipv6');
  });
  afterAll(async () => {
    await ctx.overlay.cleanup();
  });

  it('carries the UDP checksum IPv6 requires, without csum being set, from host A to host B', async () => {
    const [f] = await vxlanFramesOfOnePing(ctx.overlay, ctx.vmA, ctx.vmB);
    expect(f).toBeDefined();
    // From host A's underlay address.
    expect(f!.subarray(14 + 8, 14 + 24)).toEqual(parseIpv6(ctx.overlay.a.underlayIp));
    expect(f!.readUInt16BE(14 + 40 + 6)).not.toBe(0);
  });
});
