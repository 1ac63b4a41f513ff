// VLANs on dummy ports: access ports keep their VLANs apart, trunks carry
// tagged frames in and out, and a change of a port's VLAN reaches the
// datapath's cached flows at once.
import { afterEach, describe, expect, it } from 'vitest';
import { BROADCAST, udpFrame, vlanOf } from '../../src/api/frames.js';
import { dummyLan, NOWHERE, sentBeforeMarker, stopDummyLans } from '../helpers/dummy-lan.js';

afterEach(stopDummyLans);

const same = (frame: Buffer) => (f: Buffer) => f.equals(frame);
const ALL = { ip: '10.0.0.255', mac: BROADCAST };

describe('VLANs on dummy hosts', () => {
  it('keeps access ports of different VLANs apart: a broadcast stays in its VLAN', async () => {
    const { hosts: [h1, h2, h3] } = await dummyLan({ tag: 10 }, { tag: 10 }, { tag: 20 });
    const frame = h1.udpTo(ALL, { sport: 1, dport: 2 });
    h1.send(frame);
    expect(await h2.receive({ match: same(frame) })).toEqual([frame]);
    expect(h3.drain()).toEqual([]);
    expect(await h1.ping(h2.ip)).toBe(1);
  });

  it('tags what an access port sends on its way out of a trunk, and untags what the trunk sends into the access port', async () => {
    const { hosts: [h1, trunk, h3] } = await dummyLan({ tag: 10 }, { trunks: [10, 20] }, { tag: 20 });
    const fromAccess = h1.udpTo(ALL, { sport: 1, dport: 2 });
    h1.send(fromAccess);
    const [tagged] = await trunk.receive();
    expect(vlanOf(tagged!)).toBe(10);
    expect(Buffer.concat([tagged!.subarray(0, 12), tagged!.subarray(16)])).toEqual(fromAccess);
    expect(h3.drain()).toEqual([]);

    const untagged = udpFrame({ src: trunk.mac, dst: BROADCAST, ipSrc: trunk.ip, ipDst: '10.0.0.255', sport: 3, dport: 4 });
    trunk.send(udpFrame({ src: trunk.mac, dst: BROADCAST, ipSrc: trunk.ip, ipDst: '10.0.0.255', sport: 3, dport: 4, vlan: 20 }));
    expect(await h3.receive()).toEqual([untagged]);
    expect(h1.drain()).toEqual([]);
  });

  it('answers a host on a trunk in whichever VLAN it tags its ping with', async () => {
    const { hosts: [h1, trunk, h3] } = await dummyLan({ tag: 10 }, { trunks: [10, 20] }, { tag: 20 });
    expect(await trunk.ping(h1.ip, { vlan: 10 })).toBe(1);
    expect(await trunk.ping(h3.ip, { vlan: 20, count: 2 })).toBe(2);
  });

  it('drops a frame tagged with a VLAN the trunk does not carry', async () => {
    const { hosts: [h1, trunk] } = await dummyLan({ tag: 10 }, { trunks: [10, 20] }, { tag: 30 });
    const notCarried = udpFrame({ src: trunk.mac, dst: BROADCAST, ipSrc: trunk.ip, ipDst: '10.0.0.255', sport: 5, dport: 6, vlan: 30 });
    expect(await sentBeforeMarker(trunk, [notCarried], h1, { vlan: 10 })).toEqual([]);
  });

  it("carries a change of a port's VLAN to the flows already cached, before the change resolves", async () => {
    const { sw, hosts: [h1, h2, h3, h4] } = await dummyLan({ tag: 10 }, { tag: 10 }, { tag: 20 }, { tag: 10 });
    expect(await h1.ping(h2.ip)).toBe(1);
    const toH2 = h1.udpTo(h2, { sport: 1, dport: 1 });
    expect(await sentBeforeMarker(h1, [toH2], h4)).toEqual([]);
    expect(await h2.receive({ match: same(toH2) })).toEqual([toH2]);

    await sw.setVlan('h2', { tag: 20 });
    // h2's MAC is unknown in VLAN 10 now: the cached unicast flow must not take the frame to h2.
    h1.send(toH2);
    expect(await h4.receive({ match: same(toH2) })).toEqual([toH2]);
    expect(h2.drain(same(toH2))).toEqual([]);
    expect(await h3.ping(h2.ip)).toBe(1);
  });

  it('floods an unknown destination in the VLAN only, across a trunk too', async () => {
    const { hosts: [h1, trunk, h3, h4] } = await dummyLan({ tag: 10 }, { trunks: [10, 20] }, { tag: 20 }, { tag: 10 });
    const frame = h1.udpTo(NOWHERE, { sport: 1, dport: 2 });
    h1.send(frame);
    expect(await h4.receive({ match: same(frame) })).toEqual([frame]);
    const [copy] = trunk.drain();
    expect(vlanOf(copy!)).toBe(10);
    expect(h3.drain()).toEqual([]);
  });
});
