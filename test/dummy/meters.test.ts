// OpenFlow meters on the in-process dummy switch: rules send their traffic
// through a meter, and the datapath drops or DSCP-remarks what exceeds the
// meter's bands, counting it per band. The rates here are far below what
// the test sends, and the counts are checked with room for the time a
// slow, shared machine takes: nothing depends on timing precision.
import { afterEach, describe, expect, it } from 'vitest';
import { frameFields } from '../../src/api/frames.js';
import type { DummyHost } from '../../src/api/dummy-host.js';
import { dummyLan, stopDummyLans } from '../helpers/dummy-lan.js';
import { eventually } from '../helpers/eventually.js';
import { checksumsValid } from '../helpers/frames.js';

afterEach(stopDummyLans);

/** `count` UDP frames from `from` to `to`, told apart by their source port. */
function burst(from: DummyHost, to: DummyHost, count: number, tos = 0): Buffer[] {
  return Array.from({ length: count }, (_, i) => from.udpTo(to, { sport: 5000, dport: 6000, tos, payload: Buffer.from(`frame ${i}`) }));
}

/** The counters meter-stats prints for meter `id`, as numbers. */
function counters(lines: string[]): { packetsIn: number; bands: number[] } {
  const text = lines.join('\n');
  const packetsIn = Number(/packet_in_count:(\d+)/.exec(text)?.[1]);
  const bands = [...text.matchAll(/^\d+: packet_count:(\d+)/gm)].map((m) => Number(m[1]));
  return { packetsIn, bands };
}

describe('meters', () => {
  it('let a burst of 300 frames through a pktps drop band at its burst size plus its rate, and count the rest as dropped', async () => {
    const { sw, hosts: [h1, h2] } = await dummyLan(2);
    await sw.addMeter('br0', 'meter=1,pktps,burst,stats,bands=type=drop,rate=10,burst_size=20');
    await sw.addFlow('br0', 'priority=100,udp,actions=meter:1,output:2');
    // One frame first, so that the other 300 meet an installed datapath flow rather than wait for an upcall.
    h1.send(burst(h1, h2, 1));
    await h2.receive();
    const sent = burst(h1, h2, 300);
    h1.send(sent);
    await eventually(() => counters(sw.meterStats('br0', 'meter=1')).packetsIn === 301, 10_000, 'the meter to see every frame');
    const delivered = h2.drain().length;
    // 19 tokens were left after the first frame; 10 more a second, and the test takes seconds at most.
    expect(delivered).toBeGreaterThanOrEqual(19);
    expect(delivered).toBeLessThan(100);
    expect(counters(sw.meterStats('br0', 'meter=1'))).toEqual({ packetsIn: 301, bands: [300 - delivered] });
    expect(sw.meterStats('br0')[0]).toMatch(/^meter:1 flow_count:1 packet_in_count:301 byte_in_count:\d+ duration:[\d.]+s bands:\n0: packet_count:\d+ byte_count:\d+$/);
    expect(sw.dumpDatapathFlows().join('\n')).toMatch(/actions:meter\(\d+\),\d+/);
  });

  it('remark the DSCP of the frames over a dscp_remark band to a higher drop precedence, with valid checksums, and deliver them all', async () => {
    const { sw, hosts: [h1, h2] } = await dummyLan(2);
    await sw.addMeter('br0', 'meter=2,pktps,burst,bands=type=dscp_remark,rate=1,burst_size=5,prec_level=1');
    await sw.addFlow('br0', 'priority=100,udp,actions=meter:2,output:2');
    const af11 = 10 << 2;
    h1.send(burst(h1, h2, 1, af11));
    await h2.receive();
    h1.send(burst(h1, h2, 100, af11));
    const got = await h2.receive({ count: 100 });
    const tos = got.map((f) => Number(frameFields(f)['ipv4.tos']));
    // AF11 while the bucket lasts (4 more frames, and one a second), then AF12.
    expect(tos.filter((t) => t === af11).length).toBeGreaterThanOrEqual(4);
    expect(tos.filter((t) => t === 12 << 2).length).toBeGreaterThan(50);
    expect(tos.every((t) => t === af11 || t === 12 << 2)).toBe(true);
    expect(got.every((f) => checksumsValid(f).ip && checksumsValid(f).udp)).toBe(true);
    expect(counters(sw.meterStats('br0', 'meter=2')).bands[0]).toBe(tos.filter((t) => t !== af11).length);
  });

  it('delete the rules that use a deleted meter, and their datapath flows with them', async () => {
    const { sw, hosts: [h1, h2] } = await dummyLan(2);
    await sw.addMeter('br0', 'meter=3,pktps,bands=type=drop,rate=1');
    await sw.addFlow('br0', 'priority=100,udp,actions=meter:3,output:2');
    h1.send(burst(h1, h2, 1));
    await h2.receive();
    await sw.delMeters('br0', 'meter=3');
    expect(sw.dumpFlows('br0').join('\n')).not.toContain('meter:3');
    expect(sw.dumpMeters('br0')).toEqual([]);
    expect(sw.dumpDatapathFlows().join('\n')).not.toContain('meter(');
    // NORMAL (the default rule) forwards now, and no meter stands in the way.
    h1.send(burst(h1, h2, 50));
    expect(await h2.receive({ count: 50 })).toHaveLength(50);
  });

  it('keep a megaflow through a meter when the meter changes, and enforce the new rate', async () => {
    const { sw, hosts: [h1, h2] } = await dummyLan(2);
    await sw.addMeter('br0', 'meter=4,pktps,burst,bands=type=drop,rate=1,burst_size=2');
    await sw.addFlow('br0', 'priority=100,udp,actions=meter:4,output:2');
    h1.send(burst(h1, h2, 1));
    await h2.receive();
    await sw.modMeter('br0', 'meter=4,pktps,burst,bands=type=drop,rate=1,burst_size=60');
    h1.send(burst(h1, h2, 100));
    await eventually(() => counters(sw.meterStats('br0', 'meter=4')).packetsIn === 100, 10_000, 'the meter to see every frame');
    const delivered = h2.drain().length;
    expect(delivered).toBeGreaterThanOrEqual(60);
    expect(delivered).toBeLessThan(90);
    expect(sw.dumpMeters('br0', 'meter=4')).toEqual(['meter=4 pktps burst bands=\ntype=drop rate=1 burst_size=60']);
  });

  it('refuse a rule naming a meter the bridge does not have, with the error OVS gives', async () => {
    const { sw } = await dummyLan(2);
    await expect(sw.addFlow('br0', 'udp,actions=meter:9,output:2')).rejects.toThrow('OFPMMFC_INVALID_METER: meter:9 names a meter bridge br0 does not have');
    expect(sw.dumpFlows('br0').join('\n')).not.toContain('meter');
  });

  it('show the meter in ofproto/trace before the rule’s actions', async () => {
    const { sw } = await dummyLan(2);
    await sw.addMeter('br0', 'meter=5,kbps,bands=type=drop,rate=1000');
    await sw.addFlow('br0', 'priority=100,udp,actions=meter:5,output:2');
    const trace = await sw.appctl('ofproto/trace', 'br0', 'in_port=1,udp');
    expect(trace).toMatch(/meter:5\n\s+output:2/);
    expect(trace).toMatch(/Datapath actions: meter\(\d+\),\d+\n/);
  });
});
