import { describe, expect, it } from 'vitest';
import { fieldSize, maxOfBits, parseArgUint, parseFieldUint, parseUintText } from '../../../src/lib/uint.js';

const fail = (message: string): never => {
  throw new Error(message);
};

describe('unsigned numbers in the flow syntaxes', () => {
  it('reads decimal and 0x hex, and nothing else', () => {
    expect(parseUintText('80')).toBe(80n);
    expect(parseUintText('0x50')).toBe(80n);
    expect(parseUintText('0XfF')).toBe(255n);
    expect(parseUintText('18446744073709551616')).toBe(1n << 64n);
    for (const bad of ['', '-1', '1.5', '0x', ' 1', 'ten', '1e3']) expect(parseUintText(bad), bad).toBeUndefined();
  });

  it('states sizes as ovs-ofctl does: bytes when whole, else bits', () => {
    expect([fieldSize(8), fieldSize(16), fieldSize(64), fieldSize(12), fieldSize(3), fieldSize(20)]).toEqual(['1-byte', '2-byte', '8-byte', '12-bit', '3-bit', '20-bit']);
    expect(maxOfBits(12)).toBe(4095n);
  });

  it('accepts a field value up to its top and refuses one past it, with the range in the base it was written in', () => {
    expect(parseFieldUint('65535', 16, 'tcp_dst', fail)).toBe(65535n);
    expect(() => parseFieldUint('70000', 16, 'tcp_dst', fail)).toThrow('70000: value too large for 2-byte field tcp_dst (0 to 65535)');
    expect(() => parseFieldUint('0x1000', 12, 'dl_vlan', fail)).toThrow('0x1000: value too large for 12-bit field dl_vlan (0 to 0xfff)');
    expect(() => parseFieldUint('0x1ffff', 16, 'tcp_dst', fail, 'mask', '80/0x1ffff')).toThrow('80/0x1ffff: mask too large for 2-byte field tcp_dst (0 to 0xffff)');
    expect(() => parseFieldUint('abc', 16, 'tcp_dst', fail)).toThrow('abc: bad syntax for tcp_dst value');
  });

  it('refuses an option or argument as OVS does, within a narrower top where there is one', () => {
    expect(parseArgUint('65535', 'priority', 16, fail)).toBe(65535n);
    expect(() => parseArgUint('70000', 'priority', 16, fail)).toThrow(/^invalid priority "70000" \(0 to 65535\)$/);
    expect(() => parseArgUint('255', 'table', 8, fail, 254n, 'goto_table:255')).toThrow(/^goto_table:255: invalid table "255" \(0 to 254\)$/);
    expect(() => parseArgUint('x', 'VLAN VID', 12, fail)).toThrow('invalid VLAN VID "x" (0 to 4095)');
  });
});
