import { describe, expect, it } from 'vitest';
import { Classifier, type ClsRule } from '../../../src/ofproto/classifier.js';
import { FIELD_IDS, FIELDS, Flow, FlowWildcards, type FieldId } from '../../../src/ofproto/flow.js';
import { Match } from '../../../src/ofproto/match.js';

interface R extends ClsRule {
  name: string;
}
const rule = (name: string, priority: number, match: Match): R => ({ name, priority, match });

describe('Classifier lookup', () => {
  it('returns the highest-priority matching rule', () => {
    const c = new Classifier<R>();
    c.insert(rule('any', 0, Match.catchAll()));
    c.insert(rule('ip', 10, Match.of({ dl_type: 0x0800 })));
    c.insert(rule('ip-dst', 20, Match.of({ dl_type: 0x0800 }).set('nw_dst', 0x0a000000, 0xffffff00)));
    expect(c.lookup(Flow.of({ dl_type: 0x0800, nw_dst: 0x0a000005 }))?.name).toBe('ip-dst');
    expect(c.lookup(Flow.of({ dl_type: 0x0800, nw_dst: 0x0b000005 }))?.name).toBe('ip');
    expect(c.lookup(Flow.of({ dl_type: 0x0806 }))?.name).toBe('any');
  });

  it('keeps rules with the same match but different priorities apart', () => {
    const c = new Classifier<R>();
    const m = Match.of({ in_port: 1 });
    c.insert(rule('low', 1, m));
    c.insert(rule('high', 5, m));
    expect(c.lookup(Flow.of({ in_port: 1 }))?.name).toBe('high');
    expect(c.remove(c.findExact(m, 5)!)).toBe(true);
    expect(c.lookup(Flow.of({ in_port: 1 }))?.name).toBe('low');
    expect(c.size).toBe(1);
  });

  it('replaces and returns a rule with identical match and priority', () => {
    const c = new Classifier<R>();
    c.insert(rule('a', 7, Match.of({ in_port: 3 })));
    const old = c.insert(rule('b', 7, Match.of({ in_port: 3 })));
    expect(old?.name).toBe('a');
    expect(c.size).toBe(1);
  });

  it('drops a subtable when its last rule leaves', () => {
    const c = new Classifier<R>();
    const r = rule('x', 1, Match.of({ tp_dst: 80 }));
    c.insert(r);
    expect(c.nSubtables).toBe(1);
    c.remove(r);
    expect(c.nSubtables).toBe(0);
    expect(c.lookup(Flow.of({ tp_dst: 80 }))).toBeUndefined();
  });

  it('reports the fields of every subtable it probed, including higher-priority misses', () => {
    const c = new Classifier<R>();
    c.insert(rule('web', 100, Match.of({ dl_type: 0x0800, nw_proto: 6, tp_dst: 80 })));
    c.insert(rule('port1', 50, Match.of({ in_port: 1 })));
    c.insert(rule('low', 1, Match.of({ dl_dst: 0x112233445566n })));
    const wc = new FlowWildcards();
    expect(c.lookup(Flow.of({ in_port: 1, dl_type: 0x0800, nw_proto: 17, tp_dst: 53 }), wc)?.name).toBe('port1');
    expect(wc.fields()).toEqual(['in_port', 'dl_type', 'nw_proto', 'tp_dst']);
    // The priority-1 subtable could not win, so dl_dst stays wildcarded.
    expect(wc.has('dl_dst')).toBe(false);
  });
});

// ---- Property: a lookup's answer depends only on the fields it reports. ----

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

const PROP_FIELDS: FieldId[] = ['in_port', 'dl_type', 'nw_src', 'nw_dst', 'nw_proto', 'tp_dst', 'reg0', 'metadata'];
// Small value domains so random rules and flows collide often.
const small = (r: () => number, f: FieldId) => BigInt(Math.floor(r() * 4)) << BigInt(Math.max(0, FIELDS[f].bits - 2) * Math.floor(r() * 2));

describe('Classifier wildcard property', () => {
  it('gives every flow equal under the reported wildcard the same winning rule', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const r = rng(seed);
      const c = new Classifier<R>();
      const masks = Array.from({ length: 6 }, () => {
        const m = new FlowWildcards();
        for (const f of PROP_FIELDS) if (r() < 0.35) m.set(f, r() < 0.7 ? (1n << BigInt(FIELDS[f].bits)) - 1n : 3n);
        return m;
      });
      for (let i = 0; i < 60; i++) {
        const mask = masks[Math.floor(r() * masks.length)]!;
        const m = new Match(undefined, mask);
        for (const f of mask.fields()) m.set(f, small(r, f) & mask.get(f), mask.get(f));
        c.insert(rule(`r${i}`, Math.floor(r() * 8), m));
      }
      for (let k = 0; k < 40; k++) {
        const flow = new Flow();
        for (const f of PROP_FIELDS) flow.set(f, small(r, f) & ((1n << BigInt(FIELDS[f].bits)) - 1n));
        const wc = new FlowWildcards();
        const winner = c.lookup(flow, wc);
        // Perturb every unreported bit at random, many times: the winner must not change.
        for (let t = 0; t < 10; t++) {
          const other = flow.clone();
          for (let i = 0; i < other.w.length; i++) {
            const free = ~wc.w[i]! >>> 0;
            other.w[i] = ((other.w[i]! & wc.w[i]!) | (Math.floor(r() * 4294967296) & free)) >>> 0;
          }
          // Flip single fields into small domain values too (random words rarely hit rules).
          for (const f of PROP_FIELDS) {
            if (r() < 0.5) {
              const v = small(r, f);
              const keep = other.get(f) & wc.get(f);
              other.set(f, keep | (v & ~wc.get(f) & ((1n << BigInt(FIELDS[f].bits)) - 1n)));
            }
          }
          expect(other.equalsUnder(flow, wc)).toBe(true);
          expect(c.lookup(other)?.name, `seed ${seed}`).toBe(winner?.name);
        }
      }
    }
  });

  it('agrees with a linear scan', () => {
    const r = rng(99);
    const c = new Classifier<R>();
    const all: R[] = [];
    for (let i = 0; i < 300; i++) {
      const m = new Match();
      for (const f of PROP_FIELDS) if (r() < 0.3) m.set(f, small(r, f));
      const x = rule(`r${i}`, i, m); // distinct priorities: the winner is unique
      c.insert(x);
      all.push(x);
    }
    for (let k = 0; k < 300; k++) {
      const flow = new Flow();
      for (const f of PROP_FIELDS) flow.set(f, small(r, f));
      const expected = all.filter((x) => x.match.matches(flow)).sort((a, b) => b.priority - a.priority)[0];
      expect(c.lookup(flow)?.name).toBe(expected?.name);
    }
    expect(FIELD_IDS.length).toBeGreaterThan(20);
  });
});
