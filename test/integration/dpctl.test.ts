// The dpctl operations in OVS's datapath flow syntax, on a datapath with
// real ports and real traffic.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Datapath } from '../../src/datapath/dpif.js';
import * as dpctl from '../../src/datapath/dpctl.js';
import { Lab, type Host } from '../../src/lib/netns.js';
import { eventually } from '../helpers/eventually.js';
import { sendFrames, udpFrame } from '../helpers/frames.js';

let lab: Lab;
let d: dpctl.NamedDatapath;
let a: Host;
let pa: number;
let pb: number;

beforeEach(async () => {
  lab = new Lab();
  d = { name: 'ovs-netdev', dp: Datapath.open() };
  const ha = await lab.addVethHost('a', '10.91.0.1/24');
  const hb = await lab.addVethHost('b', '10.91.0.2/24');
  a = ha.host;
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
