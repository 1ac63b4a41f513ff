import { describe, expect, it } from 'vitest';
import { FLOW_WORDS, Flow, FlowWildcards } from '../../../src/ofproto/flow.js';
import { Match } from '../../../src/ofproto/match.js';

describe('Flow storage', () => {
  it('gives every flow words of its own, even when carved from a shared slab', () => {
    // More flows than one slab holds, so the carving crosses slabs.
    const flows = Array.from({ length: 300 }, (_, i) => Flow.of({ in_port: i, nw_src: 0xffffffff - i }));
    const copies = flows.map((f) => f.clone());
    copies.forEach((c, i) => c.setNum('tp_dst', i));
    flows.forEach((f, i) => {
      expect(f.num('in_port')).toBe(i);
      expect(f.num('nw_src')).toBe(0xffffffff - i);
      expect(f.num('tp_dst')).toBe(0);
    });
    const wcs = Array.from({ length: 100 }, () => new FlowWildcards());
    expect(wcs.every((wc) => wc.isCatchAll())).toBe(true);
  });

  it('keeps a rule match out of the short-lived slabs: a long-lived rule pins at most 7 other long-lived flows', () => {
    const before = new Flow();
    const m = new Match(Flow.of({ in_port: 3 }), new FlowWildcards().set('in_port', 0xffffffff));
    const after = new Flow();
    for (const w of [m.flow.w, m.wc.w]) {
      expect(w.buffer).not.toBe(before.w.buffer);
      expect(w.buffer).not.toBe(after.w.buffer);
      expect(w.buffer.byteLength).toBeLessThanOrEqual(8 * FLOW_WORDS * 4);
    }
    expect(m.flow.num('in_port')).toBe(3);
    expect(m.wc.num('in_port')).toBe(0xffffffff);
  });

  it('gives every long-lived match words of its own within its slab', () => {
    const matches = Array.from({ length: 20 }, (_, i) => new Match(Flow.of({ in_port: i }), new FlowWildcards().set('in_port', 0xffffffff)));
    const copies = matches.map((m) => m.clone().set('tp_dst', 7));
    matches.forEach((m, i) => {
      expect(m.flow.num('in_port')).toBe(i);
      expect(m.wc.has('tp_dst')).toBe(false);
    });
    expect(copies.every((c) => c.flow.num('tp_dst') === 7)).toBe(true);
  });
});
