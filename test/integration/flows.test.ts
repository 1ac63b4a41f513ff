// The flow cache on real traffic: megaflows installed through the datapath
// API, frames crossing between namespaces, upcalls, expiry and limits.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Datapath, extractKey, type Upcall } from '../../src/datapath/dpif.js';
import { decodeKey, encodeKey, exactMask, TCI_PRESENT } from '../../src/datapath/flow-key.js';
import { Lab, type Host } from '../../src/lib/netns.js';
import { setLogSink } from '../../src/lib/log.js';
import { eventually } from '../helpers/eventually.js';
import { buildFrame, checksumsValid, markerPayload, sendFlows, sendFrames, startCapture, udpFrame } from '../helpers/frames.js';

let lab: Lab;
let dp: Datapath;
let upcalls: Upcall[];
let a: Host;
let b: Host;
let pa: number;
let pb: number;

beforeEach(async () => {
  lab = new Lab();
  upcalls = [];
  dp = Datapath.open({ onUpcall: (batch) => upcalls.push(...batch) });
  const ha = await lab.addVethHost('a', '10.90.0.1/24');
  const hb = await lab.addVethHost('b', '10.90.0.2/24');
  a = ha.host;
  b = hb.host;
  pa = dp.addPort({ type: 'system', name: ha.switchIf }).port;
  pb = dp.addPort({ type: 'system', name: hb.switchIf }).port;
});

afterEach(async () => {
  dp.close();
  await lab.cleanup();
});

const udp = (over: Partial<Parameters<typeof udpFrame>[0]> = {}) =>
  udpFrame({ dst: b.mac, src: a.mac, ipSrc: '10.90.0.1', ipDst: '10.90.0.2', ...over });

describe('flow keys', () => {
  it('are extracted by the datapath as the TypeScript model decodes them', () => {
    const key = decodeKey(extractKey(udp({ sport: 4242, dport: 53, ttl: 9 }), 3));
    expect(key).toMatchObject({
      in_port: 3,
      'eth.src': a.mac,
      'eth.dst': b.mac,
      eth_type: 0x0800,
      'ipv4.src': '10.90.0.1',
      'ipv4.dst': '10.90.0.2',
      'ipv4.proto': 17,
      'ipv4.ttl': 9,
      'tcp.src': 4242,
      'tcp.dst': 53,
    });
    const tagged = buildFrame({ dst: b.mac, src: a.mac, vlan: { vid: 10, pcp: 3 } });
    expect(decodeKey(extractKey(tagged, 1))['vlan.tci']).toBe(TCI_PRESENT | (3 << 13) | 10);
  });
});

describe('megaflows', () => {
  it('forward every frame equal under the mask, with no upcall, counting each hit', async () => {
    dp.putFlow({ key: { in_port: pa }, mask: exactMask(['in_port']), actions: [{ type: 'output', port: pb }] });
    const cap = await startCapture(b, 0x0800);
    await sendFrames(a, [0, 1, 2, 3, 4].map((i) => udp({ sport: 1000 + i })));
    expect(await cap.until(5)).toHaveLength(5);
    // (b's replies, ICMP port unreachable, miss: only a's frames are under the flow)
    expect(upcalls.filter((u) => u.port === pa)).toHaveLength(0);
    expect(dp.dumpFlows()[0]?.packets).toBe(5);
    expect(dp.stats()).toMatchObject({ hit: 5, flows: 1, masks: 1 });
  });

  it('send frames outside every mask up as upcalls, once per flow while the answer is pending', async () => {
    const frame = udp({ sport: 7 });
    // Listening first: the answer must come within 2 s of the upcall.
    const cap = await startCapture(b, 0x0800);
    await sendFrames(a, frame, 30);
    await eventually(() => upcalls.length >= 1 && dp.stats().missed >= 30, 5000, '30 misses');
    expect(upcalls).toHaveLength(1);
    const upcall = upcalls[0]!;
    expect(upcall).toMatchObject({ reason: 'miss', port: pa });
    expect(upcall.frame.equals(frame)).toBe(true);
    expect(upcall.key.equals(extractKey(frame, pa))).toBe(true);
    // Answering releases the 29 held frames behind the first, in order.
    const id = dp.replyUpcall(upcall, [{ type: 'output', port: pb }], { mask: exactMask(['in_port', 'eth.dst']) });
    // All 30 arrive: none of the held frames was lost. (b's ICMP answers go
    // up unanswered meanwhile and count as lost 2 s later, so the counter
    // says nothing here.)
    expect(await cap.until(30)).toHaveLength(30);
    expect(dp.stats().flows).toBe(1);
    // The held frames count as the new flow's; the upcall's own frame is the slow path's to count.
    expect(dp.getFlow(id!)).toMatchObject({ packets: 29, bytes: 29 * frame.length });
  });

  it('answer a batch of upcalls with one outcome each: installed, over the flow limit, refused', async () => {
    dp.configure({ flowLimit: 1 });
    // Listening first, and the three flows sent at once: the answers must
    // come within 2 s of the upcalls.
    const cap = await startCapture(b, 0x0800);
    await Promise.all([1, 2, 3].map((sport) => sendFrames(a, udp({ sport }))));
    await eventually(() => upcalls.length >= 3, 5000, '3 upcalls');
    const mask = { mask: exactMask(['in_port', 'udp.src']) };
    const out = [{ type: 'output' as const, port: pb }];
    const [installed, overLimit, refused] = dp.replyUpcalls([
      { upcall: upcalls[0]!, actions: out, megaflow: mask },
      { upcall: upcalls[1]!, actions: out, megaflow: mask },
      { upcall: upcalls[2]!, actions: Buffer.from([0xee, 0xee, 4, 0]), megaflow: mask },
    ]);
    expect(typeof installed).toBe('bigint');
    expect(dp.findFlow(upcalls[0]!.key, mask.mask)).toBe(installed);
    expect(overLimit).toBeNull();
    expect(refused).toMatch(/invalid actions/);
    // Over the limit a frame is still forwarded, only not cached; a refused one is not.
    // Answered frames leave before any frame received later: a marker on
    // the installed flow comes after them all.
    const sport = (u: Upcall) => u.frame.readUInt16BE(34);
    await sendFrames(a, udp({ sport: sport(upcalls[0]!), payload: markerPayload() }));
    expect((await cap.untilMarker()).map((f) => f.readUInt16BE(34))).toEqual([sport(upcalls[0]!), sport(upcalls[1]!)]);
    expect(dp.stats().flows).toBe(1);
  });

  it('refuse to shadow an installed flow silently', () => {
    const first = dp.putFlow({ key: { in_port: pa }, mask: exactMask(['in_port']), actions: [{ type: 'output', port: pb }] });
    expect(() =>
      dp.putFlow({
        key: { in_port: pa, 'eth.dst': b.mac },
        mask: exactMask(['in_port', 'eth.dst']),
        actions: [],
        refuseOverlap: true,
      }),
    ).toThrow(new RegExp(`overlaps installed flow ufid:${first.toString(16).padStart(16, '0')}`));
    expect(() => dp.putFlow({ key: { in_port: pa }, mask: exactMask(['in_port']), actions: [], mode: 'create' })).toThrow(
      /File exists/,
    );
  });

  it('are removed after max-idle and reported with their final stats', async () => {
    const expired: bigint[] = [];
    dp.close();
    dp = Datapath.open({ onFlowsExpired: (flows) => expired.push(...flows.map((f) => f.id)) });
    dp.configure({ maxIdleMs: 300 });
    const id = dp.putFlow({ key: { in_port: 1 }, mask: exactMask(['in_port']), actions: [] });
    await eventually(() => expired.includes(id), 5000, 'the idle flow to expire');
    expect(dp.dumpFlows()).toHaveLength(0);
  });

  it('stop at the flow limit with an error that says so', () => {
    dp.configure({ flowLimit: 2 });
    const put = (p: number) => dp.putFlow({ key: { in_port: p }, mask: exactMask(['in_port']), actions: [] });
    put(1);
    put(2);
    expect(() => put(3)).toThrow(/resources exhausted: the datapath holds its limit of 2 flows/);
    expect(dp.stats().flowLimit).toBe(2);
  });

  it('reject invalid actions and malformed keys when installed', () => {
    expect(() => dp.putFlow({ key: {}, mask: {}, actions: Buffer.from([99, 0, 0, 0]) })).toThrow(/invalid actions: unknown action type 99/);
    expect(() => dp.putFlow({ key: Buffer.alloc(7), mask: {}, actions: [] })).toThrow(/184-byte flow key/);
    expect(() => dp.getFlow(12345n)).toThrow(/flow does not exist/);
  });
});

describe('actions, checked on the frames that arrive', () => {
  async function through(actions: Parameters<Datapath['putFlow']>[0]['actions'], frame: Buffer, ethertype = 0x0800) {
    dp.putFlow({ key: { in_port: pa }, mask: exactMask(['in_port']), actions });
    const cap = await startCapture(b, ethertype);
    await sendFrames(a, frame);
    const got = await cap.until(1);
    expect(got).toHaveLength(1);
    return got[0]!;
  }

  it('set the Ethernet destination', async () => {
    const out = await through(
      [{ type: 'set', proto: 'eth', masked: false, fields: [{ field: 'dst', value: '02:00:00:00:00:77' }] }, { type: 'output', port: pb }],
      udp(),
    );
    expect(out.subarray(0, 6).toString('hex')).toBe('020000000077');
    expect(out.subarray(6).equals(udp().subarray(6))).toBe(true);
  });

  it('rewrite IPv4 addresses, TTL and UDP ports with checksums still valid', async () => {
    const out = await through(
      [
        { type: 'set', proto: 'ipv4', masked: false, fields: [{ field: 'dst', value: '10.90.0.99' }, { field: 'ttl', value: 3 }] },
        { type: 'set', proto: 'udp', masked: false, fields: [{ field: 'dst', value: 8080 }] },
        { type: 'output', port: pb },
      ],
      udp({ ttl: 64 }),
    );
    expect([...out.subarray(30, 34)]).toEqual([10, 90, 0, 99]);
    expect(out[22]).toBe(3);
    expect(out.readUInt16BE(36)).toBe(8080);
    expect(checksumsValid(out)).toEqual({ ip: true, udp: true });
  });

  it('push a VLAN tag, and pop it again', async () => {
    const tagged = await through([{ type: 'push_vlan', tpid: 0x8100, tci: TCI_PRESENT | 42 }, { type: 'output', port: pb }], udp());
    expect(tagged.subarray(12, 16).toString('hex')).toBe('8100002a');
    expect(Buffer.concat([tagged.subarray(0, 12), tagged.subarray(16)]).equals(udp())).toBe(true);
  });

  it('pop a VLAN tag', async () => {
    const inner = buildFrame({ dst: b.mac, src: a.mac });
    const tagged = buildFrame({ dst: b.mac, src: a.mac, vlan: { vid: 5 } });
    const out = await through([{ type: 'pop_vlan' }, { type: 'output', port: pb }], tagged, 0x88b5);
    expect(out.equals(inner)).toBe(true);
  });

  it('send a copy to userspace with its cookie, and flood to several ports', async () => {
    const hc = await lab.addVethHost('c', '10.90.0.3/24');
    const pc = dp.addPort({ type: 'system', name: hc.switchIf }).port;
    const userdata = Buffer.alloc(8);
    // Both 32-bit halves set: the cookie crosses to JS as two words.
    userdata.writeBigUInt64LE(0xfeed_0000_beefn);
    dp.putFlow({
      key: { in_port: pa },
      mask: exactMask(['in_port']),
      actions: [{ type: 'userspace', pid: 0, userdata }, { type: 'output', port: pb }, { type: 'output', port: pc }],
    });
    const capB = await startCapture(b, 0x0800);
    const capC = await startCapture(hc.host, 0x0800);
    await sendFrames(a, udp());
    expect(await capB.until(1)).toHaveLength(1);
    expect(await capC.until(1)).toHaveLength(1);
    await eventually(() => upcalls.some((u) => u.reason === 'action'), 5000, 'the copy sent to userspace');
    const fromAction = upcalls.filter((u) => u.reason === 'action');
    expect(fromAction).toHaveLength(1);
    expect(fromAction[0]).toMatchObject({ port: pa, cookie: 0xfeed_0000_beefn });
    expect(fromAction[0]!.frame.equals(udp())).toBe(true);
  });
});

describe('upcall batching', () => {
  it('handles a burst of 10 000 new flows and accounts for every frame', async () => {
    const batches: number[] = [];
    dp.close();
    dp = Datapath.open({
      onUpcall: (batch) => {
        batches.push(batch.length);
        for (const up of batch) {
          dp.replyUpcall(up, [{ type: 'output', port: pb }], { mask: exactMask(['in_port', 'udp.src', 'udp.dst']) });
        }
      },
    });
    // Reopen the ports on the new datapath.
    pa = dp.addPort({ type: 'system', name: lab.ifname('a') }).port;
    pb = dp.addPort({ type: 'system', name: lab.ifname('b') }).port;
    const rxAtB = async () => Number(await b.exec('cat', ['/sys/class/net/eth0/statistics/rx_packets']));
    const rxBefore = await rxAtB();
    await sendFlows(a, udp(), 10_000);
    const seen = () => dp.stats().missed + dp.stats().hit + dp.port(pa).stats.rxDropped;
    await eventually(() => seen() >= 10_000, 15_000, 'every frame looked up or counted as dropped');
    // Every frame crossed or was counted: lost by the upcall queue, or dropped by a full ring.
    const accounted = async () => (await rxAtB()) - rxBefore + dp.stats().lost + dp.port(pa).stats.rxDropped;
    await eventually(async () => (await accounted()) >= 10_000, 15_000, 'every frame at b or counted as lost or dropped');
    const s = dp.stats();
    const dropped = dp.port(pa).stats.rxDropped;
    expect(s.upcalls).toBeGreaterThan(0);
    // Upcalls arrive in batches, not one JS call per frame.
    expect(batches.length).toBeLessThan(s.upcalls);
    expect(s.flows + s.lost + dropped).toBeGreaterThanOrEqual(10_000);
  });

  it('loses only the batch whose handler throws, and says so in the log', async () => {
    const logged: string[] = [];
    setLogSink((line) => logged.push(line));
    try {
      dp.close();
      let failing = true;
      dp = Datapath.open({
        onUpcall: (batch) => {
          if (failing) {
            failing = false;
            throw new Error('handler bug');
          }
          upcalls.push(...batch);
        },
      });
      pa = dp.addPort({ type: 'system', name: lab.ifname('a') }).port;
      await sendFrames(a, udp({ sport: 1 }));
      await eventually(() => logged.some((l) => l.includes('handler bug')), 5000, 'the error logged');
      await sendFrames(a, udp({ sport: 2 }));
      await eventually(() => upcalls.length >= 1, 5000, 'the next upcall');
      expect(upcalls[0]!.key.equals(extractKey(udp({ sport: 2 }), pa))).toBe(true);
      expect(logged.find((l) => l.includes('handler bug'))).toMatch(/\|dpif\|ERR\|upcall handler failed, its batch is lost/);
    } finally {
      setLogSink((line) => process.stderr.write(line + '\n'));
    }
  });
});

it('round-trips keys through the TypeScript encoder', () => {
  const key = { in_port: 7, 'eth.src': '02:00:00:00:00:01', eth_type: 0x0800, 'ipv4.dst': '10.1.2.3' } as const;
  expect(decodeKey(encodeKey(key))).toEqual(key);
});
