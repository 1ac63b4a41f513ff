import { describe, expect, it } from 'vitest';
import { ATTR_FIELDS, FIELD_BITS, OdpSyntaxError, formatFlow, parseFlow, parseActions, parseMatch, formatActions } from '../../../src/datapath/odp-syntax.js';
import { fieldSize } from '../../../src/lib/uint.js';
import { decodeActions, encodeActions } from '../../../src/datapath/actions.js';
import { decodeKey, encodeKey, FIELDS, FLOW_KEY_LEN } from '../../../src/datapath/flow-key.js';

const corpus = [
  'recirc_id(0),in_port(1),eth(src=00:00:5e:00:53:01,dst=00:00:5e:00:53:02),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=6,frag=no),tcp(dst=80), packets:3, bytes:294, used:0.400s, actions:2',
  'recirc_id(0),in_port(2),packet_type(ns=0,id=0),eth(dst=ff:ff:ff:ff:ff:ff),eth_type(0x0806),arp(sip=10.0.0.1,tip=10.0.0.2,op=1), packets:0, bytes:0, used:never, actions:1,3,4',
  'recirc_id(0),in_port(1),eth(),eth_type(0x8100),vlan(vid=10,pcp=0),encap(eth_type(0x0800),ipv4(src=10.0.0.0/255.255.255.0,frag=no)), packets:12, bytes:1200, used:1.250s, actions:pop_vlan,2',
  'recirc_id(0),in_port(3),eth(src=00:00:5e:00:53:01),eth_type(0x0800),ipv4(frag=no), packets:1, bytes:98, used:0.001s, actions:push_vlan(vid=20,pcp=3),1,2',
  'recirc_id(0),in_port(1),eth(),eth_type(0x0800),ipv4(proto=6,tos=0/0xfc,frag=no),tcp(src=1234),tcp_flags(+syn-ack), packets:5, bytes:370, used:2.000s, flags:S., actions:drop',
  'recirc_id(0),in_port(4),eth(),eth_type(0x86dd),ipv6(src=2001:db8::1,dst=2001:db8::/ffff:ffff::,proto=58,hlimit=255,frag=no),icmpv6(type=135,code=0),nd(target=fe80::9), packets:2, bytes:172, used:0.500s, actions:userspace(pid=0,controller(reason=1,dont_send=0,continuation=0,recirc_id=1,rule_cookie=0,controller_id=0,max_len=65535))',
  'recirc_id(0),in_port(3),eth(),eth_type(0x86dd),ipv6(proto=58,frag=no),icmpv6(type=135,code=0),nd(target=fd00::1,sll=00:00:5e:00:53:01), packets:1, bytes:86, used:0.100s, actions:set(nd(target=fd00::2,tll=00:00:00:00:00:01)),set(icmpv6(type=136)),3',
  'recirc_id(0),in_port(3),eth(),eth_type(0x86dd),ipv6(proto=58,frag=no),icmpv6(type=136,code=0),nd(tll=00:00:5e:00:53:00/ff:ff:ff:ff:ff:00), packets:1, bytes:86, used:0.100s, actions:set(nd(sll=00:00:5e:00:00:00/ff:ff:ff:00:00:00)),3',
  'recirc_id(0),in_port(1),eth(),eth_type(0x0800),ipv4(proto=1,frag=no),icmp(type=8,code=0), packets:4, bytes:392, used:0.020s, actions:set(eth(src=00:00:5e:00:53:99,dst=00:00:5e:00:53:98)),set(ipv4(dst=192.168.1.0/255.255.255.0)),set(icmp(type=0,code=0)),2',
  'recirc_id(0),tunnel(tun_id=0x7b,src=192.0.2.1,dst=192.0.2.2,flags(-df-csum+key)),in_port(4789),eth(dst=00:00:5e:00:53:02),eth_type(0x0800),ipv4(frag=no), packets:7, bytes:686, used:0.100s, actions:3',
  'recirc_id(0),tunnel(tun_id=0x5,src=10.0.0.2,dst=10.0.0.1,tos=0x1/0x3,ttl=64,tp_dst=6081,geneve({class=0x102,type=0x80,len=4,0xa}),flags(df|key|oam)),in_port(2),eth(),eth_type(0x0800),ipv4(frag=no), packets:2, bytes:196, used:0.100s, actions:1',
  'recirc_id(0),tunnel(tun_id=0x7b,src=1.1.2.92,dst=1.1.2.88,geneve({class=0xffff,type=0x80,len=4,0xa/0xf}),flags(+key)),in_port(6081),eth(),eth_type(0x0800),ipv4(frag=no), packets:0, bytes:0, used:never, actions:drop',
  'recirc_id(0),tunnel(tun_id=0x1,tp_src=40000/0xff00,geneve({class=0x102,type=0x80,len=4}),flags(-oam)),in_port(3),eth(),eth_type(0x0806), packets:0, bytes:0, used:never, actions:drop',
  'recirc_id(0),tunnel(tun_id=0x0,flags(0)),in_port(2),eth(),eth_type(0x0806), packets:0, bytes:0, used:never, actions:drop',
  'recirc_id(0),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no), packets:9, bytes:900, used:0.300s, actions:set(tunnel(tun_id=0x5,src=10.0.0.1,dst=10.0.0.2,ttl=64,flags(df|key))),2',
  'recirc_id(0),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no), packets:0, bytes:0, used:never, actions:set(tunnel(dst=192.0.2.2,tos=0xb8,ttl=0,tp_src=40000,tp_dst=8472,geneve({class=0x102,type=0x80,len=8,0x1000000002}),flags(csum|oam))),3,set(tunnel(tun_id=0x4d,dst=192.0.2.9,ttl=64,flags(key))),4',
  'recirc_id(0x1),in_port(1),eth(),eth_type(0x88a8),vlan(vid=100),encap(eth_type(0x8100),vlan(vid=5,pcp=1),encap(eth_type(0x0800),ipv4(frag=no))), packets:1, bytes:64, used:0.010s, actions:set(ipv4(src=10.1.1.1,ttl=9)),set(tcp(dst=8080)),push_vlan(tpid=0x88a8,vid=7,pcp=0),1',
  'recirc_id(0),in_port(1),eth(),eth_type(0x0800),ipv4(frag=later), packets:0, bytes:0, used:never, actions:userspace(pid=3,userdata(0102030405060708))',
  'recirc_id(0),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no), packets:5, bytes:490, used:0.010s, actions:meter(0),2',
  // sFlow's sample (OVS's cookie printing: 2147483650 is "sent to 2 ports"), userdata, a nested list that rewrites, an empty one.
  'recirc_id(0),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no), packets:3, bytes:294, used:0.010s, actions:sample(sample=0.1%,actions(userspace(pid=0,sFlow(vid=10,pcp=3,output=2147483650)))),2,3',
  'recirc_id(0),in_port(2),eth(),eth_type(0x0806), packets:0, bytes:0, used:never, actions:sample(sample=100.0%,actions(userspace(pid=7,userdata(0300000001000000)))),sample(sample=50.0%,actions(push_vlan(vid=5,pcp=0),4)),sample(sample=0.0%,actions(drop)),1',
  // OVN's ND responder; the key is OVS's own tests/odp.at example of nd_ext.
  'recirc_id(0),in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15),eth_type(0x86dd),ipv6(src=::1,dst=::2,label=0,proto=58,tclass=0,hlimit=128,frag=no),icmpv6(type=136,code=0),nd(target=::3,sll=00:05:06:07:08:09,tll=00:0a:0b:0c:0d:0e),nd_ext(nd_reserved=0x0,nd_options_type=2), packets:1, bytes:86, used:0.100s, actions:1',
  'recirc_id(0),in_port(3),eth(),eth_type(0x86dd),ipv6(proto=58,frag=no),icmpv6(type=135,code=0),nd(target=fd00::1),nd_ext(nd_reserved=0x0), packets:1, bytes:86, used:0.100s, actions:set(nd_ext(nd_reserved=0xe0000000,nd_options_type=2)),set(nd(tll=00:00:00:00:00:01)),set(icmpv6(type=136)),3',
];

describe('OVS datapath flow syntax', () => {
  it.each(corpus)('prints back exactly what it parsed: %s', (line) => {
    expect(formatFlow(parseFlow(line))).toBe(line);
  });

  it('parses a dump-flows line into key, mask, stats and actions', () => {
    const f = parseFlow(corpus[0]!);
    expect(f.match.key).toMatchObject({ in_port: 1, 'eth.src': '00:00:5e:00:53:01', eth_type: 0x0800, 'ipv4.proto': 6, 'tcp.dst': 80 });
    expect(f.match.mask['ipv4.src']).toBe('255.255.255.255');
    expect(f.match.mask['tcp.src']).toBeUndefined();
    expect(f.stats).toEqual({ packets: 3, bytes: 294, used: 0.4 });
    expect(f.actions).toEqual([{ type: 'output', port: 2 }]);
  });

  it('keeps "no VLAN" and "VLAN 0" apart through the present bit', () => {
    const tagged = parseFlow('recirc_id(0),in_port(1),eth(),eth_type(0x8100),vlan(),encap(eth_type(0x0800)), packets:0, bytes:0, used:never, actions:1');
    expect(tagged.match.key['vlan.tci']).toBe(0x1000);
  });

  it('encodes a parsed match into the 120-byte key layout and back', () => {
    const { key, mask } = parseFlow(corpus[5]!).match;
    const k = encodeKey(key);
    expect(k.length).toBe(FLOW_KEY_LEN);
    expect(decodeKey(k)).toMatchObject({ in_port: 4, eth_type: 0x86dd, 'ipv6.src': '2001:db8::1', 'nd.target': 'fe80::9', 'icmpv6.type': 135 });
    expect(decodeKey(encodeKey(mask), 0x86dd)['ipv6.dst']).toBe('ffff:ffff::');
  });

  it('round-trips every action through the binary encoding', () => {
    for (const line of corpus) {
      const acts = parseFlow(line).actions.map((a) => (a.type === 'userspace' ? { ...a, detail: undefined } : a));
      const back = decodeActions(encodeActions(acts));
      expect(formatActions(back)).toBe(formatActions(acts));
    }
    expect(encodeActions([]).length).toBe(0);
    expect(encodeActions(parseActions('2')).toString('hex')).toBe('0100040002000000');
    // Outputs alone take a shorter road; mixed with other actions, the general one: same bytes.
    const outputs = encodeActions(parseActions('2,7'));
    expect(outputs.toString('hex')).toBe('0100040002000000' + '0100040007000000');
    expect(encodeActions(parseActions('2,pop_vlan,7')).toString('hex')).toBe('0100040002000000' + '0400000000000000' + '0100040007000000');
  });

  it("keeps nd_ext's fields in the bytes IPv4 addresses use, and sets them with their own ids", () => {
    const { key, mask } = parseFlow(corpus.find((l) => l.includes('nd_options_type=2), packets'))!).match;
    const k = encodeKey(key);
    expect([k.readUInt32BE(60), k[64]]).toEqual([0, 2]);
    // Written, so matched: nd_reserved=0x0 is an exact zero.
    expect([encodeKey(mask).readUInt32BE(60), encodeKey(mask)[64], encodeKey(mask)[65]]).toEqual([0xffffffff, 0xff, 0]);
    const set = encodeActions(parseActions('set(nd_ext(nd_reserved=0xe0000000))'));
    // type 5 (set), payload: field id 27, flags, the value and its mask.
    expect(set.subarray(0, 16).toString('hex')).toBe('05000c00' + '1b000000' + 'e0000000' + 'ffffffff');
  });

  it('rejects bad syntax with the offending token and what was expected', () => {
    const bad = (s: string) => () => parseFlow(s);
    expect(bad('recirc_id(0),in_prt(1), packets:0, bytes:0, used:never, actions:1')).toThrow(/unknown key attribute "in_prt"/);
    expect(bad('recirc_id(0),toString(1), packets:0, bytes:0, used:never, actions:1')).toThrow(/unknown key attribute "toString"/);
    expect(bad('recirc_id(0),ipv4(src=10.0.0.300), packets:0, bytes:0, used:never, actions:1')).toThrow(/10\.0\.0\.300: invalid IPv4 address for ipv4\(src\) \(300 is more than 255/);
    expect(bad('recirc_id(0),ipv4(frag=maybe), packets:0, bytes:0, used:never, actions:1')).toThrow(/expected frag=no, frag=first or frag=later/);
    expect(bad('recirc_id(0),ipv4(frag=toString), packets:0, bytes:0, used:never, actions:1')).toThrow(/expected frag=no, frag=first or frag=later/);
    expect(bad('recirc_id(0),in_port(1), packets:0, bytes:0, used:never, actions:output(2)')).toThrow(/unknown action "output\(2\)"/);
    expect(bad('recirc_id(0),in_port(1')).toThrow(OdpSyntaxError);
    expect(bad('recirc_id(0),in_port(1), packets:x, bytes:0, used:never, actions:1')).toThrow(/"packets:x" is not a count/);
    expect(() => parseActions('set(ipv4(proto=6))')).toThrow(/cannot set field "proto" of ipv4/);
  });

  it('turns a sample percentage into a fraction of 0xffffffff as OVS rounds it', () => {
    const probability = (pct: string) => {
      const [a] = parseActions(`sample(sample=${pct},actions(drop))`);
      return a?.type === 'sample' ? a.probability : undefined;
    };
    expect([probability('0%'), probability('0.1%'), probability('50%'), probability('100%')]).toEqual([0, 4294967, 2147483648, 0xffffffff]);
    // type 10, payload: u32 probability, then the nested list (one output).
    expect(encodeActions(parseActions('sample(sample=100.0%,actions(3))')).toString('hex')).toBe('0a000c00' + 'ffffffff' + '0100040003000000');
  });

  it('refuses a sample without a percentage or an action list, naming the form', () => {
    expect(() => parseActions('sample(sample=150%,actions(1))')).toThrow(/sample=150% is not a percentage from 0% to 100%/);
    expect(() => parseActions('sample(sample=1,actions(1))')).toThrow(/sample=1 is not a percentage/);
    expect(() => parseActions('sample(actions(1))')).toThrow(/sample\(\.\.\.\) takes sample=<percent>% then actions\(\.\.\.\)/);
    expect(() => parseActions('sample(sample=1%,actions(bogus))')).toThrow(/unknown action "bogus"/);
    expect(() => parseActions('userspace(pid=0,sFlow(vid=1))')).toThrow(/sFlow\(\.\.\.\) needs output=/);
  });
});

describe('flow key layout', () => {
  it('covers all 120 bytes with its field table', () => {
    const covered = new Array<boolean>(FLOW_KEY_LEN).fill(false);
    for (const [, off, len] of FIELDS) for (let i = off; i < off + len; i++) covered[i] = true;
    expect(covered.every(Boolean)).toBe(true);
  });

  it('writes in_port little-endian and addresses in network order', () => {
    const b = encodeKey({ in_port: 5, 'ipv4.src': '10.0.0.1', 'tunnel.tun_id': 0x7bn, 'vlan.tci': 0x300a });
    expect([...b.subarray(0, 4)]).toEqual([5, 0, 0, 0]);
    expect([...b.subarray(60, 64)]).toEqual([10, 0, 0, 1]);
    expect(b.readBigUInt64BE(8)).toBe(0x7bn);
    expect([...b.subarray(38, 40)]).toEqual([0x30, 0x0a]);
  });

  it('puts tunnel(...) of a key into the tunnel fields and reads flags(-df-csum+key) as a partial mask', () => {
    const { key, mask } = parseMatch('tunnel(tun_id=0x7b,src=192.0.2.1,dst=192.0.2.2,tos=0x1,ttl=63,flags(-df-csum+key)),in_port(3)');
    const k = encodeKey(key);
    expect(k.readBigUInt64BE(8)).toBe(0x7bn);
    expect([...k.subarray(16, 24)]).toEqual([192, 0, 2, 1, 192, 0, 2, 2]);
    expect([...k.subarray(120, 124)]).toEqual([0, 0x4, 0x1, 63]);
    expect(mask['tunnel.flags']).toBe(0x7);
    expect(decodeKey(k, 0x0800)).toMatchObject({ 'tunnel.flags': 4, 'tunnel.tos': 1, 'tunnel.ttl': 63 });
  });

  it('matches one Geneve option of up to 8 bytes of data in the key, the data right-aligned, and refuses more', () => {
    const { key, mask } = parseMatch('tunnel(tun_id=0x5,geneve({class=0x102,type=0x80,len=4,0xa/0xf})),in_port(3)');
    const k = encodeKey(key);
    const mk = encodeKey(mask);
    expect([...k.subarray(136, 140)]).toEqual([0x01, 0x02, 0x80, 4]);
    expect(k.readBigUInt64BE(140)).toBe(0xan);
    expect(mk.readBigUInt64BE(140)).toBe(0xfn);
    expect(() => parseMatch('tunnel(geneve({class=1,type=2,len=4,0x1}{class=1,type=3,len=4,0x2}))')).toThrow('the datapath matches one Geneve option with at most 8 bytes of data');
    expect(() => parseMatch('tunnel(geneve({class=1,type=2,len=12,0x1}))')).toThrow('the datapath matches one Geneve option with at most 8 bytes of data');
  });

  it('encodes set(tunnel(...)) as the 24-byte metadata and its Geneve options', () => {
    const b = encodeActions(parseActions('set(tunnel(tun_id=0x5,src=10.0.0.1,dst=10.0.0.2,ttl=64,tp_dst=4789,geneve({class=0x102,type=0x80,len=4,0xa}),flags(df|key)))'));
    expect(b.readUInt16LE(0)).toBe(9);
    expect(b.readUInt16LE(2)).toBe(24 + 8);
    const p = b.subarray(4, 4 + 32);
    expect(p.toString('hex')).toBe('0000000000000005' + '0a000001' + '0a000002' + '0005' + '00' + '40' + '0000' + '12b5' + '01028001' + '0000000a');
  });

  it('refuses a set(tunnel(...)) without a destination or with a masked flag, naming what to write', () => {
    expect(() => parseActions('set(tunnel(tun_id=0x5,ttl=64))')).toThrow('set(tunnel(...)) needs dst=, the remote end of the tunnel');
    expect(() => parseActions('set(tunnel(dst=10.0.0.2,flags(-df+key)))')).toThrow('set(tunnel(...)) takes flags as flags(df|key), not a +/- mask');
    expect(() => parseActions('set(tunnel(dst=10.0.0.2,flags(df|nope)))')).toThrow('unknown tunnel flag "nope": expected df, csum, key or oam');
    expect(() => parseActions('set(tunnel(dst=10.0.0.2,vni=5))')).toThrow(/unknown field "vni" in set\(tunnel\(\.\.\.\)\)/);
    expect(() => parseActions('set(tunnel(dst=10.0.0.2,geneve({class=1,type=2,len=3,0x1})))')).toThrow('len=3 must be a multiple of 4');
    expect(() => parseActions('set(tunnel(dst=10.0.0.2,geneve({class=1,type=2,len=4,0x1ffffffff})))')).toThrow('0x1ffffffff does not fit in len=4 bytes');
  });
});

// set(tunnel(...)) to put the numbers of its parts into.
const SET_TUNNEL = 'set(tunnel(tun_id=0x5,dst=10.0.0.2,tos=0x1,ttl=64,tp_src=1,tp_dst=2,geneve({class=0x102,type=0x80,len=4,0xa}),flags(key)))';

/** Matches `part(` up to `name=` inside it, also inside or past one level of nested parentheses. */
function inPart(part: string, name: string): RegExp {
  return new RegExp(`(\\b${part}\\((?:[^()]|\\([^()]*\\))*?(?:\\([^()]*?)?\\b${name}=)[^,)]+`);
}

/** `template` with the number after `name=` inside `part(` (or right after `part(`) replaced by `v`. */
function put(template: string, part: string, name: string, v: string): string {
  const re = name ? inPart(part, name) : new RegExp(`(\\b${part}\\()[^,)]+`);
  expect(template).toMatch(re);
  return template.replace(re, `$1${v}`);
}

/** Where each FIELD_BITS entry is written: a match or an action list with `v` in its place. */
function placed(field: string, v: string): { match: string } | { actions: string } {
  const inside = /^(\w+)\((\w+)\)$/.exec(field);
  if (field === 'output') return { actions: v };
  if (field === 'meter') return { actions: `${field}(${v})` };
  if (inside?.[1] === 'geneve') return { actions: SET_TUNNEL.replace(new RegExp(`\\b${inside[2]!}=[^,}]+`), `${inside[2]!}=${v}`) };
  if (inside?.[1] === 'tunnel') return { actions: put(SET_TUNNEL, 'tunnel', inside[2]!, v) };
  if (inside?.[1] === 'push_vlan' || inside?.[1] === 'userspace') return { actions: `${inside[1]}(${inside[2]!}=${v})` };
  if (inside) return { match: `${inside[1]!}(${inside[2]!}=${v})` };
  return { match: `${field}(${v})` };
}

function parsePlaced(p: { match: string } | { actions: string }): void {
  if ('match' in p) parseMatch(p.match);
  else parseActions(p.actions);
}

describe('every number of the datapath syntax has a range', () => {
  it('gives every numeric field of every key attribute a width no wider than its bytes in the key', () => {
    for (const [attr, fields] of Object.entries(ATTR_FIELDS)) {
      for (const [name, field, style] of fields) {
        if (style === 'addr') continue;
        const bits = FIELD_BITS[`${attr}(${name})`];
        expect(bits, `${attr}(${name})`).toBeDefined();
        const [, , len] = FIELDS.find(([f]) => f === field)!;
        expect(bits, `${attr}(${name})`).toBeLessThanOrEqual(8 * len);
      }
    }
  });

  it.each(Object.entries(FIELD_BITS))('refuses a value one past the top of %s (%i bits) and names the field', (field, bits) => {
    const max = (1n << BigInt(bits)) - 1n;
    const tooBig = String(max + 1n);
    expect(() => parsePlaced(placed(field, tooBig))).toThrow(`${tooBig}: value too large for ${fieldSize(bits)} field ${field} (0 to ${max})`);
    expect(() => parsePlaced(placed(field, String(max)))).not.toThrow(/too large/);
    // A bare output port is told from an action by its digits, so "x1" is an unknown action there.
    if (field !== 'output') expect(() => parsePlaced(placed(field, 'x1'))).toThrow(`x1: bad syntax for ${field} value`);
  });

  it('refuses a mask wider than its field, quoting value and mask', () => {
    expect(() => parseMatch('tcp(dst=80/0x1ffff)')).toThrow('80/0x1ffff: mask too large for 2-byte field tcp(dst) (0 to 0xffff)');
    expect(() => parseMatch('vlan(vid=5/0x1fff)')).toThrow('5/0x1fff: mask too large for 12-bit field vlan(vid) (0 to 0xfff)');
    expect(() => parseMatch('vlan(vid=5,pcp=3/0x9)')).toThrow('3/0x9: mask too large for 3-bit field vlan(pcp) (0 to 0x7)');
  });

  it('refuses what OVS would truncate: vlan(vid=5000,pcp=9) and push_vlan(vid=70000,pcp=8)', () => {
    expect(() => parseMatch('in_port(1),eth(),eth_type(0x8100),vlan(vid=5000,pcp=9),encap()')).toThrow(/^5000: value too large for 12-bit field vlan\(vid\) \(0 to 4095\) \(at column 40\)$/);
    expect(() => parseMatch('in_port(1),eth(),eth_type(0x8100),vlan(vid=7,pcp=9),encap()')).toThrow(/^9: value too large for 3-bit field vlan\(pcp\)/);
    expect(() => parseActions('push_vlan(vid=70000,pcp=8)')).toThrow(/^70000: value too large for 12-bit field push_vlan\(vid\)/);
    expect(() => parseActions('push_vlan(vid=7,pcp=8)')).toThrow(/^8: value too large for 3-bit field push_vlan\(pcp\)/);
  });

  it('checks set() fields against the width of the key field they write', () => {
    expect(() => parseActions('set(ipv4(ttl=256))')).toThrow('256: value too large for 1-byte field ipv4(ttl)');
    expect(() => parseActions('set(udp(src=65536))')).toThrow('65536: value too large for 2-byte field udp(src)');
    expect(() => parseActions('set(eth(src=00:11:22:33:44:55:66))')).toThrow('00:11:22:33:44:55:66: invalid Ethernet address for eth(src) (7 bytes where there should be 6');
  });

  it('names the field of a malformed address in a key or a tunnel header', () => {
    expect(() => parseMatch('arp(sha=00:11:22:33:44)')).toThrow('00:11:22:33:44: invalid Ethernet address for arp(sha)');
    expect(() => parseMatch('ipv6(dst=2001:db8::1::2)')).toThrow('2001:db8::1::2: invalid IPv6 address for ipv6(dst)');
    expect(() => parseActions('set(tunnel(src=192.0.2.300,dst=192.0.2.1))')).toThrow('192.0.2.300: invalid IPv4 address for tunnel(src)');
  });
});
