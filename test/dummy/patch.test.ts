// Two bridges joined by a pair of patch ports, which the datapath joins
// itself: hosts on either side reach each other, each bridge learns the
// other's hosts behind its patch port, and a missing peer drops and counts.
import { afterEach, describe, expect, it } from 'vitest';
import type { DummyHost } from '../../src/api/dummy-host.js';
import { BROADCAST } from '../../src/api/frames.js';
import { Switch } from '../../src/api/switch.js';

let sw: Switch<DummyHost> | undefined;

afterEach(async () => {
  await sw?.stop();
  sw = undefined;
});

/** br0 with h1 and h3, br1 with h2, joined by patch ports p0 (on br0) and p1 (on br1). */
async function twoBridges(): Promise<{ sw: Switch<DummyHost>; h1: DummyHost; h2: DummyHost; h3: DummyHost }> {
  sw = await Switch.start({ dummy: true });
  await sw.addBridge('br0');
  await sw.addBridge('br1');
  const h1 = await sw.addHost('br0', 'h1', { ip: '10.0.0.1/24' });
  const h2 = await sw.addHost('br1', 'h2', { ip: '10.0.0.2/24' });
  const h3 = await sw.addHost('br0', 'h3', { ip: '10.0.0.3/24' });
  await sw.addPort('br0', 'p0', { type: 'patch', options: { peer: 'p1' }, ofportRequest: 10 });
  await sw.addPort('br1', 'p1', { type: 'patch', options: { peer: 'p0' }, ofportRequest: 10 });
  return { sw, h1, h2, h3 };
}

describe('patch ports between two bridges', () => {
  it("carries ping across, and each bridge learns the other's host behind its patch port", async () => {
    const { sw, h1, h2 } = await twoBridges();
    expect(await h1.ping(h2.ip, { count: 2 })).toBe(2);
    expect(sw.fdb('br0')).toMatch(new RegExp(`\\n {3}10 {5}0 {2}${h2.mac} `));
    expect(sw.fdb('br1')).toMatch(new RegExp(`\\n {3}10 {5}0 {2}${h1.mac} `));
    const p0 = sw.portStats('br0').find((p) => p.name === 'p0')!;
    expect(p0).toMatchObject({ type: 'patch', ifindex: 0 });
    expect(p0.stats.txPackets).toBeGreaterThanOrEqual(3);
  });

  it('drops and counts what is sent into a patch port whose peer is gone, and carries traffic again once it is back', async () => {
    const { sw, h1, h2, h3 } = await twoBridges();
    await sw.delPort('br1', 'p1');
    const flood = h1.udpTo({ ip: '10.0.0.255', mac: BROADCAST }, { sport: 1, dport: 1 });
    h1.send(flood);
    // The flood's copy into p0 was sent with the one h3 receives.
    await h3.receive();
    expect(sw.portStats('br0').find((p) => p.name === 'p0')!.stats).toMatchObject({ txPackets: 0, txDropped: 1 });
    expect(h2.drain()).toEqual([]);
    await sw.addPort('br1', 'p1', { type: 'patch', options: { peer: 'p0' } });
    expect(await h1.ping(h2.ip)).toBe(1);
  });
});
