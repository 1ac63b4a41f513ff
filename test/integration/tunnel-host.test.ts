// TVS's tunnels on a host that has tunnels of its own: two hosts with a tvs-vswitchd each, a VM
// behind each, joined by a VXLAN port on UDP 4789, and beside it in the same host namespaces the
// kernel's vxlan devices: on another UDP port, on a port TVS is then told to use, and as an
// ordinary port of TVS's bridge. Also the path MTU an IPv6 VM learns from TVS's tunnel port.
// One overlay serves every case.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ping, run } from '../../src/lib/netns.js';
import { eventually } from '../helpers/eventually.js';
import { Overlay, OVERLAY_PREFIX, type TvsSwitch, type UnderlayHost, type VmHost } from '../helpers/overlay.js';

/** The overlay's MTU on the VMs' links and the underlay's: 1600 bytes. */
const LINK_MTU = 1600;
/** What fits in a VXLAN datagram over a 1600-byte underlay, less the inner Ethernet header: 1600 - 20 - 8 - 8 - 14. */
const TUNNEL_IP_MTU = 1550;
const V6_PREFIX = 'fd00:10::';

/** A kernel vxlan device `name` on `host` to the other host, on UDP `port`, with `ip` (CIDR) if given, up. */
async function kernelVxlan(host: UnderlayHost, name: string, vni: number, port: number, ip?: string): Promise<void> {
  await run('ip', ['-n', host.ns, 'link', 'add', name, 'type', 'vxlan', 'id', String(vni), 'remote', host.peerIp, 'local', host.underlayIp, 'dstport', String(port), 'dev', 'eth0']);
  if (ip) await run('ip', ['-n', host.ns, 'addr', 'add', ip, 'dev', name]);
  await run('ip', ['-n', host.ns, 'link', 'set', name, 'up']);
}

/** IPv6 on `vm` with address `V6_PREFIX``n`, and both ends of its link at LINK_MTU. */
async function ipv6AtLinkMtu(host: UnderlayHost, vm: VmHost, n: number): Promise<string> {
  await vm.exec('sysctl', ['-qw', `net.ipv6.conf.${vm.ifname}.disable_ipv6=0`]);
  await vm.exec('ip', ['addr', 'add', `${V6_PREFIX}${n}/64`, 'dev', vm.ifname, 'nodad']);
  await run('ip', ['-n', host.ns, 'link', 'set', vm.port, 'mtu', String(LINK_MTU)]);
  await vm.exec('ip', ['link', 'set', vm.ifname, 'mtu', String(LINK_MTU)]);
  return `${V6_PREFIX}${n}`;
}

/** The MTU `vm`'s kernel holds for its route to `ip`, as `ip -6 route get` shows it (undefined: none learned). */
async function routeMtu(vm: VmHost, ip: string): Promise<number | undefined> {
  const m = /\bmtu (\d+)/.exec(await vm.exec('ip', ['-6', 'route', 'get', ip]));
  return m ? Number(m[1]) : undefined;
}

/** Until `vm`'s route to `ip` holds TUNNEL_IP_MTU: each try sends a packet too big for the tunnel with DF. */
async function learnTunnelMtu(vm: VmHost, ip: string): Promise<void> {
  await eventually(
    async () => {
      if ((await routeMtu(vm, ip)) === TUNNEL_IP_MTU) return true;
      await bigPing(vm, ip, LINK_MTU - 48, true);
      return false;
    },
    20_000,
    `${vm.ns} to learn MTU ${TUNNEL_IP_MTU} towards ${ip}`,
  );
}

/** One echo request of `size` payload bytes (an IPv6 packet of size + 48) from `vm` to `ip`; true if answered. */
async function bigPing(vm: VmHost, ip: string, size: number, dontFragment = false): Promise<boolean> {
  const args = ['-6', '-c', '1', '-W', '2', '-s', String(size), ...(dontFragment ? ['-M', 'do'] : []), ip];
  return vm.exec('ping', args, { timeoutMs: 10_000 }).then(
    () => true,
    () => false,
  );
}

describe('TVS tunnels beside the kernel tunnels of the same host', () => {
  let overlay: Overlay;
  let a: TvsSwitch;
  let vmA: VmHost;
  let vmB: VmHost;

  beforeAll(async () => {
    overlay = await Overlay.create();
    a = await overlay.tvs(overlay.a);
    const b = await overlay.tvs(overlay.b);
    vmA = await a.addVm('vm', `${OVERLAY_PREFIX}.1/24`);
    vmB = await b.addVm('vm', `${OVERLAY_PREFIX}.2/24`);
    await a.addTunnel('vx0', { type: 'vxlan', key: 5000 });
    await b.addTunnel('vx0', { type: 'vxlan', key: 5000 });
    expect(await ping(vmA, vmB.ip, 2)).toBe(2);
  }, 120_000);

  afterAll(async () => {
    await overlay.cleanup();
  });

  it('answers an IPv6 packet too big for the tunnel with packet too big, so the sender learns the tunnel MTU and then gets through', async () => {
    const ipA = await ipv6AtLinkMtu(overlay.a, vmA, 1);
    const ipB = await ipv6AtLinkMtu(overlay.b, vmB, 2);
    // A packet that fits crosses as it is (and the VMs find each other's MACs).
    expect(await bigPing(vmA, ipB, 1400)).toBe(true);
    // 1600 bytes do not fit in the tunnel: TVS answers with the MTU instead of sending them.
    const tooBig = LINK_MTU - 48;
    expect(await bigPing(vmA, ipB, tooBig, true)).toBe(false);
    await learnTunnelMtu(vmA, ipB);
    expect(await vmA.exec('ip', ['-6', 'route', 'get', ipB])).toContain(`mtu ${TUNNEL_IP_MTU}`);
    // VM B learns it from its own too-big answer; then the kernels fragment to fit and the echo comes back whole.
    await learnTunnelMtu(vmB, ipA);
    expect(await bigPing(vmA, ipB, tooBig)).toBe(true);
  });

  it('leaves a kernel vxlan device on another UDP port of the same host working while its vport holds 4789', async () => {
    await kernelVxlan(overlay.a, 'kvx0', 42, 4790, '172.31.42.1/24');
    await kernelVxlan(overlay.b, 'kvx0', 42, 4790, '172.31.42.2/24');
    expect(await overlay.a.exec('ping', ['-c', '3', '-i', '0.2', '-W', '2', '172.31.42.2'])).toContain('3 received');
    expect(await a.appctl('tnl/ports/show')).toContain('vxlan_sys_4789 (4789)');
    expect(await ping(vmA, vmB.ip, 2)).toBe(2);
  });

  it('names the UDP port a kernel vxlan device holds and the fix in the Interface error, and keeps the other tunnels working', async () => {
    await kernelVxlan(overlay.a, 'kvx1', 43, 4800);
    await a.cli('tvs-vsctl', ['--timeout=20', 'add-port', 'br0', 'vx1', '--', 'set', 'interface', 'vx1', 'type=vxlan', `options:remote_ip=${overlay.a.peerIp}`, 'options:key=43', 'options:dst_port=4800']);
    const error = async () => (await a.vsctl('get', 'interface', 'vx1', 'error')).trim();
    await eventually(async () => (await error()) !== '[]', 15_000, "vx1's error");
    expect(await error()).toContain('UDP port 4800 is already in use on this host');
    expect(await error()).toContain('give the tunnel another options:dst_port');
    expect(await ping(vmA, vmB.ip, 2)).toBe(2);
    // The fix the error names.
    await a.vsctl('set', 'interface', 'vx1', 'options:dst_port=4801');
    await eventually(async () => (await error()) === '[]', 15_000, "vx1's error to clear");
    expect(await a.appctl('tnl/ports/show')).toContain('vxlan_sys_4801 (4801)');
    expect(await run('ip', ['-n', overlay.a.ns, '-br', 'link', 'show', 'kvx1'])).toMatch(/\bUNKNOWN\b|\bUP\b/);
    await a.vsctl('del-port', 'br0', 'vx1');
  });

  it('forwards through a kernel vxlan device that is an ordinary port of its bridge', async () => {
    // Host A's device is a port of br0 beside VM A; host B's ends in an address on the overlay subnet.
    await kernelVxlan(overlay.a, 'kvx2', 44, 4802);
    await kernelVxlan(overlay.b, 'kvx2', 44, 4802, `${OVERLAY_PREFIX}.9/24`);
    await a.vsctl('add-port', 'br0', 'kvx2');
    // The answers can only come back through kvx2: host B's end is not bridged to anything.
    expect(await ping(vmA, `${OVERLAY_PREFIX}.9`, 3)).toBe(3);
  });
});
