import { describe, expect, it } from 'vitest';
import { InstalledFlows } from '../../../src/ofproto/installed-flows.js';

/** A flow id as the datapath makes them: generation above, slot below. */
const id = (slot: number, generation: number) => (BigInt(generation) << 32n) | BigInt(slot);

describe('InstalledFlows', () => {
  it('finds a flow by its full id only', () => {
    const t = new InstalledFlows<{ id: bigint; name: string }>();
    t.add({ id: id(0, 0), name: 'a' });
    t.add({ id: id(5, 0), name: 'b' });
    expect(t.get(id(5, 0))?.name).toBe('b');
    expect(t.get(id(5, 1))).toBeUndefined();
    expect(t.get(id(3, 0))).toBeUndefined();
    expect(t.delete(id(0, 1))).toBe(false);
    expect(t.delete(id(0, 0))).toBe(true);
    expect([...t].map((f) => f.name)).toEqual(['b']);
    t.clear();
    expect([...t]).toEqual([]);
  });

  it('keeps a flow whose slot was reused until its removal is reported', () => {
    const t = new InstalledFlows<{ id: bigint; name: string }>();
    t.add({ id: id(5, 0), name: 'old' });
    // The datapath expired 'old' and gave its slot to 'new' before JS heard of the expiry.
    t.add({ id: id(5, 1), name: 'new' });
    expect(t.get(id(5, 1))?.name).toBe('new');
    expect(t.get(id(5, 0))?.name).toBe('old');
    expect([...t].map((f) => f.name)).toEqual(['new', 'old']);
    // The expiry event arrives: 'old' goes, 'new' stays.
    expect(t.delete(id(5, 0))).toBe(true);
    expect(t.get(id(5, 0))).toBeUndefined();
    expect([...t].map((f) => f.name)).toEqual(['new']);
  });
});
