// The TypeScript API's dummy switch as the README shows it: the whole
// switch in-process with no root, no namespaces and no devices, and hosts
// with a host stack of their own.
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { DummyHost } from '../../src/api/dummy-host.js';
import { arpFrame, BROADCAST, frameFields, icmpEchoFrame, vlanOf } from '../../src/api/frames.js';
import { Switch } from '../../src/api/switch.js';
import { dummyLan, stopDummyLans } from '../helpers/dummy-lan.js';

afterEach(stopDummyLans);

describe('Switch.start({ dummy: true })', () => {
  let sw: Switch<DummyHost> | undefined;
  afterEach(async () => {
    await sw?.stop();
    sw = undefined;
  });

  it("runs the README's example: a trunk host pings into VLAN 10 and receives tagged frames, and flows follow", async () => {
    sw = await Switch.start({ dummy: true });
    await sw.addBridge('br0');
    await sw.addHost('br0', 'h1', { ip: '10.0.0.1/24' });
    const h2 = await sw.addHost('br0', 'h2', { ip: '10.0.0.2/24', trunks: [10, 20] });
    const h3 = await sw.addHost('br0', 'h3', { ip: '10.0.0.3/24', tag: 10 });
    expect(await h2.ping('10.0.0.3', { vlan: 10, count: 3 })).toBe(3);
    h3.send(h3.udpTo(h2, { sport: 1000, dport: 2000 }));
    const [frame] = await h2.receive();
    expect(vlanOf(frame!)).toBe(10);
    await sw.addFlow('br0', 'priority=100,udp,actions=drop');
    expect(await sw.appctl('ofproto/trace', 'br0', 'in_port=3,udp')).toMatch(/ 0\. udp, priority 100\n {4}drop\n[\s\S]*\nDatapath actions: drop\n/);
  });

  it('runs the whole switch with no kernel device, not even for the bridge itself', async () => {
    sw = await Switch.start({ dummy: true });
    // A name of the test's own: were it a tap, it would be a kernel device by that name.
    const br = `tvda${process.pid % 100000}`;
    await sw.addBridge(br);
    const h1 = await sw.addHost(br, 'h1', { ip: '10.0.0.1/24' });
    const h2 = await sw.addHost(br, 'h2', { ip: '10.0.0.2/24', mac: '0a:00:00:00:00:02' });
    expect(await h1.ping(h2.ip)).toBe(1);
    expect(existsSync(`/sys/class/net/${br}`)).toBe(false);
    expect(sw.portStats(br).map((p) => [p.name, p.type, p.ifindex])).toEqual([
      [br, 'dummy', 0],
      ['h1', 'dummy', 0],
      ['h2', 'dummy', 0],
    ]);
    expect(sw.fdb(br)).toContain('0a:00:00:00:00:02');
  });
});

describe('a dummy host', () => {
  it('answers ARP for its address, from its own MAC, to the asker', async () => {
    const { hosts: [h1, h2] } = await dummyLan(2);
    h1.send(arpFrame({ op: 'request', src: h1.mac, dst: BROADCAST, senderMac: h1.mac, senderIp: h1.ip, targetIp: h2.ip }));
    const [reply] = await h1.receive();
    expect(frameFields(reply!)).toMatchObject({ 'eth.src': h2.mac, 'eth.dst': h1.mac, 'arp.op': 2, 'arp.sha': h2.mac, 'arp.sip': h2.ip, 'arp.tha': h1.mac, 'arp.tip': h1.ip });
  });

  it('answers an echo request with the same identifier, sequence number and data', async () => {
    const { hosts: [h1, h2] } = await dummyLan(2);
    const payload = Buffer.from('some data to echo');
    h1.send(icmpEchoFrame({ src: h1.mac, dst: h2.mac, ipSrc: h1.ip, ipDst: h2.ip, id: 77, seq: 3, payload }));
    const [reply] = await h1.receive();
    expect(reply).toEqual(icmpEchoFrame({ reply: true, src: h2.mac, dst: h1.mac, ipSrc: h2.ip, ipDst: h1.ip, id: 77, seq: 3, payload }));
  });

  it('pings: resolves the address by ARP, then counts the echo replies', async () => {
    const { hosts: [h1, h2, h3] } = await dummyLan(3);
    expect(await h1.ping(h2.ip, { count: 3 })).toBe(3);
    expect(await h3.resolve(h1.ip)).toBe(h1.mac);
  });

  it('gets no reply from an address nobody has, within the deadline it was given', async () => {
    const { hosts: [h1] } = await dummyLan(2);
    expect(await h1.ping('10.0.0.77', { timeoutMs: 100 })).toBe(0);
    await expect(h1.resolve('10.0.0.77', { timeoutMs: 100 })).rejects.toThrow('host h1: no ARP reply for 10.0.0.77 within 100 ms');
  });

  it('keeps frames that came before receive() was called, and hands them over in order', async () => {
    const { hosts: [h1, h2] } = await dummyLan(2);
    expect(await h1.ping(h2.ip)).toBe(1);
    const frames = [1, 2, 3].map((n) => h1.udpTo(h2, { sport: n, dport: n }));
    h1.send(frames);
    await h2.receive({ match: (f) => f.equals(frames[2]!) });
    expect(await h2.receive({ count: 2 })).toEqual(frames.slice(0, 2));
  });

  it('says how many frames came when fewer than awaited do, and keeps them', async () => {
    const { hosts: [h1, h2] } = await dummyLan(2);
    expect(await h1.ping(h2.ip)).toBe(1);
    const frame = h1.udpTo(h2, { sport: 1, dport: 1 });
    h1.send(frame);
    await expect(h2.receive({ count: 2, timeoutMs: 200 })).rejects.toThrow('host h2 received 1 of the 2 frames awaited within 200 ms');
    expect(h2.drain()).toEqual([frame]);
  });

  it('refuses an address without a prefix length, and a ping off its subnet, saying why', async () => {
    const { sw, br, hosts: [h1] } = await dummyLan(1);
    await expect(sw.addHost(br, 'hx', { ip: '10.0.0.9' })).rejects.toThrow('host hx: ip "10.0.0.9" needs a prefix length, e.g. 10.0.0.1/24');
    await expect(h1.resolve('192.168.1.1')).rejects.toThrow('host h1: 192.168.1.1 is not on its subnet 10.0.0.1/24 (a dummy host has no gateway)');
  });
});
