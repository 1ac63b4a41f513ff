// A bridge's forwarding decisions on real traffic: NORMAL with MAC learning
// and VLANs, OpenFlow rules, and the revalidator keeping megaflows honest.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatDatapathFlow } from '../../src/datapath/dpctl.js';
import { ofprotoTrace } from '../../src/ofproto/trace.js';
import { parseMatch } from '../../src/openflow/flow-syntax.js';
import { Lab, ping } from '../../src/lib/netns.js';
import { bridgeWithHosts, type TestBridge } from '../helpers/bridge.js';
import { longestGap, startPinger } from '../helpers/pinger.js';
import { eventually } from '../helpers/eventually.js';
import { buildFrame, checksumsValid, markerPayload, sendFrames, startCapture, udpFrame } from '../helpers/frames.js';

let lab: Lab;
let sw: TestBridge | undefined;

beforeEach(() => {
  lab = new Lab();
  sw = undefined;
});

afterEach(async () => {
  sw?.close();
  await lab.cleanup();
});

const dumpFlows = (t: TestBridge) => t.of.datapath.dumpFlows().map((f) => formatDatapathFlow(f));

describe('NORMAL', () => {
  it('floods an unknown destination to every port but the ingress, then sends only to the learned port', async () => {
    sw = await bridgeWithHosts(lab, [
      { role: 'a', ip: '10.92.0.1/24' },
      { role: 'b', ip: '10.92.0.2/24' },
      { role: 'c', ip: '10.92.0.3/24' },
    ]);
    const [a, c] = sw.hosts('a', 'c');
    const arpAtC = await startCapture(c, 0x0806);
    const ipAtC = await startCapture(c, 0x0800);
    expect(await ping(a, '10.92.0.2', 3)).toBe(3);
    // c saw a's ARP broadcast (flooded), but none of the unicast ICMP: a
    // broadcast marker from a, flooded after the pings, reaches c after anything they sent it.
    const isBroadcast = (f: Buffer) => f.subarray(0, 6).equals(Buffer.alloc(6, 0xff));
    expect((await arpAtC.until((fs) => fs.some(isBroadcast))).some(isBroadcast)).toBe(true);
    await sendFrames(a, udpFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: a.mac, ipSrc: a.ip, ipDst: '10.92.0.255', payload: markerPayload() }));
    expect(await ipAtC.untilMarker()).toHaveLength(0);
    expect(sw.br.mac.format(undefined, (p) => String(p))).toMatch(new RegExp(`\\s+1\\s+0\\s+${a.mac}`));
  });

  it('keeps access ports in different VLANs apart while a trunk carries both with their tags', async () => {
    sw = await bridgeWithHosts(lab, [
      { role: 'a', ip: '10.93.0.1/24', vlan: { tag: 10 } },
      { role: 'b', ip: '10.93.0.2/24', vlan: { tag: 20 } },
      { role: 'c', ip: '10.93.0.3/24', vlan: { tag: 10 } },
      { role: 't', ip: '10.93.0.9/24', vlan: { trunks: [10, 20] } },
    ]);
    const [a, b, t] = sw.hosts('a', 'b', 't');
    const atTrunk = await startCapture(t, 0x0806);
    expect(await ping(a, '10.93.0.3', 2)).toBe(2);
    expect(await ping(a, '10.93.0.2', 1)).toBe(0);
    expect(await ping(b, '10.93.0.1', 1)).toBe(0);
    // A broadcast marker from a, flooded to the trunk after every ARP before it.
    await sendFrames(a, buildFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: a.mac, ethertype: 0x0806, payload: markerPayload() }));
    const tags = (await atTrunk.untilMarker()).map((f) => (f.readUInt16BE(12) === 0x8100 ? f.readUInt16BE(14) & 0xfff : 0));
    expect(tags).toContain(10);
    expect(tags).toContain(20);
    expect(tags).not.toContain(0);
    // From the trunk, a frame tagged 20 reaches b untagged, and nobody in VLAN 10.
    const toB = buildFrame({ dst: b.mac, src: t.mac, vlan: { vid: 20 } });
    // Then a marker broadcast in VLAN 10, which reaches a after anything the frame to b sent it.
    const markerInVlan10 = buildFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: t.mac, vlan: { vid: 10 }, payload: markerPayload() });
    const atB = await startCapture(b);
    const atA = await startCapture(a);
    await sendFrames(t, [toB, markerInVlan10]);
    expect((await atB.until(1)).map((f) => f.toString('hex'))).toEqual([buildFrame({ dst: b.mac, src: t.mac }).toString('hex')]);
    expect(await atA.untilMarker()).toHaveLength(0);
  });
});

describe('OpenFlow rules', () => {
  it('let the higher priority win and rewrite headers on the frames that arrive', async () => {
    sw = await bridgeWithHosts(lab, [
      { role: 'a', ip: '10.94.0.1/24' },
      { role: 'b', ip: '10.94.0.2/24' },
    ]);
    const [a, b] = sw.hosts('a', 'b');
    await sw.addFlow(`priority=100,udp,tp_dst=2000,actions=mod_tp_dst:3000,mod_nw_tos:32,output:${b.ofport}`);
    const frame = udpFrame({ dst: b.mac, src: a.mac, ipSrc: '10.94.0.1', ipDst: '10.94.0.2', dport: 2000 });
    let cap = await startCapture(b, 0x0800);
    await sendFrames(a, frame);
    const got = await cap.until(1);
    expect(got).toHaveLength(1);
    const out = got[0]!;
    expect(out.readUInt16BE(36)).toBe(3000);
    expect(out[15]).toBe(32);
    expect(checksumsValid(out)).toEqual({ ip: true, udp: true });
    // A higher-priority drop for the same traffic takes over at once: the
    // revalidator replaces the megaflow the first frame installed.
    await sw.addFlow('priority=200,udp,tp_dst=2000,actions=drop');
    cap = await startCapture(b, 0x0800);
    // A marker to another UDP port follows the three frames through NORMAL to b.
    await sendFrames(a, [frame, frame, frame, udpFrame({ dst: b.mac, src: a.mac, ipSrc: '10.94.0.1', ipDst: '10.94.0.2', dport: 2001, payload: markerPayload() })]);
    expect(await cap.untilMarker()).toHaveLength(0);
    expect(dumpFlows(sw).some((l) => l.endsWith('actions:drop'))).toBe(true);
  });
});

describe('revalidation', () => {
  it('leaves no stale forwarding after del-flows', async () => {
    sw = await bridgeWithHosts(lab, [
      { role: 'a', ip: '10.95.0.1/24' },
      { role: 'b', ip: '10.95.0.2/24' },
    ]);
    const [a] = sw.hosts('a');
    expect(await ping(a, '10.95.0.2', 2)).toBe(2);
    expect(sw.of.datapath.stats().flows).toBeGreaterThan(0);
    await sw.delFlows();
    expect(dumpFlows(sw).every((l) => l.endsWith('actions:drop'))).toBe(true);
    expect(await ping(a, '10.95.0.2', 2)).toBe(0);
  });

  it('follows a host that moves to another port, leaving no path to the old one', async () => {
    sw = await bridgeWithHosts(lab, [
      { role: 'a', ip: '10.96.0.1/24' },
      { role: 'm1', ip: '10.96.0.7/24' },
    ]);
    const [a, m1] = sw.hosts('a', 'm1');
    expect(await ping(a, '10.96.0.7', 2)).toBe(2);
    // The host moves: same MAC and address, now behind another port.
    await m1.exec('ip', ['link', 'set', 'eth0', 'down']);
    const m2 = await sw.addHost({ role: 'm2', ip: '10.96.0.7/24' });
    await m2.exec('ip', ['link', 'set', 'eth0', 'down']);
    await m2.exec('ip', ['link', 'set', 'eth0', 'address', m1.mac]);
    await m2.exec('ip', ['link', 'set', 'eth0', 'up']);
    // It announces itself, as a moved VM does, and traffic follows it.
    await m2.exec('ping', ['-c', '1', '-W', '1', '10.96.0.1']).catch(() => undefined);
    expect(await ping(a, '10.96.0.7', 3)).toBe(3);
    await eventually(
      () => !dumpFlows(sw!).some((l) => l.includes(`dst=${m1.mac}`) && l.endsWith(`actions:${m1.dpPort}`)),
      2000,
      'no flow to the old port',
    );
    expect(sw.br.mac.format(undefined, (p) => String(p))).toMatch(new RegExp(`\\s+${m2.ofport}\\s+0\\s+${m1.mac}`));
  });
});

describe('a spoofed source MAC', () => {
  it("takes a host's MAC away only until the host's own cached traffic wins it back", async () => {
    sw = await bridgeWithHosts(lab, [
      { role: 'h1', ip: '10.98.0.1/24' },
      { role: 'h2', ip: '10.98.0.2/24' },
      { role: 'h3', ip: '10.98.0.3/24' },
    ]);
    const [h1, h2, h3] = sw.hosts('h1', 'h2', 'h3');
    // h2 talks to h3 all along, through flows cached before the spoof: none of its frames miss.
    const pinger = startPinger(h2, h3.ip);
    try {
      await pinger.until((r) => r.length >= 5, 10_000, 'h2 to reach h3');
      const spoofStart = Date.now();
      await sendFrames(h1, buildFrame({ dst: h3.mac, src: h2.mac }), 5);
      const spoofEnd = Date.now();
      await eventually(
        () => dumpFlows(sw!).some((l) => l.includes(`in_port(${h1.dpPort})`) && l.includes(`src=${h2.mac}`)),
        5000,
        "the spoofed frames' flow",
      );
      await pinger.until((r) => r.filter((x) => x.at > spoofEnd).length >= 10, 15_000, 'h2 to reach h3 again');
      // How long h2 went without a reply across the spoof: the next
      // revalidation round (every 500 ms) credits h2's traffic, the latest,
      // after the spoofer's, and so moves its MAC back.
      const unreachableMs = longestGap(pinger.replies, spoofStart);
      expect(unreachableMs, `h2 unreachable for ${Math.round(unreachableMs)} ms`).toBeLessThan(2500);
      expect(sw.br.mac.format(undefined, (p) => String(p))).toMatch(new RegExp(`\\s+${h2.ofport}\\s+0\\s+${h2.mac}`));
    } finally {
      await pinger.stop();
    }
  });
});

describe('ofproto/trace', () => {
  it('predicts what the datapath then does', async () => {
    sw = await bridgeWithHosts(lab, [
      { role: 'a', ip: '10.97.0.1/24' },
      { role: 'b', ip: '10.97.0.2/24' },
    ]);
    const [a, b] = sw.hosts('a', 'b');
    expect(await ping(a, '10.97.0.2', 2)).toBe(2);
    const trace = ofprotoTrace(sw.br, [`in_port=${a.ofport},dl_src=${a.mac},dl_dst=${b.mac},dl_type=0x0800,nw_src=10.97.0.1,nw_dst=10.97.0.2,nw_proto=1`], parseMatch);
    expect(trace).toContain('bridge("br0")');
    expect(trace).toMatch(/priority 0/);
    const predicted = /Datapath actions: (.*)/.exec(trace)![1]!;
    expect(predicted).toBe(String(b.dpPort));
    const installed = dumpFlows(sw).filter((l) => l.includes(`in_port(${a.dpPort})`) && l.includes(`dst=${b.mac}`));
    expect(installed.length).toBeGreaterThan(0);
    for (const l of installed) expect(l.endsWith(`actions:${predicted}`)).toBe(true);
  });
});
