import { describe, expect, it } from 'vitest';
import { encodeActions } from '../../../src/datapath/actions.js';
import { extractKey } from '../../../src/datapath/dpif.js';
import { decodeKey } from '../../../src/datapath/flow-key.js';
import { cacheOf, creditStats, revalidate, type InstalledFlow } from '../../../src/ofproto/revalidate.js';
import { wcToMask } from '../../../src/ofproto/odp-convert.js';
import { xlateMiss } from '../../../src/ofproto/xlate.js';
import { parseFlowMod } from '../../../src/openflow/flow-syntax.js';
import { DP, makeBridge } from './bridge-builder.js';

/** An Ethernet frame as the datapath would see it. */
function frame(src: string, dst: string, ipDst?: string): Buffer {
  const mac = (m: string) => Buffer.from(m.split(':').map((x) => parseInt(x, 16)));
  if (!ipDst) return Buffer.concat([mac(dst), mac(src), Buffer.from([0x88, 0xb5]), Buffer.alloc(46)]);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip[8] = 64;
  ip[9] = 17;
  Buffer.from([10, 0, 0, 1]).copy(ip, 12);
  Buffer.from(ipDst.split('.').map(Number)).copy(ip, 16);
  return Buffer.concat([mac(dst), mac(src), Buffer.from([0x08, 0x00]), ip, Buffer.alloc(8)]);
}

/** A miss, handled as the upcall handler will: translate, install key/mask/actions. */
function miss(b: ReturnType<typeof makeBridge>, inPort: number, f: Buffer): InstalledFlow & { name: string } {
  const key = extractKey(f, DP(inPort));
  const r = xlateMiss(b.br, key)!;
  return { name: `${inPort}`, key, mask: wcToMask(r.wc, key), actions: encodeActions(r.actions), cache: cacheOf(r) };
}

const H1 = '00:00:00:00:00:01';
const H2 = '00:00:00:00:00:02';
const H3 = '00:00:00:00:00:03';

describe('revalidation', () => {
  it('keeps flows nothing changed', () => {
    const b = makeBridge([1, 2, 3]);
    const f = miss(b, 1, frame(H1, H2));
    const r = revalidate(b.br, [f]);
    expect(r.keep.map((x) => x.flow)).toEqual([f]);
    expect(r.modify).toEqual([]);
    expect(r.delete).toEqual([]);
  });

  it('after del-flows, no megaflow keeps forwarding', () => {
    const b = makeBridge([1, 2, 3], { defaultRule: false });
    b.add('priority=10,ip,nw_dst=10.0.0.2,actions=output:2', 'priority=5,ip,actions=output:3');
    const a = miss(b, 1, frame(H1, H2, '10.0.0.2'));
    const c = miss(b, 1, frame(H1, H2, '10.0.0.3'));
    b.br.flowMod(parseFlowMod('priority=10,ip,nw_dst=10.0.0.2', 'delete_strict'));
    const r = revalidate(b.br, [a, c]);
    // a now goes where c goes; c is untouched.
    expect(r.modify.map((x) => [x.flow, x.actions])).toEqual([[a, [{ type: 'output', port: DP(3) }]]]);
    expect(r.keep.map((x) => x.flow)).toEqual([c]);
    b.del();
    const r2 = revalidate(b.br, [a, c]);
    expect(r2.modify.map((x) => x.actions)).toEqual([[], []]);
  });

  it('deletes a megaflow whose mask is too wide for a newly added, more specific rule', () => {
    const b = makeBridge([1, 2, 3], { defaultRule: false });
    b.add('priority=5,ip,actions=output:3');
    const f = miss(b, 1, frame(H1, H2, '10.0.0.2'));
    expect(decodeKey(f.mask, 0x0800)['ipv4.dst']).toBeUndefined();
    b.add('priority=10,ip,nw_dst=10.0.0.9,actions=output:2');
    const r = revalidate(b.br, [f]);
    expect(r.delete).toHaveLength(1);
    expect(r.delete[0]!.reason).toContain('wildcards');
  });

  it('after a VLAN change, flows into and out of the port are corrected', () => {
    const b = makeBridge([
      { ofport: 1, vlan: { tag: 10 } },
      { ofport: 2, vlan: { tag: 10 } },
      { ofport: 3, vlan: { tag: 20 } },
    ]);
    const f12 = miss(b, 1, frame(H1, 'ff:ff:ff:ff:ff:ff'));
    const f3 = miss(b, 3, frame(H3, 'ff:ff:ff:ff:ff:ff'));
    expect(f12.actions).toEqual(encodeActions([{ type: 'output', port: DP(2) }]));
    b.br.setPortVlan(2, { tag: 20 });
    const r = revalidate(b.br, [f12, f3]);
    expect(r.modify.map((x) => [x.flow.name, x.actions])).toEqual([
      ['1', []],
      ['3', [{ type: 'output', port: DP(2) }]],
    ]);
  });

  it('after a host moves ports, flows toward it follow, and other flows are kept', () => {
    const b = makeBridge([1, 2, 3]);
    miss(b, 2, frame(H2, 'ff:ff:ff:ff:ff:ff'));
    const toH2 = miss(b, 1, frame(H1, H2));
    const toH1 = miss(b, 3, frame(H3, H1));
    expect(toH2.actions).toEqual(encodeActions([{ type: 'output', port: DP(2) }]));
    const seq = b.br.changeSeq();
    miss(b, 3, frame(H2, 'ff:ff:ff:ff:ff:ff'));
    expect(b.br.changeSeq()).not.toBe(seq);
    const r = revalidate(b.br, [toH2, toH1]);
    expect(r.modify.map((x) => [x.flow, x.actions])).toEqual([[toH2, [{ type: 'output', port: DP(3) }]]]);
    expect(r.keep.map((x) => x.flow)).toEqual([toH1]);
  });

  it('deletes flows whose in_port left the bridge', () => {
    const b = makeBridge([1, 2]);
    const f = miss(b, 1, frame(H1, H2));
    b.br.removePort(1);
    expect(revalidate(b.br, [f]).delete).toHaveLength(1);
  });

  it('credits megaflow stats to the rules that made them, keeping idle rules alive', () => {
    const b = makeBridge([1, 2], { defaultRule: false });
    b.add('table=0,idle_timeout=10,actions=resubmit(,1)', 'table=1,actions=output:2');
    const f = miss(b, 1, frame(H1, H2));
    b.advance(8000);
    creditStats(b.br, f.cache!, { packets: 5, bytes: 500 });
    const [r0, r1] = b.br.tables.dump();
    expect([r0!.nPackets, r0!.nBytes, r1!.nPackets]).toEqual([5n, 500n, 5n]);
    b.advance(8000);
    expect(b.br.expire().rules).toEqual([]);
    b.advance(3000);
    expect(b.br.expire().rules.map((x) => x.reason)).toEqual(['idle_timeout']);
  });

  it('refreshes the MACs a megaflow learned from so fast-path talkers do not age out', () => {
    const b = makeBridge([1, 2, 3]);
    const f = miss(b, 1, frame(H1, H2));
    b.advance(200_000);
    creditStats(b.br, f.cache!, { packets: 1, bytes: 60, usedAt: b.br.tables.now() });
    b.advance(200_000);
    b.br.expire();
    expect(b.br.mac.lookup(1n, 0)).toBe(1);
    b.advance(300_000);
    b.br.expire();
    expect(b.br.mac.lookup(1n, 0)).toBeUndefined();
  });
});

describe('a MAC moved by a spoofed frame', () => {
  /** h2 on port 2 talks to h3 on port 3 through cached flows; then port 1 sends a frame from h2's MAC. */
  function spoofed() {
    const b = makeBridge([1, 2, 3]);
    const fromH2 = miss(b, 2, frame(H2, H3));
    const toH2 = miss(b, 3, frame(H3, H2));
    const spoof = miss(b, 1, frame(H2, H3));
    const moved = revalidate(b.br, [toH2]).modify;
    expect(moved.map((x) => x.actions)).toEqual([[{ type: 'output', port: DP(1) }]]);
    toH2.actions = encodeActions(moved[0]!.actions);
    return { b, fromH2, toH2, spoof };
  }

  it("moves back to the port of the flow whose traffic carries it, and the flows toward it follow", () => {
    const { b, fromH2, toH2 } = spoofed();
    expect(b.br.mac.lookup(2n, 0)).toBe(1);
    const seq = b.br.changeSeq();
    // h2 keeps sending through its cached flow, which never misses: its stats learn again.
    b.advance(100);
    creditStats(b.br, fromH2.cache!, { packets: 3, bytes: 180, usedAt: b.br.tables.now() });
    expect(b.br.mac.lookup(2n, 0)).toBe(2);
    expect(b.br.changeSeq()).not.toBe(seq);
    expect(revalidate(b.br, [toH2]).modify.map((x) => x.actions)).toEqual([[{ type: 'output', port: DP(2) }]]);
  });

  it('is not dragged back by traffic older than the move, as a host that moved ports sent before it went', () => {
    const { b, fromH2 } = spoofed();
    const beforeTheMove = b.br.tables.now() - 50;
    creditStats(b.br, fromH2.cache!, { packets: 3, bytes: 180, usedAt: beforeTheMove });
    expect(b.br.mac.lookup(2n, 0)).toBe(1);
    // Counters whose time is unknown (a flow's final stats) refresh an entry but never move it.
    creditStats(b.br, fromH2.cache!, { packets: 3, bytes: 180 });
    expect(b.br.mac.lookup(2n, 0)).toBe(1);
  });

  it("stays where it is while the spoofer's flow sees no traffic", () => {
    const { b, fromH2, spoof } = spoofed();
    b.advance(100);
    creditStats(b.br, fromH2.cache!, { packets: 1, bytes: 60, usedAt: b.br.tables.now() });
    creditStats(b.br, spoof.cache!, { packets: 0, bytes: 0, usedAt: b.br.tables.now() });
    expect(b.br.mac.lookup(2n, 0)).toBe(2);
  });

  it('is not learned again on a port that left the bridge or no longer carries its VLAN', () => {
    const b = makeBridge([1, 2, { ofport: 3, vlan: { tag: 10 } }]);
    const fromPort1 = miss(b, 1, frame(H1, H2));
    const fromPort3 = miss(b, 3, frame(H3, H2));
    b.br.removePort(1);
    b.br.setPortVlan(3, { tag: 20 });
    b.advance(100);
    creditStats(b.br, fromPort1.cache!, { packets: 1, bytes: 60, usedAt: b.br.tables.now() });
    creditStats(b.br, fromPort3.cache!, { packets: 1, bytes: 60, usedAt: b.br.tables.now() });
    expect(b.br.mac.lookup(1n, 0)).toBeUndefined();
    expect(b.br.mac.lookup(3n, 10)).toBeUndefined();
    expect(b.br.mac.size).toBe(0);
  });
});
