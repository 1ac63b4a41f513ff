// Real frames through real interfaces: namespace hosts joined by the
// datapath's AF_PACKET and TAP ports.
import { readdirSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Datapath } from '../../src/datapath/dpif.js';
import { Lab, ping, run, type Host } from '../../src/lib/netns.js';
import { eventually } from '../helpers/eventually.js';
import { buildFrame, sendFrames, startCapture, startTapVm } from '../helpers/frames.js';
import { tcpTransfer } from '../helpers/tcp.js';

let lab: Lab;
let dp: Datapath;

beforeEach(() => {
  lab = new Lab();
  dp = Datapath.open();
});

afterEach(async () => {
  dp.close();
  await lab.cleanup();
});

/** Join ports pairwise in both directions. */
function patch(a: number, b: number): void {
  dp.setForward(a, [b]);
  dp.setForward(b, [a]);
}

async function twoVethHosts(): Promise<{ a: Host; b: Host; pa: number; pb: number }> {
  const a = await lab.addVethHost('a', '10.77.0.1/24');
  const b = await lab.addVethHost('b', '10.77.0.2/24');
  const pa = dp.addPort({ type: 'system', name: a.switchIf }).port;
  const pb = dp.addPort({ type: 'system', name: b.switchIf }).port;
  patch(pa, pb);
  return { a: a.host, b: b.host, pa, pb };
}

describe('AF_PACKET ports on veth', () => {
  it('carries ping between two namespaces', async () => {
    const { a } = await twoVethHosts();
    expect(await ping(a, '10.77.0.2', 3)).toBe(3);
  });

  it('carries a TCP transfer intact, GSO super-frames included', async () => {
    const { a, b, pa } = await twoVethHosts();
    const result = await tcpTransfer(b, a, 32 << 20);
    expect(result.received).toEqual(result.sent);
    expect(result.sent.bytes).toBe(32 << 20);
    // Fewer frames than MTU-sized segments would need: super-frames crossed whole.
    const rx = dp.port(pa).stats;
    expect(rx.rxPackets).toBeLessThan((32 << 20) / 1448);
    expect(rx.rxErrors).toBe(0);
  });

  it('refuses a frame longer than the MTU set on the outgoing interface after the port opened', async () => {
    const { a, b, pb } = await twoVethHosts();
    const big = buildFrame({ dst: b.mac, src: a.mac, payload: Buffer.alloc(1200, 0xab) });
    const small = buildFrame({ dst: b.mac, src: a.mac });
    await run('ip', ['link', 'set', lab.ifname('b'), 'mtu', '1000']);
    // The port follows the MTU at the first upkeep that starts after the change.
    const upkeeps = dp.stats().upkeeps;
    await eventually(() => dp.stats().upkeeps > upkeeps, 5000, 'an upkeep after the MTU change');
    const cap = await startCapture(b);
    await sendFrames(a, [big, small]);
    // Sent after the big frame on the same path, the small one arrives once the big one was sent or refused.
    const frames = await cap.until((fs) => fs.some((f) => f.equals(small)));
    expect(frames.map((f) => f.length)).toEqual([small.length]);
    expect(dp.port(pb).stats.txErrors).toBe(1);
  });

  it('keeps an 802.1Q tag end to end although the kernel strips it on receive', async () => {
    const { a, b } = await twoVethHosts();
    const tagged = buildFrame({ dst: b.mac, src: a.mac, vlan: { vid: 42, pcp: 5 } });
    const cap = await startCapture(b);
    await sendFrames(a, tagged, 3);
    const frames = await cap.until(3);
    expect(frames).toHaveLength(3);
    for (const f of frames) expect(f.equals(tagged)).toBe(true);
  });

  it('keeps an 802.1ad outer tag and the inner 802.1Q tag', async () => {
    const { a, b } = await twoVethHosts();
    const inner = buildFrame({ dst: b.mac, src: a.mac, vlan: { vid: 7 } });
    const qinq = Buffer.concat([inner.subarray(0, 12), Buffer.from([0x88, 0xa8, 0x00, 0x64]), inner.subarray(12)]);
    const cap = await startCapture(b);
    await sendFrames(a, qinq, 1);
    const frames = await cap.until(1);
    expect(frames.map((f) => f.toString('hex'))).toEqual([qinq.toString('hex')]);
  });

  it('counts exactly the frames that crossed', async () => {
    const { a, b, pa, pb } = await twoVethHosts();
    const cap = await startCapture(b);
    await sendFrames(a, buildFrame({ dst: b.mac, src: a.mac }), 25);
    expect(await cap.until(25)).toHaveLength(25);
    const inStats = dp.port(pa).stats;
    const outStats = dp.port(pb).stats;
    expect(inStats.rxPackets).toBe(25);
    expect(outStats.txPackets).toBe(25);
    expect(inStats.rxBytes).toBe(25 * 60);
  });
});

describe('TAP port owned by the switch', () => {
  it('serves as a container NIC when moved into a namespace', async () => {
    const a = await lab.addVethHost('a', '10.78.0.1/24');
    const tapName = lab.ifname('c');
    const pa = dp.addPort({ type: 'system', name: a.switchIf }).port;
    const pc = dp.addPort({ type: 'tap', name: tapName, mtu: 1400, mac: '02:aa:00:00:00:01' }).port;
    const c = await lab.adoptIntoHost('c', tapName, '10.78.0.3/24');
    patch(pa, pc);
    expect(await c.exec('cat', [`/sys/class/net/${tapName}/mtu`])).toBe('1400\n');
    // Counted before any ping: afterwards a's kernel may probe c's ARP entry at any time.
    const before = dp.port(pc).stats;
    const cap = await startCapture(c);
    await sendFrames(a.host, buildFrame({ dst: c.mac, src: a.host.mac }), 10);
    expect(await cap.until(10)).toHaveLength(10);
    expect(dp.port(pc).stats.txPackets - before.txPackets).toBe(10);
    expect(await ping(a.host, '10.78.0.3', 4)).toBe(4);
    expect(dp.port(pa).stats.rxErrors + dp.port(pc).stats.txErrors).toBe(0);
  });

  it('carries TCP from a container tap to a veth host intact', async () => {
    const a = await lab.addVethHost('a', '10.78.0.1/24');
    const tapName = lab.ifname('c');
    const pa = dp.addPort({ type: 'system', name: a.switchIf }).port;
    const pc = dp.addPort({ type: 'tap', name: tapName }).port;
    const c = await lab.adoptIntoHost('c', tapName, '10.78.0.3/24');
    patch(pa, pc);
    const up = await tcpTransfer(a.host, c, 16 << 20);
    expect(up.received).toEqual(up.sent);
    const down = await tcpTransfer(c, a.host, 16 << 20, 5202);
    expect(down.received).toEqual(down.sent);
  });

  it('disappears when the datapath closes', async () => {
    const tapName = lab.ifname('z');
    dp.addPort({ type: 'tap', name: tapName });
    expect(await run('ip', ['link', 'show', tapName])).toContain(tapName);
    dp.close();
    await expect(run('ip', ['link', 'show', tapName])).rejects.toThrow(/does not exist/);
  });
});

describe("a VM's tap, held open by another process", () => {
  async function vmTopology() {
    const a = await lab.addVethHost('a', '10.79.0.1/24');
    const vmTap = lab.ifname('vm');
    await run('ip', ['tuntap', 'add', 'mode', 'tap', 'name', vmTap]);
    lab.trackLink(vmTap);
    const pa = dp.addPort({ type: 'system', name: a.switchIf }).port;
    // Attached before the VM runs: the tap has no carrier yet.
    const pv = dp.addPort({ type: 'system', name: vmTap }).port;
    patch(pa, pv);
    return { a: a.host, vmTap, pa, pv };
  }

  it('carries frames both ways through an AF_PACKET port', async () => {
    const { a, vmTap } = await vmTopology();
    const vm = await startTapVm(vmTap);
    try {
      const toVm = buildFrame({ dst: '02:00:00:00:99:01', src: a.mac, payload: Buffer.alloc(46, 1) });
      await sendFrames(a, toVm, 3);
      await eventually(() => vm.received.filter((f) => f.equals(toVm)).length === 3, 5000, 'frames at the VM');
      const cap = await startCapture(a);
      const fromVm = buildFrame({ dst: a.mac, src: '02:00:00:00:99:01', payload: Buffer.alloc(46, 2) });
      vm.send(fromVm);
      vm.send(fromVm);
      const atA = await cap.until((fs) => fs.filter((f) => f.equals(fromVm)).length >= 2);
      expect(atA.filter((f) => f.equals(fromVm))).toHaveLength(2);
    } finally {
      await vm.stop();
    }
  });

  it('keeps working across a VM restart', async () => {
    const { a, vmTap } = await vmTopology();
    const first = await startTapVm(vmTap);
    await first.stop();
    const vm = await startTapVm(vmTap);
    try {
      const toVm = buildFrame({ dst: '02:00:00:00:99:01', src: a.mac, payload: Buffer.alloc(46, 3) });
      await sendFrames(a, toVm, 2);
      await eventually(() => vm.received.filter((f) => f.equals(toVm)).length === 2, 5000, 'frames at the restarted VM');
    } finally {
      await vm.stop();
    }
  });

  it('rebinds when the tap is deleted and created again with a new ifindex', async () => {
    const { a, vmTap, pv } = await vmTopology();
    await run('ip', ['link', 'del', vmTap]);
    await eventually(() => dp.port(pv).detached, 5000, 'the port to detach');
    await run('ip', ['tuntap', 'add', 'mode', 'tap', 'name', vmTap]);
    await eventually(() => !dp.port(pv).detached, 5000, 'the port to reattach');
    const vm = await startTapVm(vmTap);
    try {
      const toVm = buildFrame({ dst: '02:00:00:00:99:01', src: a.mac });
      await sendFrames(a, toVm, 1);
      await eventually(() => vm.received.some((f) => f.equals(toVm)), 5000, 'a frame at the re-created tap');
    } finally {
      await vm.stop();
    }
  });
});

describe('frames from the slow path', () => {
  it('sends a frame built in JS out of a port', async () => {
    const { a, b, pb } = await twoVethHosts();
    const frame = buildFrame({ dst: b.mac, src: a.mac, payload: Buffer.alloc(46, 9) });
    const cap = await startCapture(b);
    dp.sendFrame(pb, frame);
    expect((await cap.until(1)).map((f) => f.toString('hex'))).toEqual([frame.toString('hex')]);
  });
});

describe('bad input', () => {
  const openFds = () => readdirSync('/proc/self/fd').length;

  it('names an interface that does not exist', () => {
    expect(() => dp.addPort({ type: 'system', name: 'nosuchif0' })).toThrow(/no such network device "nosuchif0"/);
  });

  it('refuses a name longer than the kernel allows', () => {
    expect(() => dp.addPort({ type: 'tap', name: 'a-name-far-too-long' })).toThrow(/1 to 15 bytes/);
  });

  it('refuses a port added twice', async () => {
    const a = await lab.addVethHost('a', '10.81.0.1/24');
    dp.addPort({ type: 'system', name: a.switchIf });
    expect(() => dp.addPort({ type: 'system', name: a.switchIf })).toThrow(/already in the datapath/);
  });

  it('refuses a second owner for a tap held by a VM, pointing at the fix', async () => {
    const vmTap = lab.ifname('vm');
    await run('ip', ['tuntap', 'add', 'mode', 'tap', 'name', vmTap]);
    lab.trackLink(vmTap);
    const vm = await startTapVm(vmTap);
    try {
      expect(() => dp.addPort({ type: 'tap', name: vmTap })).toThrow(/held by another process.*system port/);
    } finally {
      await vm.stop();
    }
  });

  it('rejects unknown port numbers, types and malformed arguments', () => {
    expect(() => dp.removePort(999)).toThrow(/no port 999/);
    expect(() => dp.setForward(1, [2])).toThrow(/no port 1/);
    expect(() => dp.addPort({ type: 'bogus' as 'tap', name: 'x' })).toThrow(/unknown port type "bogus"/);
    expect(() => dp.addPort({ type: 'tap', name: 'x', mac: '02:00' })).toThrow(/port "x": 02:00: invalid Ethernet address \(2 bytes where there should be 6/);
    expect(() => dp.sendFrame(1, Buffer.alloc(4))).toThrow(/shorter than an Ethernet header/);
  });

  it('refuses a closed datapath and leaks no descriptors', async () => {
    const a = await lab.addVethHost('a', '10.82.0.1/24');
    const before = openFds();
    for (let i = 0; i < 5; i++) {
      const d = Datapath.open({ onUpcall: () => undefined });
      d.addPort({ type: 'system', name: a.switchIf });
      d.addPort({ type: 'tap', name: lab.ifname(`x${i}`) });
      d.close();
      expect(() => d.ports()).toThrow(/datapath is closed/);
    }
    expect(openFds()).toBe(before);
  });
});
