// The fast path and the slow path on dummy ports: the first frame of a flow
// goes up, a megaflow is installed that later frames hit (and that covers
// other flows NORMAL does not tell apart), its counters reach the OpenFlow
// rule, rule changes reach the cached flows, and ofproto/trace explains it.
import { afterEach, describe, expect, it } from 'vitest';
import { dummyLan, sentBeforeMarker, stopDummyLans } from '../helpers/dummy-lan.js';

afterEach(stopDummyLans);


describe('megaflows and upcalls on dummy hosts', () => {
  it('sends the first frame of a flow up once, and installs a megaflow the next frames hit', async () => {
    const { sw, br, hosts: [h1, h2] } = await dummyLan(2);
    expect(await h1.ping(h2.ip)).toBe(1);
    const before = sw.datapathStats();
    const frames = [1, 2, 3, 4, 5].map((n) => h1.udpTo(h2, { sport: 1000, dport: 2000, payload: Buffer.from([n]) }));
    h1.send(frames);
    expect(await h2.receive({ count: 5 })).toEqual(frames);
    // ping's echo request went up and installed the flow from h1 to h2 (NORMAL looks at L2 only): all five hit it.
    expect(sw.datapathStats().upcalls).toBe(before.upcalls);
    expect(sw.datapathStats().hit - before.hit).toBe(5);
    const flows = await sw.appctl('dpif/dump-flows', br);
    expect(flows).toMatch(new RegExp(`in_port\\(\\d+\\),eth\\(src=${h1.mac},dst=${h2.mac}\\),eth_type\\(0x0800\\),ipv4\\(frag=no\\), packets:5, bytes:\\d+, used:[0-9.]+s, actions:\\d+\\n`));
  });

  it('sends a flow NORMAL has not seen up, and credits the frames of its megaflow to the OpenFlow rule', async () => {
    const { sw, br, hosts: [h1, h2] } = await dummyLan(2);
    await sw.addFlow(br, 'priority=100,udp,actions=NORMAL');
    expect(await h1.ping(h2.ip)).toBe(1);
    const upcalls = sw.datapathStats().upcalls;
    const [first, ...others] = [1, 2, 3].map((n) => h1.udpTo(h2, { sport: 1000 + n, dport: 2000 }));
    h1.send(first!);
    await h2.receive();
    // The udp rule makes the megaflow match the IP protocol: UDP from h1 to h2 was a new flow...
    expect(sw.datapathStats().upcalls).toBe(upcalls + 1);
    // ...whose megaflow covers any UDP ports: the next two hit it.
    h1.send(others);
    await h2.receive({ count: 2 });
    expect(sw.datapathStats().upcalls).toBe(upcalls + 1);
    await sw.revalidate();
    expect(sw.dumpFlows(br).find((l) => l.includes('priority=100,udp'))).toMatch(/n_packets=3,/);
  });

  it('corrects the cached flows when a rule is added, and again when it goes', async () => {
    const { sw, br, hosts: [h1, h2] } = await dummyLan(2);
    expect(await h1.ping(h2.ip)).toBe(1);
    const toPort2000 = h1.udpTo(h2, { sport: 1000, dport: 2000 });
    expect(await sentBeforeMarker(h1, [toPort2000], h2)).toEqual([toPort2000]);

    await sw.addFlow(br, 'priority=100,udp,tp_dst=2000,actions=drop');
    expect(await sentBeforeMarker(h1, [toPort2000], h2)).toEqual([]);
    expect(await sw.appctl('dpif/dump-flows', br)).toMatch(/udp\(dst=2000\), packets:\d+, bytes:\d+, used:[^,]+, actions:drop\n/);
    // Another port of the same hosts is still switched.
    const toPort3000 = h1.udpTo(h2, { sport: 1000, dport: 3000 });
    expect(await sentBeforeMarker(h1, [toPort3000], h2)).toEqual([toPort3000]);

    await sw.delFlows(br, 'udp,tp_dst=2000');
    expect(await sentBeforeMarker(h1, [toPort2000], h2)).toEqual([toPort2000]);
  });

  it('explains with ofproto/trace the rule a frame meets, what NORMAL does with it, and the datapath actions', async () => {
    const { sw, br, hosts: [h1, h2] } = await dummyLan(2);
    const flow = `in_port=1,dl_src=${h1.mac},dl_dst=${h2.mac}`;
    expect(await sw.appctl('ofproto/trace', br, flow)).toContain(' 0. priority 0\n    NORMAL\n     -> no learned MAC for destination, flooding\n');
    expect(await h2.ping(h1.ip)).toBe(1);
    const learned = await sw.appctl('ofproto/trace', br, flow);
    expect(learned).toContain('     -> forwarding to learned port h2\n');
    expect(learned).toMatch(/\nDatapath actions: \d+\n/);
    await sw.addFlow(br, `priority=50,dl_dst=${h2.mac},actions=drop`);
    expect(await sw.appctl('ofproto/trace', br, flow)).toMatch(/ 0\. dl_dst=02:00:00:00:00:02, priority 50\n {4}drop\n[\s\S]*\nDatapath actions: drop\n/);
  });

  it('installs exact-match flows with megaflows disabled, one upcall per new 5-tuple', async () => {
    const { sw, br, hosts: [h1, h2] } = await dummyLan(2);
    expect(await h1.ping(h2.ip)).toBe(1);
    expect(await sw.appctl('upcall/disable-megaflows')).toBe('megaflows disabled\n');
    const upcalls = sw.datapathStats().upcalls;
    const frames = [1, 2, 3].map((n) => h1.udpTo(h2, { sport: 1000 + n, dport: 2000 }));
    h1.send(frames);
    await h2.receive({ count: 3, match: (f) => frames.some((s) => s.equals(f)) });
    expect(sw.datapathStats().upcalls).toBe(upcalls + 3);
    expect((await sw.appctl('dpif/dump-flows', br)).match(/udp\(src=100[123],dst=2000\)/g)).toHaveLength(3);
  });
});
