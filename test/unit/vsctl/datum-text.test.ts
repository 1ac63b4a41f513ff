import { describe, expect, it } from 'vitest';
import type { ColumnType } from '../../../src/ovsdb/types.js';
import { SymbolTable, VsctlError, datumFromString, datumToBare, datumToString } from '../../../src/vsctl/datum-text.js';

const strMap: ColumnType = { key: { type: 'string' }, value: { type: 'string' }, min: 0, max: Infinity };
const intSet: ColumnType = { key: { type: 'integer', minInteger: 0, maxInteger: 4095 }, min: 0, max: 4096 };
const optInt: ColumnType = { key: { type: 'integer' }, min: 0, max: 1 };
const str: ColumnType = { key: { type: 'string' }, min: 1, max: 1 };
const ref: ColumnType = { key: { type: 'uuid', refTable: 'Port', refType: 'strong' }, min: 0, max: Infinity };

describe("OVS's value syntax", () => {
  it('reads sets with or without brackets, commas or spaces, and prints them sorted in brackets', () => {
    expect(datumToString(intSet, datumFromString(intSet, '3,1 2'))).toBe('[1, 2, 3]');
    expect(datumToString(intSet, datumFromString(intSet, '[ ]'))).toBe('[]');
  });
  it('prints an optional scalar bare when present and as [] when absent', () => {
    expect(datumToString(optInt, datumFromString(optInt, '10'))).toBe('10');
    expect(datumToString(optInt, datumFromString(optInt, '[]'))).toBe('[]');
  });
  it('reads maps with quoted values and quotes only strings that need it', () => {
    const d = datumFromString(strMap, '{remote_ip="10.0.0.1", key=flow, "a b"=c}');
    expect(datumToString(strMap, d)).toBe('{"a b"=c, key=flow, remote_ip="10.0.0.1"}');
    expect(datumToBare(strMap, d)).toBe('a b=c key=flow remote_ip=10.0.0.1');
    expect(datumToString(str, datumFromString(str, 'true'))).toBe('"true"');
    expect(datumToString(str, datumFromString(str, 'br-0.x_y'))).toBe('br-0.x_y');
  });
  it("reports errors in OVS's words", () => {
    const msg = (t: ColumnType, s: string): string => {
      try {
        datumFromString(t, s);
      } catch (e) {
        expect(e).toBeInstanceOf(VsctlError);
        return (e as Error).message;
      }
      return 'no error';
    };
    expect(msg(intSet, '1,1')).toBe('1,1: set contains duplicate value');
    expect(msg(intSet, '5000')).toBe('constraint violation: 5000 is not in the valid range 0 to 4095 (inclusive)');
    expect(msg(intSet, 'abc')).toBe('"abc" is not a valid integer or range');
    expect(msg(intSet, '')).toBe('use "[]" to specify the empty set');
    expect(msg(strMap, '{a}')).toBe('a}: syntax error at "}" expecting "="');
    expect(msg(str, '"abc')).toBe('"abc: quoted string extends past end of argument');
  });
  it('reads an integer range as every integer in it, checking both ends against the column', () => {
    expect(datumToString(intSet, datumFromString(intSet, '[1-3, 10-11]'))).toBe('[1, 2, 3, 10, 11]');
    expect(datumToString(optInt, datumFromString(optInt, '7-7'))).toBe('7');
    const unbounded: ColumnType = { key: { type: 'integer' }, min: 0, max: Infinity };
    expect(datumFromString(unbounded, '-2-1').keys).toEqual([-2, -1, 0, 1]);
    expect(() => datumFromString(intSet, '5-1')).toThrow(new VsctlError('"5-1" is not a valid range. Range end cannot be before start.'));
    expect(() => datumFromString(intSet, '4090-4100')).toThrow(new VsctlError('constraint violation: 4100 is not in the valid range 0 to 4095 (inclusive)'));
    expect(() => datumFromString(unbounded, '0-4096')).toThrow(new VsctlError('constraint violation: Range "0-4096" is too big. Maximum allowed size is 4096.'));
    expect(datumFromString(unbounded, '0-4095').keys).toHaveLength(4096);
    expect(() => datumFromString(optInt, '1-3')).toThrow(new VsctlError('1-3: 3 value(s) specified but the maximum number is 1'));
    expect(() => datumFromString(intSet, '1-3,2')).toThrow(new VsctlError('1-3,2: set contains duplicate value'));
    expect(() => datumFromString(intSet, '1-3-5')).toThrow(new VsctlError('"1-3-5" is not a valid integer or range'));
  });
  it('takes no range as a map key or value', () => {
    const intMap: ColumnType = { key: { type: 'integer' }, value: { type: 'integer' }, min: 0, max: Infinity };
    expect(() => datumFromString(intMap, '{1-2=3}')).toThrow(new VsctlError('"1-2" is not a valid integer or range'));
    expect(() => datumFromString(intMap, '{1=2-3}')).toThrow(new VsctlError('"2-3" is not a valid integer or range'));
  });
  it('turns @name references into one symbol per name, marked as strongly referenced', () => {
    const symtab = new SymbolTable();
    const d = datumFromString(ref, '@p1, @p1x', symtab);
    expect(d.keys).toHaveLength(2);
    expect(symtab.symbols.get('@p1')).toMatchObject({ created: false, strongRef: true });
  });
});
