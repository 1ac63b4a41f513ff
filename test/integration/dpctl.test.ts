// The dpctl operations in OVS's datapath flow syntax, on a datapath with
// real ports and real traffic.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Datapath, type Upcall } from '../../src/datapath/dpif.js';
import * as dpctl from '../../src/datapath/dpctl.js';
import { Lab, type Host } from '../../src/lib/netns.js';
import { eventually } from '../helpers/eventually.js';
import { sendFrames, startCapture, udpFrame } from '../helpers/frames.js';

let lab: Lab;
let d: dpctl.NamedDatapath;
let a: Host;
let b: Host;
/** The frames userspace actions sent up (the datapath is opened with an upcall handler). */
let sentUp: Upcall[];
let pa: number;
let pb: number;

beforeEach(async () => {
  lab = new Lab();
  sentUp = [];
  const dp: Datapath = Datapath.open({
    onUpcall: (batch) => {
      sentUp.push(...batch.filter((u) => u.reason === 'action').map((u) => ({ ...u, frame: Buffer.from(u.frame), userdata: Buffer.from(u.userdata!) })));
      dp.finishUpcalls(batch);
    },
  });
  d = { name: 'ovs-netdev', dp };
  const ha = await lab.addVethHost('a', '10.91.0.1/24');
  const hb = await lab.addVethHost('b', '10.91.0.2/24');
  a = ha.host;
  b = hb.host;
  pa = d.dp.addPort({ type: 'system', name: ha.switchIf }).port;
  pb = d.dp.addPort({ type: 'system', name: hb.switchIf }).port;
});

afterEach(async () => {
  d.dp.close();
  await lab.cleanup();
});

describe('dpctl', () => {
  it('prints an added flow back in the syntax it was given', () => {
    const flow = `recirc_id(0),in_port(${pa}),eth(dst=02:00:00:00:00:02),eth_type(0x0800),ipv4(dst=10.91.0.0/255.255.255.0,frag=no)`;
    dpctl.addFlow(d, flow, `${pb}`);
    expect(dpctl.dumpFlows(d)).toBe(`${flow}, packets:0, bytes:0, used:never, actions:${pb}\n`);
  });

  it('counts traffic in dump-flows', async () => {
    dpctl.addFlow(d, `in_port(${pa}),eth(),eth_type(0x0800)`, `push_vlan(vid=10,pcp=0),${pb}`);
    const frame = udpFrame({ dst: '02:00:00:00:00:09', src: a.mac, ipSrc: '10.91.0.1', ipDst: '10.91.0.9' });
    await sendFrames(a, frame, 3);
    await eventually(() => d.dp.stats().hit === 3, 5000, 'three hits');
    expect(dpctl.dumpFlows(d)).toMatch(
      new RegExp(`^recirc_id\\(0\\),in_port\\(${pa}\\),eth\\(\\),eth_type\\(0x0800\\), packets:3, bytes:${3 * frame.length}, used:0\\.\\d{3}s, actions:push_vlan\\(vid=10,pcp=0\\),${pb}\\n$`),
    );
  });

  it('sends sampled frames up with their userdata while the flow keeps forwarding every frame', async () => {
    const sampled = `sample(sample=100.0%,actions(userspace(pid=0,sFlow(vid=0,pcp=0,output=7)))),${pb}`;
    dpctl.addFlow(d, `in_port(${pa}),eth(),eth_type(0x0800)`, sampled);
    expect(dpctl.dumpFlows(d)).toContain(`actions:${sampled}\n`);
    const frame = udpFrame({ dst: '02:00:00:00:00:09', src: a.mac, ipSrc: '10.91.0.1', ipDst: '10.91.0.9' });
    const cap = await startCapture(b, 0x0800);
    await sendFrames(a, frame, 20);
    await eventually(() => sentUp.length === 20, 5000, 'twenty sampled upcalls');
    expect((await cap.until((fs) => fs.filter((f) => f.equals(frame)).length === 20)).filter((f) => f.equals(frame))).toHaveLength(20);
    expect(sentUp.every((u) => u.port === pa && u.frame.equals(frame))).toBe(true);
    // The sFlow cookie: kind 2, TCI 0, output 7.
    expect(sentUp[0]!.userdata!.toString('hex')).toBe('0200000007000000');
    expect(d.dp.stats()).toMatchObject({ hit: 20, missed: 0 });
  });

  it('samples about the fraction of frames its probability says, and none at 0%', async () => {
    const flow = `in_port(${pa}),eth(),eth_type(0x0800)`;
    dpctl.addFlow(d, flow, `sample(sample=0.0%,actions(userspace(pid=0,userdata(03)))),${pb}`);
    const frame = udpFrame({ dst: '02:00:00:00:00:09', src: a.mac, ipSrc: '10.91.0.1', ipDst: '10.91.0.9' });
    await sendFrames(a, frame, 200);
    await eventually(() => d.dp.stats().hit === 200, 5000, '200 hits');
    expect(sentUp).toHaveLength(0);
    dpctl.addFlow(d, flow, `sample(sample=50.0%,actions(userspace(pid=0,userdata(03)))),${pb}`, 'modify');
    await sendFrames(a, frame, 400);
    await eventually(() => d.dp.stats().hit === 600, 5000, '600 hits');
    // 200 expected, sd 10: a bound no fair draw misses.
    await eventually(() => sentUp.length >= 140, 5000, 'about half the frames sampled');
    expect(sentUp.length).toBeLessThan(260);
  });

  it('modifies, gets and deletes a flow by its match or its ufid', () => {
    const flow = `recirc_id(0),in_port(${pa}),eth(),eth_type(0x0806)`;
    const id = dpctl.addFlow(d, flow, `${pb}`);
    dpctl.addFlow(d, flow, 'drop', 'modify');
    expect(dpctl.getFlow(d, flow)).toContain('actions:drop');
    expect(dpctl.getFlow(d, `ufid:${dpctl.formatUfid(id)}`)).toContain(`ufid:${dpctl.formatUfid(id)}, ${flow}`);
    expect(dpctl.dumpFlows(d, { more: true })).toMatch(/^ufid:[0-9a-f-]{36}, recirc_id/);
    expect(dpctl.delFlow(d, flow)).toContain('packets:0');
    expect(dpctl.dumpFlows(d)).toBe('');
    expect(() => dpctl.delFlow(d, flow)).toThrow(/flow not found/);
  });

  it('says why a flow cannot be changed or added', () => {
    const flow = `in_port(${pa}),eth(),eth_type(0x0800)`;
    expect(() => dpctl.addFlow(d, flow, '2', 'modify')).toThrow(/flow does not exist/);
    dpctl.addFlow(d, flow, `${pb}`);
    expect(() => dpctl.addFlow(d, flow, `${pb}`)).toThrow(/File exists/);
    expect(() => dpctl.addFlow(d, `in_port(${pa}),eth(src=02:00:00:00:00:01)`, '1')).toThrow(/overlaps installed flow/);
    expect(() => dpctl.addFlow(d, 'in_port(1),ethh()', '2')).toThrow(/ethh/);
    expect(() => dpctl.addFlow(d, 'in_port(1)', 'frobnicate')).toThrow(/frobnicate/);
  });

  it('removes every flow with del-flows', () => {
    for (let p = 1; p <= 5; p++) dpctl.addFlow(d, `in_port(${p + 10}),eth()`, 'drop');
    expect(d.dp.flushFlows()).toBe(5);
    expect(dpctl.dumpFlows(d)).toBe('');
  });

  it('shows lookups, flows, masks and ports as ovs-dpctl show does', async () => {
    dpctl.addFlow(d, `in_port(${pa}),eth(),eth_type(0x0800)`, `${pb}`);
    // One frame at a time, and every classifier hit cached: the first
    // probes the megaflow's mask, the second (in a later burst) hits the
    // exact-match cache that the first filled.
    d.dp.configure({ emcInsertInvProb: 1 });
    const frame = udpFrame({ dst: '02:00:00:00:00:09', src: a.mac, ipSrc: '10.91.0.1', ipDst: '10.91.0.9' });
    for (let hits = 1; hits <= 2; hits++) {
      await sendFrames(a, frame, 1);
      await eventually(() => d.dp.stats().hit === hits, 5000, `hit ${hits}`);
    }
    const out = dpctl.show(d, { stats: true });
    expect(out).toContain('netdev@ovs-netdev:\n  lookups: hit:2 missed:0 lost:0\n  flows: 1\n  masks: hit:1 total:1 hit/pkt:1.00\n  caches:\n    emc: hit:1\n');
    expect(out).toContain(`  port ${pa}: ${lab.ifname('a')}\n    RX packets:2 errors:0 dropped:0`);
    expect(dpctl.dumpDps([d])).toBe('netdev@ovs-netdev\n');
  });
});
