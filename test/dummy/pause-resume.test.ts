// controller(pause) and NXT_RESUME through the TypeScript controller API (tvs/controller): a
// frame stops at the pause, goes to the controller with its continuation, and goes on through
// the rest of the pipeline only when the controller sends it back, as OVN's put_dhcp_opts, arp
// and icmp4 actions use it.
import { afterEach, describe, expect, it } from 'vitest';
import { connect, Match, OFP10, OFP13, OfRemoteError, type OpenFlowSwitch, type PacketIn } from '../../src/public/controller.js';
import { dummyLan, stopDummyLans } from '../helpers/dummy-lan.js';
import { eventually } from '../helpers/eventually.js';

afterEach(stopDummyLans);

/** A controller on br0's management socket that gets packet-ins in `format`, and the packet-ins it got. */
async function controllerOf(mgmtSocket: string, version = OFP13, format: 'nxt_packet_in2' | 'standard' = 'nxt_packet_in2') {
  const c = await connect(mgmtSocket, { versions: [version] });
  const pins: PacketIn[] = [];
  c.on('packet-in', (p) => pins.push(p));
  // A management connection gets asynchronous messages once it sets a miss_send_len.
  c.send({ type: 'set_config', flags: 0, missSendLen: 0xffff });
  await c.setPacketInFormat(format);
  return { c, pins };
}

/** The packet-in `n` (1-based) once it has come. */
async function nthPacketIn(pins: PacketIn[], n: number): Promise<PacketIn> {
  await eventually(() => pins.length >= n, 5000, `packet-in ${n}`);
  return pins[n - 1]!;
}

/** The packet-in with its registers `regs` set, as a controller reports its action's result. */
function withRegisters(pin: PacketIn, regs: Record<string, number>): PacketIn {
  const match = new Match(pin.match.flow, pin.match.wc);
  for (const [reg, v] of Object.entries(regs)) match.set(reg as 'reg0', BigInt(v));
  return { ...pin, match };
}

let controller: OpenFlowSwitch | undefined;
afterEach(() => controller?.close());

describe('controller(pause) resumed by the TypeScript controller', () => {
  it.each([
    ['OpenFlow 1.0', OFP10],
    ['OpenFlow 1.3', OFP13],
  ])('%s: holds the frame until the controller resumes it, then sends it on out of port 2', async (_n, version) => {
    const { sw, hosts: [h1, h2] } = await dummyLan(2);
    const { c, pins } = await controllerOf(sw.daemon.mgmtSocket('br0'), version);
    controller = c;
    await c.flowMod('table=0,priority=100,in_port=1,actions=controller(pause,userdata=01.02.03),output:2');
    const frame = h1.udpTo(h2, { sport: 1000, dport: 2000 });
    h1.send(frame);
    const pin = await nthPacketIn(pins, 1);
    expect(pin.userdata).toEqual(Buffer.from([1, 2, 3]));
    expect(pin.continuation).toBeDefined();
    expect(pin.data.equals(frame)).toBe(true);
    // The datapath ran the frame's actions before the upcall reached the controller: output:2 was not among them.
    expect(h2.drain()).toEqual([]);
    await c.resume(pin);
    const [got] = await h2.receive();
    expect(got!.equals(frame)).toBe(true);
  });

  it('continues with the registers the controller sets in the resume, as OVN reports an action\'s result', async () => {
    const { sw, hosts: [h1, h2, h3] } = await dummyLan(3);
    const { c, pins } = await controllerOf(sw.daemon.mgmtSocket('br0'));
    controller = c;
    await c.flowMods([
      'table=0,priority=100,in_port=1,actions=load:0x7->NXM_NX_REG1[],controller(pause),resubmit(,1)',
      'table=1,priority=10,reg0=0x5,reg1=0x7,actions=output:2',
      'table=1,priority=5,reg1=0x7,actions=output:3',
    ]);
    const frame = h1.udpTo(h2, { sport: 1000, dport: 2000 });
    h1.send([frame, frame]);
    const first = await nthPacketIn(pins, 1);
    const second = await nthPacketIn(pins, 2);
    // reg1 was set before the pause: the packet-in reports it, and the resume brings it back.
    expect(first.match.field('reg1').value).toBe(7n);
    await c.resume(withRegisters(first, { reg0: 5 }));
    expect((await h2.receive())[0]!.equals(frame)).toBe(true);
    await c.resume(second);
    expect((await h3.receive({ match: (f) => f.equals(frame) }))[0]!.equals(frame)).toBe(true);
    expect(h2.drain()).toEqual([]);
  });

  it("pauses again in a resumed pipeline, and the second resume finishes it (OpenFlow 1.0, table ids by OVS's extension)", async () => {
    const { sw, hosts: [h1, h2] } = await dummyLan(2);
    const { c, pins } = await controllerOf(sw.daemon.mgmtSocket('br0'), OFP10);
    controller = c;
    await c.flowMods(['table=0,priority=100,in_port=1,actions=controller(pause,userdata=01),resubmit(,1)', 'table=1,actions=controller(pause,userdata=02),output:2']);
    const frame = h1.udpTo(h2, { sport: 1000, dport: 2000 });
    h1.send(frame);
    await c.resume(await nthPacketIn(pins, 1));
    const again = await nthPacketIn(pins, 2);
    expect(again.userdata).toEqual(Buffer.from([2]));
    expect(again.tableId).toBe(1);
    expect(h2.drain()).toEqual([]);
    await c.resume(again);
    expect((await h2.receive())[0]!.equals(frame)).toBe(true);
  });

  it('sends a plain packet-in, which cannot be resumed, to a controller not using NXT_PACKET_IN2', async () => {
    const { sw, hosts: [h1, h2] } = await dummyLan(2);
    const { c, pins } = await controllerOf(sw.daemon.mgmtSocket('br0'), OFP13, 'standard');
    controller = c;
    await c.flowMod('table=0,priority=100,in_port=1,actions=controller(pause),output:2');
    h1.send(h1.udpTo(h2, { sport: 1000, dport: 2000 }));
    const pin = await nthPacketIn(pins, 1);
    expect(pin.continuation).toBeUndefined();
    await expect(c.resume(pin)).rejects.toThrow(/no continuation to resume.*nxt_packet_in2/);
  });

  it('refuses a continuation from another bridge as stale and a damaged one as malformed, and keeps forwarding', async () => {
    const { sw, hosts: [h1, h2] } = await dummyLan(2);
    await sw.addBridge('br1');
    const { c, pins } = await controllerOf(sw.daemon.mgmtSocket('br0'));
    controller = c;
    const other = await connect(sw.daemon.mgmtSocket('br1'), { versions: [OFP13] });
    try {
      await c.flowMod('table=0,priority=100,in_port=1,actions=controller(pause),output:2');
      const frame = h1.udpTo(h2, { sport: 1000, dport: 2000 });
      h1.send(frame);
      const pin = await nthPacketIn(pins, 1);
      await other.setPacketInFormat('nxt_packet_in2');
      const stale = other.resume(pin);
      await expect(stale).rejects.toThrow(OfRemoteError);
      await expect(stale).rejects.toMatchObject({ name: 'NXR_STALE' });
      const damaged = Buffer.from(pin.continuation!);
      damaged.writeUInt16BE(0xff00, 2);
      await expect(c.resume({ ...pin, continuation: damaged })).rejects.toMatchObject({ name: 'OFPBPC_BAD_LEN' });
      // The switch still resumes the good one.
      await c.resume(pin);
      expect((await h2.receive())[0]!.equals(frame)).toBe(true);
    } finally {
      other.close();
    }
  });
});
