import { describe, expect, it } from 'vitest';
import { MacLearningTable } from '../../../src/ofproto/mac-learning.js';
import { inputVlan, outputTci, resolveVlan, VlanConfigError } from '../../../src/ofproto/vlan.js';

describe('port VLAN config', () => {
  it('defaults to access with a tag and to trunk-all without', () => {
    expect(resolveVlan({ tag: 5 })).toEqual({ mode: 'access', tag: 5, trunks: new Set() });
    expect(resolveVlan({})).toEqual({ mode: 'trunk', tag: undefined, trunks: undefined });
  });

  it('rejects configurations OVS would not honour, saying how to fix them', () => {
    expect(() => resolveVlan({ tag: 4096 })).toThrow(VlanConfigError);
    expect(() => resolveVlan({ tag: 5, trunks: [6] })).toThrow(/remove trunks/);
    expect(() => resolveVlan({ vlanMode: 'trunk', tag: 5 })).toThrow(/native-tagged/);
    expect(() => resolveVlan({ vlanMode: 'native-untagged' })).toThrow(/needs a tag/);
    expect(() => resolveVlan({ vlanMode: 'bogus' as 'trunk' })).toThrow(/unknown/);
  });

  it('classifies input frames per mode', () => {
    const access = resolveVlan({ tag: 10 });
    expect(inputVlan(access, 0)).toEqual({ vlan: 10 });
    expect(inputVlan(access, 0x1000 | 10)).toHaveProperty('drop');
    const trunk = resolveVlan({ trunks: [10, 20] });
    expect(inputVlan(trunk, 0x1000 | 20)).toEqual({ vlan: 20 });
    expect(inputVlan(trunk, 0x1000 | 30)).toHaveProperty('drop');
    expect(inputVlan(trunk, 0)).toHaveProperty('drop');
    expect(inputVlan(resolveVlan({}), 0)).toEqual({ vlan: 0 });
    const native = resolveVlan({ vlanMode: 'native-tagged', tag: 10, trunks: [20] });
    expect(inputVlan(native, 0)).toEqual({ vlan: 10 });
    expect(inputVlan(native, 0x1000 | 10)).toEqual({ vlan: 10 });
    expect(inputVlan(native, 0x1000 | 20)).toEqual({ vlan: 20 });
  });

  it('tags or untags on output per mode, and refuses VLANs the port does not carry', () => {
    expect(outputTci(resolveVlan({ tag: 10 }), 10)).toBe(0);
    expect(outputTci(resolveVlan({ tag: 10 }), 20)).toBeUndefined();
    expect(outputTci(resolveVlan({}), 20, 3)).toBe(0x1000 | (3 << 13) | 20);
    expect(outputTci(resolveVlan({}), 0)).toBe(0);
    expect(outputTci(resolveVlan({ vlanMode: 'native-untagged', tag: 10 }), 10)).toBe(0);
    expect(outputTci(resolveVlan({ vlanMode: 'native-tagged', tag: 10 }), 10)).toBe(0x1000 | 10);
  });
});

describe('MAC learning table', () => {
  const clock = () => {
    let now = 0;
    return { now: () => now, advance: (ms: number) => (now += ms) };
  };

  it('reports new entries and moves as changes, refreshes as not', () => {
    const c = clock();
    const t = new MacLearningTable({ clock: c.now });
    const v0 = t.version;
    expect(t.learn(1n, 0, 1)).toBe('new');
    expect(t.learn(1n, 0, 1)).toBe('refreshed');
    expect(t.version).toBe(v0 + 1);
    expect(t.learn(1n, 0, 2)).toBe('moved');
    expect(t.lookup(1n, 0)).toBe(2);
    expect(t.version).toBe(v0 + 2);
    expect(t.learn(0x010000000000n, 0, 1)).toBe('ignored');
  });

  it('keeps one entry per MAC per VLAN', () => {
    const t = new MacLearningTable();
    t.learn(1n, 10, 1);
    t.learn(1n, 20, 2);
    expect([t.lookup(1n, 10), t.lookup(1n, 20), t.lookup(1n, 30)]).toEqual([1, 2, undefined]);
  });

  it('ages entries out after 300 s by default, counting from the last time they were seen', () => {
    const c = clock();
    const t = new MacLearningTable({ clock: c.now });
    t.learn(1n, 0, 1);
    c.advance(200_000);
    t.learn(1n, 0, 1);
    c.advance(200_000);
    expect(t.expire()).toEqual([]);
    c.advance(100_000);
    expect(t.expire().map((e) => e.mac)).toEqual([1n]);
    const short = new MacLearningTable({ clock: c.now, agingSec: 10 });
    short.learn(2n, 0, 1);
    c.advance(10_000);
    expect(short.expire()).toHaveLength(1);
  });

  it('evicts the least recently seen entry when full (8192 by default)', () => {
    expect(new MacLearningTable().maxEntries).toBe(8192);
    const t = new MacLearningTable({ maxEntries: 3 });
    t.learn(1n, 0, 1);
    t.learn(2n, 0, 1);
    t.learn(3n, 0, 1);
    t.learn(1n, 0, 1); // seen again: now the newest
    t.learn(4n, 0, 1);
    expect(t.entries().map((e) => e.mac)).toEqual([3n, 1n, 4n]);
    t.setMaxEntries(1);
    expect(t.entries().map((e) => e.mac)).toEqual([4n]);
  });

  it('flushes everything, or one port, or one VLAN', () => {
    const t = new MacLearningTable();
    t.learn(1n, 10, 1);
    t.learn(2n, 10, 2);
    t.learn(3n, 20, 2);
    expect(t.flush({ port: 2, vlan: 20 })).toBe(1);
    expect(t.flush({ port: 1 })).toBe(1);
    expect(t.flush()).toBe(1);
    expect(t.size).toBe(0);
  });
});
