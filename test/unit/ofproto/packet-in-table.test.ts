// Packet-in descriptors live while a megaflow names them (and one sweep longer, for upcalls in
// flight), not for the life of the process: controller actions that come and go, as OVN's do
// with its ports and rules, leave the table as small as what is installed.
import { afterEach, describe, expect, it } from 'vitest';
import { udpFrame } from '../../../src/api/frames.js';
import { OfprotoDpif, type PacketInEvent } from '../../../src/ofproto/ofproto-dpif.js';
import { PacketInTable } from '../../../src/ofproto/packet-in-table.js';
import { XBridge } from '../../../src/ofproto/xbridge.js';
import type { PacketIn } from '../../../src/ofproto/xlate.js';
import { parseFlowMod } from '../../../src/openflow/flow-syntax.js';

const pin = (cookie: bigint): PacketIn => ({ reason: 'action', tableId: 0, cookie, maxLen: 0xffff, bridge: 'br0', inPort: 1, metadata: {} });
const cookieOf = (userdata: Buffer) => userdata.readBigUInt64LE(0);
const hexByte = (n: number) => n.toString(16).padStart(2, '0');

describe('PacketInTable', () => {
  it('gives equal packet-ins one descriptor and different ones their own', () => {
    const t = new PacketInTable();
    const a = t.userdata(pin(1n));
    expect(t.userdata(pin(1n))).toEqual(a);
    expect(t.userdata(pin(2n))).not.toEqual(a);
    expect(t.size).toBe(2);
    expect(t.lookup(cookieOf(a))).toEqual(pin(1n));
  });

  it('keeps what an installed flow names, and what was used since the last sweep, and frees the rest', () => {
    const t = new PacketInTable();
    const installed = t.userdata(pin(1n));
    const passing = t.userdata(pin(2n));
    const id = (u: Buffer) => u.readUInt32LE(4);
    // Both were just interned: an upcall for either may still be on its way.
    expect(t.sweep(new Set([id(installed)]))).toBe(0);
    expect(t.sweep(new Set([id(installed)]))).toBe(1);
    expect(t.lookup(cookieOf(passing))).toBeUndefined();
    expect(t.lookup(cookieOf(installed))).toEqual(pin(1n));
    // A freed packet-in interned again gets a new id: a late upcall for the old one finds nothing.
    expect(t.userdata(pin(2n))).not.toEqual(passing);
  });

  it('answers no cookie that is not a controller descriptor', () => {
    const t = new PacketInTable();
    t.userdata(pin(1n));
    expect(t.lookup(0n)).toBeUndefined();
    expect(t.lookup(0xffffffffffffffffn)).toBeUndefined();
  });
});

describe('packet-in descriptors of a running datapath', () => {
  let of: OfprotoDpif | undefined;
  afterEach(() => of?.close());

  it('stays as small as the installed megaflows while hundreds of distinct controller actions come and go', async () => {
    let delivered: ((ev: PacketInEvent) => void) | undefined;
    of = new OfprotoDpif({ onPacketIn: (ev) => delivered?.(ev) });
    const xb = new XBridge({ name: 'br0', defaultRule: false });
    of.addBridge(xb);
    const dpPort = of.datapath.addPort({ type: 'dummy', name: 'p1' }).port;
    xb.addPort({ ofport: 1, dpPort, name: 'p1' });
    of.attachPort(xb, dpPort);
    const frame = udpFrame({ src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02', ipSrc: '10.0.0.1', ipDst: '10.0.0.2', sport: 1, dport: 2 });
    let largest = 0;
    for (let i = 0; i < 200; i++) {
      // Each rule replaces the one before (same match): its megaflow is revalidated to the new action.
      xb.flowMod(parseFlowMod(`in_port=1,actions=controller(userdata=${hexByte(i >> 8)}.${hexByte(i & 0xff)})`, 'add'));
      await of.revalidated();
      const packetIn = new Promise<PacketInEvent>((resolve) => (delivered = resolve));
      of.datapath.injectFrames(dpPort, [frame]);
      expect((await packetIn).packetIn.userdata).toEqual(Buffer.from([i >> 8, i & 0xff]));
      await of.revalidationRound();
      largest = Math.max(largest, xb.packetIns.size);
    }
    // One megaflow names one descriptor; the one it named before lives one sweep longer.
    expect(largest).toBeLessThanOrEqual(3);
    expect(of.datapath.dumpFlows()).toHaveLength(1);
  });
});
