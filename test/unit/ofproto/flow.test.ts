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

  it('keeps a rule match out of the slabs, so a long-lived rule does not pin short-lived flows', () => {
    const m = new Match(Flow.of({ in_port: 3 }), new FlowWildcards().set('in_port', 0xffffffff));
    expect(m.flow.w.buffer.byteLength).toBe(FLOW_WORDS * 4);
    expect(m.wc.w.buffer.byteLength).toBe(FLOW_WORDS * 4);
    expect(m.flow.num('in_port')).toBe(3);
  });
});
