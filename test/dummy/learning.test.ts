// NORMAL switching as hosts on dummy ports see it: flooding what the switch
// does not know, learning where each MAC is, and following a MAC that moves.
import { afterEach, describe, expect, it } from 'vitest';
import { BROADCAST } from '../../src/api/frames.js';
import { dummyLan, NOWHERE, sentBeforeMarker, stopDummyLans } from '../helpers/dummy-lan.js';

afterEach(stopDummyLans);

/** Selects the frames equal to `frame`. */
const same = (frame: Buffer) => (f: Buffer) => f.equals(frame);

describe('NORMAL switching on dummy hosts', () => {
  it('floods an unknown destination to every port of the VLAN but the ingress', async () => {
    const { hosts: [h1, h2, h3, h4] } = await dummyLan({ tag: 10 }, { tag: 10 }, { tag: 10 }, { tag: 20 });
    const frame = h1.udpTo(NOWHERE, { sport: 1000, dport: 2000 });
    h1.send(frame);
    expect(await h2.receive({ match: same(frame) })).toEqual([frame]);
    expect(await h3.receive({ match: same(frame) })).toEqual([frame]);
    expect([h1.drain(), h4.drain()]).toEqual([[], []]);
  });

  it('floods a broadcast to every other port of the VLAN, and the bridge learns its source there', async () => {
    const { sw, br, hosts: [h1, h2, h3] } = await dummyLan(3);
    const frame = h2.udpTo({ ip: '10.0.0.255', mac: BROADCAST }, { sport: 7, dport: 7 });
    h2.send(frame);
    expect(await h1.receive()).toEqual([frame]);
    expect(await h3.receive()).toEqual([frame]);
    expect(h2.drain()).toEqual([]);
    expect(sw.fdb(br)).toMatch(new RegExp(`\\n {4}2 {5}0 {2}${h2.mac} `));
  });

  it('sends to a learned destination only: the answer to a flooded frame goes straight back', async () => {
    const { sw, br, hosts: [h1, h2, h3] } = await dummyLan(3);
    const hello = h1.udpTo(h2, { sport: 1000, dport: 2000 });
    h1.send(hello);
    await h2.receive({ match: same(hello) });
    await h3.receive({ match: same(hello) });
    // h1 is learned on port 1 now: h2's answer reaches h1 and not h3.
    const answer = h2.udpTo(h1, { sport: 2000, dport: 1000 });
    expect(await sentBeforeMarker(h2, [answer], h3)).toEqual([]);
    expect(await h1.receive({ match: same(answer) })).toEqual([answer]);
    expect(sw.fdb(br)).toMatch(new RegExp(`\\n {4}1 {5}0 {2}${h1.mac} +\\d+\\n {4}2 {5}0 {2}${h2.mac} `));
  });

  it('follows a MAC that moves to another port once a revalidation round has run, correcting the flows toward it', async () => {
    const { sw, br, hosts: [h1, h2, h3] } = await dummyLan(3);
    expect(await h2.ping(h1.ip)).toBe(1);
    // h2 -> h1 is a cached megaflow now. h1's MAC turns up behind port 3:
    const moved = h3.udpTo(h2, { sport: 1, dport: 1 });
    moved.write(h1.mac.replace(/:/g, ''), 6, 'hex');
    h3.send(moved);
    await h2.receive({ match: same(moved) });
    expect(sw.fdb(br)).toMatch(new RegExp(`\\n {4}3 {5}0 {2}${h1.mac} `));
    await sw.revalidate();
    const toH1 = h2.udpTo(h1, { sport: 5, dport: 5 });
    h2.send(toH1);
    expect(await h3.receive({ match: same(toH1) })).toEqual([toH1]);
    expect(h1.drain(same(toH1))).toEqual([]);
  });

  it('forgets the MACs learned on a port that leaves the bridge, and floods to them again', async () => {
    const { sw, br, hosts: [h1, h2, h3] } = await dummyLan(3);
    expect(await h1.ping(h2.ip)).toBe(1);
    await sw.delPort(br, 'h2');
    expect(sw.fdb(br)).not.toContain(h2.mac);
    const toH2 = h1.udpTo(h2, { sport: 5, dport: 5 });
    h1.send(toH2);
    expect(await h3.receive({ match: same(toH2) })).toEqual([toH2]);
  });
});
