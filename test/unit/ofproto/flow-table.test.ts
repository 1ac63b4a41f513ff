import { describe, expect, it } from 'vitest';
import { OFPP, output } from '../../../src/ofproto/actions.js';
import { Flow, FlowWildcards } from '../../../src/ofproto/flow.js';
import { FlowTables, type FlowRemoved } from '../../../src/ofproto/flow-table.js';
import { OfpError } from '../../../src/ofproto/ofperr.js';
import { formatFlow, formatFlowStats } from '../../../src/ofproto/print.js';
import { parseFlowMod } from '../../../src/openflow/flow-syntax.js';

/** Tables on a fake clock, fed with ovs-ofctl strings. */
function bridge(opts: { defaultRule?: boolean } = {}) {
  let now = 0;
  const removed: FlowRemoved[] = [];
  const t = new FlowTables({ clock: () => now, defaultRule: opts.defaultRule ?? false, onFlowRemoved: (e) => removed.push(e) });
  return {
    t,
    removed,
    advance: (ms: number) => (now += ms),
    add: (s: string) => t.apply(parseFlowMod(s, 'add')),
    mod: (s: string, strict = false) => t.apply(parseFlowMod(s, strict ? 'modify_strict' : 'modify')),
    del: (s: string, strict = false) => t.apply(parseFlowMod(s, strict ? 'delete_strict' : 'delete')),
    dump: () => t.dump().map((r) => formatFlow(r)),
  };
}

const ip = (dst: number, port = 1) => Flow.of({ in_port: port, dl_type: 0x0800, nw_dst: dst });

describe('a new bridge', () => {
  it('holds one rule, priority=0,actions=NORMAL, as OVS does', () => {
    const t = new FlowTables({ clock: () => 1234 });
    expect(t.dump().map((r) => formatFlowStats(r, 2468))).toEqual([' cookie=0x0, duration=1.234s, table=0, n_packets=0, n_bytes=0, priority=0 actions=NORMAL']);
    expect(t.lookup(0, Flow.of({ in_port: 5 }))?.instructions.apply).toEqual([output(OFPP.NORMAL)]);
  });
});

describe('flow_mod ADD', () => {
  it('replaces an identical match and priority, keeping counters unless reset_counts', () => {
    const b = bridge();
    b.add('priority=10,ip,actions=output:1');
    const r1 = b.t.lookup(0, ip(1))!;
    b.t.credit(r1, 3, 300);
    const res = b.add('priority=10,ip,actions=output:2');
    expect(res.replaced).toBe(r1);
    const r2 = b.t.lookup(0, ip(1))!;
    expect([r2.nPackets, r2.nBytes]).toEqual([3n, 300n]);
    b.add('priority=10,ip,reset_counts,actions=output:3');
    expect(b.t.lookup(0, ip(1))!.nPackets).toBe(0n);
    expect(b.t.count()).toBe(1);
  });

  it('with check_overlap refuses a same-priority rule that could match the same packet', () => {
    const b = bridge();
    b.add('priority=10,ip,nw_dst=10.0.0.0/8,actions=output:1');
    expect(() => b.add('priority=10,check_overlap,ip,nw_src=1.1.1.1,actions=output:2')).toThrow(/OFPFMFC_OVERLAP/);
    // Different priority, or disjoint match: fine.
    b.add('priority=11,check_overlap,ip,nw_src=1.1.1.1,actions=output:2');
    b.add('priority=10,check_overlap,ip,nw_dst=11.0.0.0/8,actions=output:2');
    expect(b.t.count()).toBe(3);
  });

  it('rejects a match without its prerequisites with OFPBMC_BAD_PREREQ', () => {
    const b = bridge();
    const fm = parseFlowMod('ip,nw_dst=10.0.0.1,actions=drop');
    fm.match.clear('dl_type');
    expect(() => b.t.apply(fm)).toThrow(OfpError);
    expect(() => b.t.apply(fm)).toThrow(/OFPBMC_BAD_PREREQ: match on nw_dst requires dl_type=0x0800/);
  });

  it('rejects table 255 and goto_table backwards', () => {
    const b = bridge();
    const fm = parseFlowMod('actions=drop');
    fm.tableId = 255;
    expect(() => b.t.apply(fm)).toThrow(/OFPFMFC_BAD_TABLE_ID/);
    expect(() => b.add('table=3,actions=goto_table:2')).toThrow(/OFPBIC_BAD_TABLE_ID/);
  });
});

describe('flow_mod MODIFY', () => {
  it('non-strict changes the actions of every rule at least as specific as the match, any priority', () => {
    const b = bridge();
    b.add('priority=5,ip,nw_dst=10.0.0.1,actions=output:1');
    b.add('priority=6,ip,actions=output:1');
    b.add('priority=7,arp,actions=output:1');
    const res = b.mod('ip,actions=output:9');
    expect(res.modified).toHaveLength(2);
    expect(b.dump()).toEqual(['priority=7,arp actions=output:1', 'priority=6,ip actions=output:9', 'priority=5,ip,nw_dst=10.0.0.1 actions=output:9']);
  });

  it('strict changes only the identical match and priority', () => {
    const b = bridge();
    b.add('priority=5,ip,actions=output:1');
    b.add('priority=6,ip,actions=output:1');
    expect(b.mod('priority=5,ip,actions=output:2', true).modified).toHaveLength(1);
    expect(b.dump()).toEqual(['priority=6,ip actions=output:1', 'priority=5,ip actions=output:2']);
  });

  it('keeps cookie, timeouts and counters, and adds nothing when no rule matches (OpenFlow 1.3)', () => {
    const b = bridge();
    b.add('cookie=0x7,idle_timeout=30,priority=5,ip,actions=output:1');
    const r = b.t.lookup(0, ip(1))!;
    b.t.credit(r, 1, 60);
    b.mod('ip,actions=output:2');
    expect(r.cookie).toBe(7n);
    expect(r.idleTimeout).toBe(30);
    expect(r.nPackets).toBe(1n);
    expect(b.mod('arp,actions=output:2').modified).toHaveLength(0);
    expect(b.t.count()).toBe(1);
  });

  it('selects by cookie under cookie_mask', () => {
    const b = bridge();
    b.add('cookie=0x11,priority=1,in_port=1,actions=output:1');
    b.add('cookie=0x21,priority=1,in_port=2,actions=output:1');
    expect(b.mod('cookie=0x10/0xf0,actions=drop').modified.map((r) => r.cookie)).toEqual([0x11n]);
  });
});

describe('flow_mod DELETE', () => {
  it('non-strict removes rules at least as specific as the match in every table', () => {
    const b = bridge();
    b.add('table=0,priority=5,ip,nw_dst=10.0.0.1,actions=output:1');
    b.add('table=1,priority=5,ip,actions=output:1');
    b.add('table=1,priority=5,arp,actions=output:1');
    expect(b.del('ip').removed).toHaveLength(2);
    expect(b.dump()).toEqual(['table=1, priority=5,arp actions=output:1']);
  });

  it('strict removes only the identical match and priority', () => {
    const b = bridge();
    b.add('priority=5,ip,actions=output:1');
    b.add('priority=6,ip,actions=output:1');
    expect(b.del('priority=5,ip', true).removed).toHaveLength(1);
    expect(b.dump()).toEqual(['priority=6,ip actions=output:1']);
  });

  it('filters by out_port, including write-actions', () => {
    const b = bridge();
    b.add('priority=1,in_port=1,actions=output:2');
    b.add('priority=1,in_port=2,actions=output:3');
    b.add('priority=1,in_port=3,actions=write_actions(output:2)');
    expect(b.del('out_port=2').removed.map((e) => e.rule.match.flow.num('in_port')).sort()).toEqual([1, 3]);
    expect(b.t.count()).toBe(1);
  });

  it('filters by cookie mask and out_group', () => {
    const b = bridge();
    b.add('cookie=0x1,priority=1,in_port=1,actions=group:7');
    b.add('cookie=0x2,priority=1,in_port=2,actions=group:8');
    b.add('cookie=0x1,priority=1,in_port=3,actions=output:1');
    expect(b.del('cookie=0x1/-1,out_group=7').removed).toHaveLength(1);
    expect(b.del('cookie=0x1/0x1').removed).toHaveLength(1);
    expect(b.t.count()).toBe(1);
  });

  it('reports rules with send_flow_rem as removed by delete', () => {
    const b = bridge();
    b.add('send_flow_rem,priority=1,in_port=1,actions=drop');
    b.add('priority=1,in_port=2,actions=drop');
    b.del('');
    expect(b.removed.map((e) => e.reason)).toEqual(['delete']);
  });
});

describe('timeouts', () => {
  it('expires an idle rule only after idle_timeout without traffic', () => {
    const b = bridge();
    b.add('send_flow_rem,idle_timeout=10,priority=1,ip,actions=output:1');
    const r = b.t.lookup(0, ip(1))!;
    b.advance(6000);
    b.t.credit(r, 1, 64);
    b.advance(6000);
    expect(b.t.expire()).toEqual([]);
    b.advance(4000);
    expect(b.t.expire().map((e) => e.reason)).toEqual(['idle_timeout']);
    expect(b.removed).toHaveLength(1);
    expect(b.t.count()).toBe(0);
  });

  it('expires a rule hard_timeout seconds after it was added, traffic or not', () => {
    const b = bridge();
    b.add('hard_timeout=5,idle_timeout=100,priority=1,ip,actions=output:1');
    const r = b.t.lookup(0, ip(1))!;
    b.advance(4999);
    b.t.credit(r, 1, 64);
    expect(b.t.expire()).toEqual([]);
    b.advance(1);
    expect(b.t.expire().map((e) => e.reason)).toEqual(['hard_timeout']);
  });
});

describe('lookup', () => {
  it('picks by priority within a table and reports the consulted fields', () => {
    const b = bridge({ defaultRule: true });
    b.add('priority=100,ip,nw_dst=10.0.0.0/24,actions=output:2');
    const wc = new FlowWildcards();
    expect(formatFlow(b.t.lookup(0, ip(0x0a000005), wc)!)).toBe('priority=100,ip,nw_dst=10.0.0.0/24 actions=output:2');
    expect(wc.fields()).toEqual(['dl_type', 'nw_dst']);
    expect(wc.num('nw_dst')).toBe(0xffffff00);
    expect(formatFlow(b.t.lookup(0, ip(0x0b000005))!)).toBe('priority=0 actions=NORMAL');
  });
});
