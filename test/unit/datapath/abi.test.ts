// The two sides of the Rust/JS boundary agree: the addon exports exactly the
// ops native/index.d.ts types, and every packed format has the same
// constants in native/src/abi.rs and src/datapath/abi.ts. Needs no privilege.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { describeAbi, KEY_FIELDS } from '../../../src/datapath/abi.js';
import { loadAddon } from '../../../src/lib/addon.js';
import { extractKey } from '../../../src/datapath/dpif.js';
import { udpFrame } from '../../helpers/frames.js';

/** The op_* members of the Addon interface, read from native/index.d.ts as text. */
function typedOps(): string[] {
  const dts = readFileSync(new URL('../../../native/index.d.ts', import.meta.url), 'utf8');
  const body = /^export interface Addon \{\n([\s\S]*?)^\}/m.exec(dts)?.[1];
  if (!body) throw new Error('native/index.d.ts has no Addon interface');
  return [...body.matchAll(/^\s*(op_\w+)\(/gm)].map((m) => m[1]!);
}

describe('the addon boundary', () => {
  it('exports exactly the ops that the Addon interface in native/index.d.ts types', () => {
    const typed = typedOps();
    expect(typed.length).toBeGreaterThan(10);
    expect(Object.keys(loadAddon()).sort()).toEqual([...typed].sort());
  });

  it('has the same constant under every name on both sides (offsets, sizes, codes, key layout, set fields)', () => {
    const rust = loadAddon().op_abi_describe();
    expect(Object.keys(rust).length).toBeGreaterThan(100);
    expect(describeAbi()).toEqual(rust);
  });

  it('puts the fields of an extracted key where the layout says', () => {
    const frame = udpFrame({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', ipSrc: '10.9.8.7', ipDst: '10.6.5.4', sport: 4242, dport: 53, ttl: 9 });
    const key = extractKey(frame, 7);
    const at = (name: string) => {
      const [, offset, len] = KEY_FIELDS.find(([n]) => n === name)!;
      return key.subarray(offset, offset + len);
    };
    expect(at('in_port').readUInt32LE(0)).toBe(7);
    expect(at('eth.src').toString('hex')).toBe('020000000001');
    expect(at('eth.dst').toString('hex')).toBe('020000000002');
    expect(at('eth_type').readUInt16BE(0)).toBe(0x0800);
    expect([...at('ipv4.src')]).toEqual([10, 9, 8, 7]);
    expect([...at('ipv4.dst')]).toEqual([10, 6, 5, 4]);
    expect(at('ipv4.ttl')[0]).toBe(9);
    expect(at('udp.src').readUInt16BE(0)).toBe(4242);
    expect(at('udp.dst').readUInt16BE(0)).toBe(53);
  });
});
