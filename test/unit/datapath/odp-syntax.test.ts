import { describe, expect, it } from 'vitest';
import { OdpSyntaxError, formatFlow, parseFlow, parseActions, formatActions } from '../../../src/datapath/odp-syntax.js';
import { decodeActions, encodeActions } from '../../../src/datapath/actions.js';
import { decodeKey, encodeKey, FIELDS, FLOW_KEY_LEN } from '../../../src/datapath/flow-key.js';

const corpus = [
  'recirc_id(0),in_port(1),eth(src=00:00:5e:00:53:01,dst=00:00:5e:00:53:02),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=6,frag=no),tcp(dst=80), packets:3, bytes:294, used:0.400s, actions:2',
  'recirc_id(0),in_port(2),packet_type(ns=0,id=0),eth(dst=ff:ff:ff:ff:ff:ff),eth_type(0x0806),arp(sip=10.0.0.1,tip=10.0.0.2,op=1), packets:0, bytes:0, used:never, actions:1,3,4',
  'recirc_id(0),in_port(1),eth(),eth_type(0x8100),vlan(vid=10,pcp=0),encap(eth_type(0x0800),ipv4(src=10.0.0.0/255.255.255.0,frag=no)), packets:12, bytes:1200, used:1.250s, actions:pop_vlan,2',
  'recirc_id(0),in_port(3),eth(src=00:00:5e:00:53:01),eth_type(0x0800),ipv4(frag=no), packets:1, bytes:98, used:0.001s, actions:push_vlan(vid=20,pcp=3),1,2',
  'recirc_id(0),in_port(1),eth(),eth_type(0x0800),ipv4(proto=6,tos=0/0xfc,frag=no),tcp(src=1234),tcp_flags(+syn-ack), packets:5, bytes:370, used:2.000s, flags:S., actions:drop',
  'recirc_id(0),in_port(4),eth(),eth_type(0x86dd),ipv6(src=2001:db8::1,dst=2001:db8::/ffff:ffff::,proto=58,hlimit=255,frag=no),icmpv6(type=135,code=0),nd(target=fe80::9), packets:2, bytes:172, used:0.500s, actions:userspace(pid=0,controller(reason=1,dont_send=0,continuation=0,recirc_id=1,rule_cookie=0,controller_id=0,max_len=65535))',
  'recirc_id(0),in_port(1),eth(),eth_type(0x0800),ipv4(proto=1,frag=no),icmp(type=8,code=0), packets:4, bytes:392, used:0.020s, actions:set(eth(src=00:00:5e:00:53:99,dst=00:00:5e:00:53:98)),set(ipv4(dst=192.168.1.0/255.255.255.0)),2',
  'recirc_id(0),tunnel(tun_id=0x7b,src=192.0.2.1,dst=192.0.2.2,flags(-df-csum+key)),in_port(4789),eth(dst=00:00:5e:00:53:02),eth_type(0x0800),ipv4(frag=no), packets:7, bytes:686, used:0.100s, actions:3',
  'recirc_id(0),in_port(2),eth(),eth_type(0x0800),ipv4(dst=192.0.2.1,proto=17,frag=no),udp(dst=4789), packets:7, bytes:1036, used:0.100s, actions:tnl_pop(4789)',
  'recirc_id(0),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no), packets:9, bytes:900, used:0.300s, actions:tnl_push(tnl_port(4789),header(size=50,type=4,eth(dst=00:00:5e:00:53:aa,src=00:00:5e:00:53:bb,dl_type=0x0800),ipv4(src=192.0.2.1,dst=192.0.2.2,proto=17,tos=0,ttl=64,frag=0x4000),udp(src=0,dst=4789,csum=0x0),vxlan(flags=0x8000000,vni=0x7b)),out_port(2)),2',
  'recirc_id(0),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no), packets:0, bytes:0, used:never, actions:tnl_push(tnl_port(5),header(size=42,type=3,eth(dst=00:00:5e:00:53:aa,src=00:00:5e:00:53:bb,dl_type=0x0800),ipv4(src=192.0.2.1,dst=192.0.2.2,proto=47,tos=0,ttl=64,frag=0x4000),gre((flags=0x2000,proto=0x6558),key=0x4d)),out_port(2)),2',
  'recirc_id(0x1),in_port(1),eth(),eth_type(0x88a8),vlan(vid=100),encap(eth_type(0x8100),vlan(vid=5,pcp=1),encap(eth_type(0x0800),ipv4(frag=no))), packets:1, bytes:64, used:0.010s, actions:set(ipv4(src=10.1.1.1,ttl=9)),set(tcp(dst=8080)),push_vlan(tpid=0x88a8,vid=7,pcp=0),1',
  'recirc_id(0),in_port(1),eth(),eth_type(0x0800),ipv4(frag=later), packets:0, bytes:0, used:never, actions:userspace(pid=3,userdata(0102030405060708))',
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

  it('rejects bad syntax with the offending token and what was expected', () => {
    const bad = (s: string) => () => parseFlow(s);
    expect(bad('recirc_id(0),in_prt(1), packets:0, bytes:0, used:never, actions:1')).toThrow(/unknown key attribute "in_prt"/);
    expect(bad('recirc_id(0),ipv4(src=10.0.0.300), packets:0, bytes:0, used:never, actions:1')).toThrow(/10\.0\.0\.300: invalid IPv4 address for ipv4\.src \(300 is more than 255/);
    expect(bad('recirc_id(0),ipv4(frag=maybe), packets:0, bytes:0, used:never, actions:1')).toThrow(/expected frag=no, frag=first or frag=later/);
    expect(bad('recirc_id(0),in_port(1), packets:0, bytes:0, used:never, actions:output(2)')).toThrow(/unknown action "output\(2\)"/);
    expect(bad('recirc_id(0),in_port(1')).toThrow(OdpSyntaxError);
    expect(bad('recirc_id(0),in_port(1), packets:x, bytes:0, used:never, actions:1')).toThrow(/"packets:x" is not a count/);
    expect(() => parseActions('set(ipv4(proto=6))')).toThrow(/cannot set field "proto" of ipv4/);
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
});
