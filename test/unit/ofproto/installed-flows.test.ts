import { describe, expect, it } from 'vitest';
import { InstalledFlows } from '../../../src/ofproto/installed-flows.js';

/** A flow id as the datapath makes them: generation above, slot below. */
const id = (slot: number, generation: number) => (BigInt(generation) << 32n) | BigInt(slot);

describe('InstalledFlows', () => {
  it('finds a flow by its full id only, and lets a reused slot replace what was there', () => {
    const t = new InstalledFlows<{ id: bigint; name: string }>();
    t.add({ id: id(0, 0), name: 'a' });
    t.add({ id: id(5, 0), name: 'b' });
    expect(t.get(id(5, 0))?.name).toBe('b');
    expect(t.get(id(5, 1))).toBeUndefined();
    expect(t.get(id(3, 0))).toBeUndefined();
    // Slot 5 reused: the datapath removed 'b' (say, on expiry) before JS heard of it.
    t.add({ id: id(5, 1), name: 'c' });
    expect(t.get(id(5, 0))).toBeUndefined();
    expect(t.delete(id(5, 0))).toBe(false);
    expect(t.get(id(5, 1))?.name).toBe('c');
    expect([...t].map((f) => f.name)).toEqual(['a', 'c']);
    expect(t.delete(id(0, 0))).toBe(true);
    expect([...t].map((f) => f.name)).toEqual(['c']);
    t.clear();
    expect([...t]).toEqual([]);
  });
});
