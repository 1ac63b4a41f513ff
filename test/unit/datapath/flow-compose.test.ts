// Frames composed from datapath flows: the datapath extracts the very key
// they were composed from, and tcpdump, reading them from a pcap file,
// finds every length and checksum right. No privilege needed.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { extractKey } from '../../../src/datapath/dpif.js';
import { composeFrame } from '../../../src/datapath/flow-compose.js';
import { decodeKey, encodeKey } from '../../../src/datapath/flow-key.js';
import { parseMatch } from '../../../src/datapath/odp-syntax.js';
import { PcapWriter } from '../../../src/lib/pcap.js';

const ETH = 'eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02)';

/** Flows in the datapath syntax, each with what tcpdump -vv says of the frame composed from it. */
const FLOWS: [flow: string, tcpdumpSays: RegExp][] = [
  [`in_port(1),${ETH},eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=17,tos=0,ttl=64,frag=no),udp(src=1000,dst=2000)`, /10\.0\.0\.1\.1000 > 10\.0\.0\.2\.2000: \[udp sum ok\]/],
  [`in_port(1),${ETH},eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=6,tos=0x10,ttl=63,frag=no),tcp(src=40000,dst=80),tcp_flags(syn|ack)`, /tos 0x10, ttl 63.*\n.*Flags \[S\.\], cksum 0x[0-9a-f]+ \(correct\)/],
  [`in_port(1),${ETH},eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=1,ttl=64,frag=no),icmp(type=8,code=0)`, /10\.0\.0\.1 > 10\.0\.0\.2: ICMP echo request/],
  [`in_port(1),eth(src=50:54:00:00:00:01,dst=ff:ff:ff:ff:ff:ff),eth_type(0x0806),arp(sip=10.0.0.1,tip=10.0.0.2,op=1,sha=50:54:00:00:00:01,tha=00:00:00:00:00:00)`, /Request who-has 10\.0\.0\.2 tell 10\.0\.0\.1/],
  [`in_port(1),${ETH},eth_type(0x0806),arp(sip=10.0.0.2,tip=10.0.0.1,op=2,sha=50:54:00:00:00:02,tha=50:54:00:00:00:01)`, /Reply 10\.0\.0\.2 is-at 50:54:00:00:00:02/],
  [`in_port(1),${ETH},eth_type(0x86dd),ipv6(src=2001:db8::1,dst=2001:db8::2,label=0x12345,proto=6,tclass=0x20,hlimit=64,frag=no),tcp(src=1,dst=2),tcp_flags(fin|ack)`, /class 0x20, flowlabel 0x12345, hlim 64.*Flags \[F\.\], cksum 0x[0-9a-f]+ \(correct\)/],
  [`in_port(1),${ETH},eth_type(0x86dd),ipv6(src=2001:db8::1,dst=2001:db8::2,proto=17,hlimit=1,frag=no),udp(src=5000,dst=5001)`, /2001:db8::1\.5000 > 2001:db8::2\.5001: \[udp sum ok\]/],
  [`in_port(1),eth(src=50:54:00:00:00:01,dst=33:33:ff:00:00:02),eth_type(0x86dd),ipv6(src=fe80::1,dst=ff02::1:ff00:2,proto=58,hlimit=255,frag=no),icmpv6(type=135,code=0),nd(target=fe80::2)`, /\[icmp6 sum ok\] ICMP6, neighbor solicitation, length 24, who has fe80::2/],
  [`in_port(1),eth(src=50:54:00:00:00:01,dst=33:33:ff:00:00:02),eth_type(0x86dd),ipv6(src=fe80::1,dst=ff02::1:ff00:2,proto=58,hlimit=255,frag=no),icmpv6(type=135,code=0),nd(target=fe80::2,sll=50:54:00:00:00:01),nd_ext(nd_reserved=0x0,nd_options_type=1)`, /\[icmp6 sum ok\] ICMP6, neighbor solicitation, length 32, who has fe80::2\n\s+source link-address option \(1\), length 8 \(1\): 50:54:00:00:00:01/],
  [`in_port(1),${ETH},eth_type(0x86dd),ipv6(src=fe80::2,dst=fe80::1,proto=58,hlimit=255,frag=no),icmpv6(type=136,code=0),nd(target=fe80::2,tll=50:54:00:00:00:02),nd_ext(nd_reserved=0xe0000000,nd_options_type=2)`, /\[icmp6 sum ok\] ICMP6, neighbor advertisement, length 32, tgt is fe80::2, Flags \[router, solicited, override\].*\n\s+destination link-address option \(2\), length 8 \(1\): 50:54:00:00:00:02/],
  [`in_port(1),${ETH},eth_type(0x86dd),ipv6(src=2001:db8::1,dst=2001:db8::2,proto=58,hlimit=64,frag=no),icmpv6(type=128,code=0)`, /\[icmp6 sum ok\] ICMP6, echo request/],
  [`in_port(1),${ETH},eth_type(0x8100),vlan(vid=10,pcp=3),encap(eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=17,ttl=64,frag=no),udp(src=7,dst=9))`, /vlan 10, p 3, ethertype IPv4.*\n.*10\.0\.0\.1\.7 > 10\.0\.0\.2\.9: \[udp sum ok\]/],
  [`in_port(1),${ETH},eth_type(0x88a8),vlan(vid=100),encap(eth_type(0x8100),vlan(vid=10),encap(eth_type(0x0806),arp(sip=10.0.0.1,tip=10.0.0.2,op=1,sha=50:54:00:00:00:01,tha=00:00:00:00:00:00)))`, /vlan 100, p 0, ethertype 802\.1Q.*vlan 10, p 0, ethertype ARP.*who-has 10\.0\.0\.2/],
  [`in_port(1),${ETH},eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=17,ttl=64,frag=first),udp(src=5,dst=6)`, /flags \[\+\], proto UDP/],
  [`in_port(1),${ETH},eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=17,ttl=64,frag=later)`, /offset 800, flags \[\+\], proto UDP/],
  [`in_port(1),${ETH},eth_type(0x86dd),ipv6(src=2001:db8::1,dst=2001:db8::2,proto=17,hlimit=64,frag=first),udp(src=5,dst=6)`, /next-header Fragment \(44\).*frag \(0x00000000:0\|/],
  [`in_port(1),${ETH},eth_type(0x86dd),ipv6(src=2001:db8::1,dst=2001:db8::2,proto=17,hlimit=64,frag=later)`, /frag \(0x00000000:800\|/],
  [`in_port(1),${ETH},eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=132,ttl=64,frag=no),sctp(src=7,dst=9)`, /10\.0\.0\.1\.7 > 10\.0\.0\.2\.9: sctp/],
  [`in_port(1),${ETH},eth_type(0x88b5)`, /ethertype Unknown \(0x88b5\)/],
];

describe('composeFrame', () => {
  it.each(FLOWS)('composes %s into a frame whose extracted key is that flow', (flow) => {
    const { key } = parseMatch(flow);
    const frame = composeFrame(key);
    expect(decodeKey(extractKey(frame, 1))).toEqual(decodeKey(encodeKey(key)));
  });

  it('writes frames tcpdump reads with every length and checksum right', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tvs-t-compose-'));
    try {
      const pcap = PcapWriter.open(join(dir, 'composed.pcap'));
      // A payload after each innermost header, so lengths and checksums cover it too; but
      // what follows a neighbor solicitation's or advertisement's target are ND options, so they get none.
      const payload = (flow: string) => Buffer.from(/icmpv6\(type=13[56]/.test(flow) ? '' : 'payload');
      pcap.write(FLOWS.map(([flow]) => composeFrame(parseMatch(flow).key, { payload: payload(flow) })));
      pcap.close();
      const out = execFileSync('tcpdump', ['-r', join(dir, 'composed.pcap'), '-nn', '-vv', '-e'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      expect(out).not.toMatch(/bad|incorrect|wrong/);
      // One entry per frame, in order: each starts with a timestamp.
      const entries = out.split(/\n(?=\d\d:\d\d:\d\d\.\d{6} )/);
      expect(entries).toHaveLength(FLOWS.length);
      FLOWS.forEach(([, says], i) => expect(entries[i]).toMatch(says));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('puts an echo identifier and sequence number where ping puts them, and the payload after them', () => {
    const { key } = parseMatch(`${ETH},eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=1,ttl=64),icmp(type=8,code=0)`);
    const frame = composeFrame(key, { echo: { id: 0x1234, seq: 7 }, payload: Buffer.from('abcd') });
    const icmp = frame.subarray(34);
    expect([icmp.readUInt16BE(4), icmp.readUInt16BE(6), icmp.subarray(8).toString()]).toEqual([0x1234, 7, 'abcd']);
    expect(frame.readUInt16BE(16)).toBe(20 + 8 + 4);
  });

  it('writes an 802.3 length where the EtherType would be, for an EtherType below 0x0600', () => {
    const { key } = parseMatch(`${ETH},eth_type(0x05ff)`);
    const frame = composeFrame(key, { payload: Buffer.from([0x42, 0x42, 0x03, 1, 2, 3]) });
    expect(frame.readUInt16BE(12)).toBe(6);
    expect(decodeKey(extractKey(frame, 0)).eth_type).toBe(0x05ff);
  });
});
