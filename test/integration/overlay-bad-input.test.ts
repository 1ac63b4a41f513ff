// What arrives at a tunnel endpoint is not always a well-formed tunnel packet. Host B crafts
// VXLAN, GRE and Geneve packets with an unknown VNI, a truncated header, bad flags or a bad GRE
// checksum and sends them at host A's underlay address from a plain UDP or raw IP socket: TVS on
// host A drops each one, counts the malformed ones on the tunnel's datapath port (`tvs-dpctl show
// -s`), delivers none of them to a VM, and the overlay keeps carrying traffic.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ping, type Host } from '../../src/lib/netns.js';
import { eventually } from '../helpers/eventually.js';
import { buildFrame, markerPayload, sendFrames, startCapture } from '../helpers/frames.js';
import { Overlay, OVERLAY_PREFIX, rxDiscards, VPORT, type TunnelType, type TvsSwitch, type VmHost } from '../helpers/overlay.js';

/** Sends one datagram (`udp PORT`) or one raw IP packet of protocol 47 (`gre`) carrying HEX to DST. */
const SEND = `
import socket, sys
kind, dst, port, payload = sys.argv[1], sys.argv[2], int(sys.argv[3]), bytes.fromhex(sys.argv[4])
if kind == 'udp':
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 47)
s.sendto(payload, (dst, port))
`;

const VNI = 5000;
const BAD = Buffer.from('BAD-TUNNEL-PACKET');

/** The Ethernet frame inside every crafted packet: a broadcast no VM may ever see. */
const inner = buildFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: '02:bb:00:00:00:01', payload: Buffer.concat([BAD, Buffer.alloc(40)]) });

function vxlan(flags: number, vni: number): Buffer {
  const h = Buffer.alloc(8);
  h[0] = flags;
  h.writeUIntBE(vni, 4, 3);
  return Buffer.concat([h, inner]);
}

function geneve(version: number, vni: number): Buffer {
  const h = Buffer.alloc(8);
  h[0] = version << 6;
  h.writeUInt16BE(0x6558, 2);
  h.writeUIntBE(vni, 4, 3);
  return Buffer.concat([h, inner]);
}

/** One's-complement checksum (RFC 1071). */
function checksum(buf: Buffer): number {
  let sum = 0;
  for (let i = 0; i < buf.length; i += 2) sum += (buf[i]! << 8) | (buf[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** GRE with checksum and key (RFC 2890) around the inner Ethernet frame; `corrupt` makes the checksum wrong. */
function greWithChecksum(key: number, corrupt: boolean): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(0x8000 | 0x2000, 0);
  h.writeUInt16BE(0x6558, 2);
  h.writeUInt32BE(key, 8);
  const packet = Buffer.concat([h, inner]);
  packet.writeUInt16BE(checksum(packet) ^ (corrupt ? 0x5a5a : 0), 4);
  return packet;
}

let overlay: Overlay;
let a: TvsSwitch;
let vmA: VmHost;
let vmB: VmHost;

async function sendAtHostA(kind: 'udp' | 'gre', port: number, payload: Buffer): Promise<void> {
  await overlay.b.exec('python3', ['-c', SEND, kind, overlay.a.underlayIp, String(port), payload.toString('hex')]);
}

beforeAll(async () => {
  overlay = await Overlay.create();
  a = await overlay.tvs(overlay.a);
  const b = await overlay.tvs(overlay.b);
  vmA = await a.addVm('vm', `${OVERLAY_PREFIX}.1/24`, { tag: 10 });
  vmB = await b.addVm('vm', `${OVERLAY_PREFIX}.2/24`, { tag: 10 });
  // One VLAN per tunnel type, so the three tunnels between the same hosts make no loop.
  const types: [TunnelType, number][] = [
    ['vxlan', 10],
    ['gre', 20],
    ['geneve', 30],
  ];
  for (const sw of [a, b]) for (const [type, tag] of types) await sw.addTunnel(`${type}0`, { type, key: VNI, tag });
  expect(await ping(vmA, vmB.ip, 2)).toBe(2);
});

afterAll(async () => {
  await overlay.cleanup();
});

describe('crafted tunnel packets at a TVS tunnel endpoint', () => {
  it.each<{ what: string; type: TunnelType; send: () => Promise<void> }>([
    { what: 'a VXLAN header cut short', type: 'vxlan', send: () => sendAtHostA('udp', 4789, Buffer.from([0x08, 0, 0, 0])) },
    { what: 'VXLAN without its I (VNI valid) flag', type: 'vxlan', send: () => sendAtHostA('udp', 4789, vxlan(0x00, VNI)) },
    { what: 'a GRE header cut short', type: 'gre', send: () => sendAtHostA('gre', 0, Buffer.from([0xa0, 0x00])) },
    { what: 'GRE with a bad checksum', type: 'gre', send: () => sendAtHostA('gre', 0, greWithChecksum(VNI, true)) },
    { what: 'a Geneve header cut short', type: 'geneve', send: () => sendAtHostA('udp', 6081, Buffer.from([0, 0, 0x65, 0x58])) },
    { what: 'Geneve of an unknown version', type: 'geneve', send: () => sendAtHostA('udp', 6081, geneve(1, VNI)) },
  ])('drops $what and counts it on the datapath port', async ({ type, send }) => {
    const before = await rxDiscards(a, VPORT[type]);
    await send();
    await eventually(async () => (await rxDiscards(a, VPORT[type])) > before, 10_000, `${VPORT[type]}'s RX errors or drops to count the packet`);
  });

  it('delivers none of the crafted packets, unknown VNIs included, to a VM, and the overlay keeps working', async () => {
    const capture = await startCapture(vmA);
    await sendAtHostA('udp', 4789, vxlan(0x08, 999));
    await sendAtHostA('udp', 4789, vxlan(0x00, VNI));
    await sendAtHostA('gre', 0, greWithChecksum(999, false));
    await sendAtHostA('gre', 0, greWithChecksum(VNI, true));
    await sendAtHostA('udp', 6081, geneve(0, 999));
    await sendAtHostA('udp', 6081, geneve(1, VNI));
    // Then a broadcast from VM B through the working tunnel: once it arrives, so has all that came before.
    await sendFrames(vmB, buildFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: vmB.mac, payload: markerPayload() }));
    const frames = await capture.untilMarker();
    expect(frames.filter((f) => f.includes(BAD))).toEqual([]);
    expect(await ping(vmA, vmB.ip, 2)).toBe(2);
  });

  it('answers a VXLAN packet with no ICMP error, as it does a datagram to a closed port', async () => {
    const underlayB: Host = { ns: overlay.b.ns, ifname: 'eth0', ip: overlay.b.underlayIp, mac: '', exec: (cmd, args, opts) => overlay.b.exec(cmd, args, opts) };
    const icmpFromA = (frames: Buffer[], type: number) => frames.filter((f) => f[23] === 1 && f.subarray(26, 30).equals(Buffer.from(parseIp(overlay.a.underlayIp))) && f[34] === type);
    const capture = await startCapture(underlayB, 0x0800);
    await sendAtHostA('udp', 4789, vxlan(0x08, 999));
    // A datagram to a port nobody listens on draws "port unreachable": the capture would see one.
    await sendAtHostA('udp', 4788, vxlan(0x08, VNI));
    // An echo reply from host A comes after any ICMP error either datagram drew.
    await overlay.b.exec('ping', ['-c', '1', '-W', '5', overlay.a.underlayIp]);
    const frames = await capture.until((fs) => icmpFromA(fs, 0).length > 0);
    const unreachable = icmpFromA(frames, 3);
    expect(unreachable).toHaveLength(1);
    // The ICMP error quotes the datagram that drew it: the one to 4788, not the VXLAN packet.
    expect(unreachable[0]!.readUInt16BE(34 + 8 + 20 + 2)).toBe(4788);
  });
});

function parseIp(ip: string): number[] {
  return ip.split('.').map(Number);
}
