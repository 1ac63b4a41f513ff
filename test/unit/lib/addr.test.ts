import { describe, expect, it } from 'vitest';
import {
  AddressError, bigintToBytes, bytesToBigint, formatIpv4, formatIpv6, formatMac, parseIpv4, parseIpv6, parseMac, prefixLength, prefixMask,
} from '../../../src/lib/addr.js';

describe('Ethernet addresses', () => {
  it('reads six hex bytes and prints them back in lower case, two digits a byte', () => {
    expect([...parseMac('00:1b:21:3a:4F:5')]).toEqual([0x00, 0x1b, 0x21, 0x3a, 0x4f, 0x05]);
    expect(formatMac(parseMac('00:1b:21:3a:4F:5'))).toBe('00:1b:21:3a:4f:05');
  });

  it('prints the same address from bytes at an offset and from its 48-bit integer', () => {
    const frame = Buffer.from('ffffffffffff02000000000108004500', 'hex');
    expect(formatMac(frame, 6)).toBe('02:00:00:00:00:01');
    expect(formatMac(0x020000000001n)).toBe('02:00:00:00:00:01');
    expect(bytesToBigint(parseMac('ff:ff:ff:ff:ff:fe'))).toBe(0xfffffffffffen);
  });

  it.each([
    ['00:11:22:33:44:55:66', '00:11:22:33:44:55:66: invalid Ethernet address (7 bytes where there should be 6; write six hex bytes like 00:11:22:33:44:55)'],
    ['00:11:22', '00:11:22: invalid Ethernet address (3 bytes where there should be 6; write six hex bytes like 00:11:22:33:44:55)'],
    ['00:11:22:33:44:zz', '00:11:22:33:44:zz: invalid Ethernet address ("zz" is not a hex byte; write six hex bytes like 00:11:22:33:44:55)'],
    ['00:11:22:33:44:100', '00:11:22:33:44:100: invalid Ethernet address ("100" is not a hex byte; write six hex bytes like 00:11:22:33:44:55)'],
    ['', ': invalid Ethernet address (1 byte where there should be 6; write six hex bytes like 00:11:22:33:44:55)'],
  ])('refuses %j and says what is wrong', (text, message) => {
    expect(() => parseMac(text)).toThrow(message);
  });
});

describe('IPv4 addresses', () => {
  it('reads dotted decimal and prints it back from bytes or from a 32-bit integer', () => {
    expect([...parseIpv4('192.168.0.254')]).toEqual([192, 168, 0, 254]);
    expect(formatIpv4(parseIpv4('192.168.0.254'))).toBe('192.168.0.254');
    expect(formatIpv4(0xc0a800fe)).toBe('192.168.0.254');
    expect(formatIpv4(Buffer.from([0, 0, 10, 0, 0, 1]), 2)).toBe('10.0.0.1');
  });

  it.each([
    ['10.0.0.256', '256 is more than 255; write four decimal bytes like 10.0.0.1'],
    ['10.0.0', '3 parts where there should be 4; write four decimal bytes like 10.0.0.1'],
    ['10.0.0.1.2', '5 parts where there should be 4; write four decimal bytes like 10.0.0.1'],
    ['10.0.0.0x1', '"0x1" is not a decimal byte; write four decimal bytes like 10.0.0.1'],
    ['10.0..1', '"" is not a decimal byte; write four decimal bytes like 10.0.0.1'],
  ])('refuses %j: %s', (text, reason) => {
    expect(() => parseIpv4(text)).toThrow(`${text}: invalid IPv4 address (${reason})`);
  });
});

describe('IPv6 addresses', () => {
  // What ovs-ofctl prints for each (inet_ntop): checked against OVS 3.1's ovs-ofctl parse-flow.
  it.each([
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
    ['1:0:0:0:2:0:0:0', '1::2:0:0:0'],
    ['0:0:1:0:0:0:0:0', '0:0:1::'],
    ['0:0:0:0:0:1:0:0', '::1:0:0'],
    ['::ffff:1.2.3.4', '::ffff:1.2.3.4'],
    ['::ffff:0:1', '::ffff:0.0.0.1'],
    ['::1.2.3.4', '::1.2.3.4'],
    ['::1', '::1'],
    ['::', '::'],
    ['ABCD::EF', 'abcd::ef'],
    ['fe80::9', 'fe80::9'],
  ])('reads %s and prints it as %s', (text, printed) => {
    expect(formatIpv6(parseIpv6(text))).toBe(printed);
  });

  it('prints the same address from bytes at an offset and from its 128-bit integer', () => {
    const v = bytesToBigint(parseIpv6('2001:db8::1'));
    expect(v).toBe(0x20010db8000000000000000000000001n);
    expect(formatIpv6(v)).toBe('2001:db8::1');
    expect(formatIpv6(Buffer.concat([Buffer.alloc(3), parseIpv6('2001:db8::1')]), 3)).toBe('2001:db8::1');
    expect(bytesToBigint(parseIpv6('::ffff:1.2.3.4'))).toBe(0xffff01020304n);
  });

  it.each([
    ['1::2::3', '"::" appears more than once'],
    ['1:2:3:4:5:6:7', '7 groups of 16 bits where there should be 8'],
    ['1:2:3:4:5:6:7:8:9', '9 groups of 16 bits where there should be 8'],
    ['1:2:3:4::5:6:7:8', '8 groups leave no room for the zeros "::" stands for'],
    ['12345::1', '"12345" is not a group of one to four hex digits'],
    ['fe80::g', '"g" is not a group of one to four hex digits'],
    ['::ffff:1.2.3.256', 'its IPv4 tail is wrong: 256 is more than 255; write four decimal bytes like 10.0.0.1'],
    ['1:', '"" is not a group of one to four hex digits'],
  ])('refuses %j: %s', (text, reason) => {
    expect(() => parseIpv6(text)).toThrow(`${text}: invalid IPv6 address (${reason}; write it like 2001:db8::1)`);
  });
});

describe('address errors', () => {
  it('name the field an address was written for', () => {
    try {
      parseIpv4('10.0.0.300');
      expect.unreachable();
    } catch (e) {
      expect((e as AddressError).inField('nw_dst')).toBe('10.0.0.300: invalid IPv4 address for nw_dst (300 is more than 255; write four decimal bytes like 10.0.0.1)');
    }
  });
});

describe('integers and prefixes', () => {
  it('converts between big-endian bytes and integers', () => {
    expect([...bigintToBytes(0x0102030405n, 6)]).toEqual([0, 1, 2, 3, 4, 5]);
    expect(bytesToBigint(bigintToBytes(0xfedcba9876543210n, 8))).toBe(0xfedcba9876543210n);
  });

  it('turns prefix lengths into masks and contiguous masks back into lengths', () => {
    expect(prefixMask(32, 24)).toBe(0xffffff00n);
    expect(prefixMask(32, 0)).toBe(0n);
    expect(prefixMask(128, 128)).toBe((1n << 128n) - 1n);
    for (const len of [0, 1, 8, 31, 32]) expect(prefixLength(prefixMask(32, len), 32)).toBe(len);
    expect(prefixLength(prefixMask(128, 64), 128)).toBe(64);
    expect(prefixLength(0xff00ff00n, 32)).toBeUndefined();
    expect(prefixLength(0x00ffffffn, 32)).toBeUndefined();
  });
});
