// The TypeScript API as the README shows it: a switch, hosts, flows, stats.
import { afterEach, describe, expect, it } from 'vitest';
import { Switch } from '../../src/api/switch.js';
import { ping } from '../../src/lib/netns.js';

let sw: Switch | undefined;

afterEach(async () => {
  await sw?.stop();
  sw = undefined;
});

describe('Switch', () => {
  it('joins hosts on veth and on a tap, in VLANs, and takes OpenFlow rules', async () => {
    sw = await Switch.start();
    // A bridge name of the test's own: it is also a kernel device name.
    const br = `tvapi${process.pid % 100000}`;
    await sw.addBridge(br);
    const h1 = await sw.addHost(br, 'h1', { ip: '10.70.0.1/24' });
    const h2 = await sw.addHost(br, 'h2', { ip: '10.70.0.2/24', via: 'tap' });
    await sw.addHost(br, 'h3', { ip: '10.70.0.3/24', tag: 30 });
    expect(await ping(h1, '10.70.0.2', 2)).toBe(2);
    expect(await ping(h1, '10.70.0.3', 1)).toBe(0);
    expect(sw.fdb(br)).toContain(h2.mac);
    expect(sw.portStats(br).find((p) => p.name === h2.port)?.stats.txPackets).toBeGreaterThan(0);
    await sw.addFlow(br, 'priority=100,icmp,actions=drop');
    expect(await ping(h1, '10.70.0.2', 1)).toBe(0);
    expect(sw.dumpFlows(br).some((l) => /priority=100,icmp actions=drop/.test(l))).toBe(true);
    await sw.delFlows(br, 'icmp');
    expect(await ping(h1, '10.70.0.2', 1)).toBe(1);
    await expect(sw.addPort('nosuchbr9', 'x')).rejects.toThrow('no bridge named nosuchbr9');
  });

  it("counts an OpenFlow rule's packets from the datapath flows it made", async () => {
    sw = await Switch.start();
    const br = `tvapi${process.pid % 100000}`;
    await sw.addBridge(br);
    const h1 = await sw.addHost(br, 'h1', { ip: '10.70.0.1/24' });
    await sw.addHost(br, 'h2', { ip: '10.70.0.2/24' });
    await sw.addFlow(br, 'priority=100,icmp,actions=NORMAL');
    expect(await ping(h1, '10.70.0.2', 3)).toBe(3);
    // Three requests and three replies, credited by a revalidation round.
    await sw.revalidate();
    expect(sw.dumpFlows(br).find((l) => l.includes('priority=100,icmp'))).toMatch(/n_packets=6,/);
    // Idle now: later rounds leave the count alone.
    await sw.revalidate();
    await sw.revalidate();
    expect(sw.dumpFlows(br).find((l) => l.includes('priority=100,icmp'))).toMatch(/n_packets=6,/);
  });
});
