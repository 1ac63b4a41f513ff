// Port mirroring on real traffic (issue 15's acceptance): two namespace hosts
// ping each other through tvs-vswitchd while an analyzer host, on the mirror's
// output port (SPAN) or on a trunk carrying the mirror's VLAN (RSPAN),
// captures what the switch copies to it. Mirrors are made with tvs-vsctl and
// with Debian's ovs-vsctl, as users make them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, ping, run, type Host } from '../../src/lib/netns.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { eventually } from '../helpers/eventually.js';
import { markerPayload, sendFrames, startCapture, udpFrame } from '../helpers/frames.js';

let lab: Lab;
let sw: TestDaemon;
let br: string;
let a: Host;
let b: Host;
/** The SPAN analyzer, on a port of its own. */
let span: Host;
/** The RSPAN analyzer, on a trunk of VLAN 999 (and of the hosts' VLAN 10, so that a test can flood it a marker). */
let trunk: Host;
const ports: Record<string, string> = {};

const ICMP_ECHO_REQUEST = 8;
const ICMP_ECHO_REPLY = 0;
const RSPAN_VLAN = 999;

/** An IPv4 ICMP frame (possibly 802.1Q-tagged) as "src>dst type", and its VLAN (0: untagged). */
function icmp(frame: Buffer): { text: string; vlan: number } | undefined {
  const tagged = frame.readUInt16BE(12) === 0x8100;
  const ip = tagged ? 18 : 14;
  if (frame.readUInt16BE(ip - 2) !== 0x0800 || frame[ip + 9] !== 1) return undefined;
  const addr = (at: number) => [...frame.subarray(at, at + 4)].join('.');
  const type = frame[ip + ((frame[ip]! & 0xf) << 2)]!;
  const kind = type === ICMP_ECHO_REQUEST ? 'request' : type === ICMP_ECHO_REPLY ? 'reply' : `type ${type}`;
  return { text: `${addr(ip + 12)}>${addr(ip + 16)} ${kind}`, vlan: tagged ? frame.readUInt16BE(14) & 0xfff : 0 };
}

/** A UDP marker from host `from` to host `to`: mirrored (or flooded) after everything `from` sent before it. */
const marker = (from: Host, to: Host) => sendFrames(from, udpFrame({ dst: to.mac, src: from.mac, ipSrc: from.ip, ipDst: to.ip, payload: markerPayload() }));

beforeAll(async () => {
  lab = new Lab();
  br = lab.ifname('br');
  sw = await startDaemon();
  for (const [role, ip] of [['a', '10.71.0.1/24'], ['b', '10.71.0.2/24'], ['span', '10.71.0.9/24'], ['t', '10.71.0.10/24']] as const) {
    const h = await lab.addVethHost(role, ip);
    ports[role] = h.switchIf;
    if (role === 'a') a = h.host;
    else if (role === 'b') b = h.host;
    else if (role === 'span') span = h.host;
    else trunk = h.host;
  }
  await sw.vsctl(
    'add-br', br,
    '--', 'add-port', br, ports.a!, 'tag=10',
    '--', 'add-port', br, ports.b!, 'tag=10',
    '--', 'add-port', br, ports.span!, 'tag=10',
    '--', 'add-port', br, ports.t!, `trunks=10,${RSPAN_VLAN}`,
  );
  // Addresses learned both ways: the pings below are unicast from the start.
  expect(await ping(a, b.ip, 1)).toBe(1);
});

afterAll(async () => {
  await sw?.stop();
  await lab?.cleanup();
});

describe('port mirroring', () => {
  it('a SPAN mirror made with tvs-vsctl delivers both directions of a ping to the analyzer port, each frame once', async () => {
    await sw.vsctl('--', '--id=@p', 'get', 'port', ports.span!, '--', '--id=@m', 'create', 'mirror', 'name=m0', 'select_all=true', 'output_port=@p', '--', 'set', 'bridge', br, 'mirrors=@m');
    const atSpan = await startCapture(span, 0x0800);
    expect(await ping(a, b.ip, 3)).toBe(3);
    await marker(a, b);
    const seen = (await atSpan.untilMarker()).map(icmp);
    expect(seen).toEqual([
      ...[1, 2, 3].flatMap(() => [
        { text: `${a.ip}>${b.ip} request`, vlan: 0 },
        { text: `${b.ip}>${a.ip} reply`, vlan: 0 },
      ]),
    ]);
    // The ofproto/trace of such a frame names the copy.
    const trace = await sw.appctl('ofproto/trace', br, `in_port=${ports.a!},dl_src=${a.mac},dl_dst=${b.mac}`);
    expect(trace).toContain(`mirror m0: packet received on ${ports.a!}, copy to port ${ports.span!}`);
  });

  it("writes the frames a mirror sent to its row's statistics", async () => {
    await sw.appctl('revalidator/wait');
    // Written with the other statistics, every 5 s.
    await eventually(
      async () => {
        const stats = await sw.vsctl('get', 'mirror', 'm0', 'statistics');
        const packets = Number(/tx_packets=(\d+)/.exec(stats)?.[1] ?? 0);
        return packets >= 7 && /tx_bytes=\d{3,}/.test(stats);
      },
      15_000,
      'Mirror m0 statistics',
    );
  });

  it('stops the copies as soon as tvs-vsctl has removed the mirror', async () => {
    await sw.vsctl('clear', 'bridge', br, 'mirrors');
    expect(await sw.vsctl('list', 'mirror')).toBe('');
    const atSpan = await startCapture(span, 0x0800);
    expect(await ping(a, b.ip, 3)).toBe(3);
    // No longer reserved for mirroring, the analyzer's port gets floods again: a broadcast
    // marker reaches it after anything a mirror would have copied there.
    await sendFrames(a, udpFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: a.mac, ipSrc: a.ip, ipDst: '10.71.0.255', payload: markerPayload() }));
    expect((await atSpan.untilMarker()).map(icmp)).toEqual([]);
  });

  it("an RSPAN mirror made with Debian's ovs-vsctl delivers the ping tagged with its VLAN on a trunk, and stops when removed", async () => {
    const ovsVsctl = (...args: string[]) => run('ovs-vsctl', [`--db=${sw.db}`, '--timeout=20', ...args]);
    await ovsVsctl('--', '--id=@m', 'create', 'mirror', 'name=rspan', 'select_all=true', `output_vlan=${RSPAN_VLAN}`, '--', 'set', 'bridge', br, 'mirrors=@m');
    let atTrunk = await startCapture(trunk, 0x0800);
    expect(await ping(b, a.ip, 2)).toBe(2);
    await marker(b, a);
    expect((await atTrunk.untilMarker()).map(icmp)).toEqual([
      ...[1, 2].flatMap(() => [
        { text: `${b.ip}>${a.ip} request`, vlan: RSPAN_VLAN },
        { text: `${a.ip}>${b.ip} reply`, vlan: RSPAN_VLAN },
      ]),
    ]);
    await ovsVsctl('--', '--id=@m', 'get', 'mirror', 'rspan', '--', 'remove', 'bridge', br, 'mirrors', '@m');
    atTrunk = await startCapture(trunk, 0x0800);
    expect(await ping(b, a.ip, 2)).toBe(2);
    // A broadcast in VLAN 10, flooded to the trunk, reaches it after anything a mirror would have copied there.
    await sendFrames(b, udpFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: b.mac, ipSrc: b.ip, ipDst: '10.71.0.255', payload: markerPayload() }));
    expect((await atTrunk.untilMarker()).map(icmp)).toEqual([]);
  });

  it('refuses a mirror with no output, saying what to set, and keeps the bridge forwarding', async () => {
    await sw.vsctl('--', '--id=@m', 'create', 'mirror', 'name=nowhere', 'select_all=true', '--', 'set', 'bridge', br, 'mirrors=@m');
    const warning = new RegExp(`WARN.*bridge ${br}: mirror nowhere: does not specify output; ignoring \\(set output_port or output_vlan\\)`);
    // Logged before the daemon confirmed the configuration; its pipe may deliver it a moment later.
    await eventually(() => warning.test(sw.stderr()), 10_000, 'the warning about mirror nowhere');
    expect(await ping(a, b.ip, 1)).toBe(1);
    await sw.vsctl('clear', 'bridge', br, 'mirrors');
  });
});
