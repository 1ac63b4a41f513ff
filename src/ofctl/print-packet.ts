/**
 * A frame as ovs-ofctl prints it under a packet-in (lib/ofp-print.c's ofp_packet_to_string): the
 * flow OVS extracts from the bytes with every field the packet has (flow_format over
 * flow_wildcards_init_for_packet), then the transport checksum, e.g.
 *
 *     icmp,vlan_tci=0x0000,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,
 *     nw_dst=10.0.0.2,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,icmp_type=8,icmp_code=0 icmp_csum:13fc
 *
 * (one line). A field the frame is too short to hold prints as zero, as OVS leaves it, and so does
 * every IP field of a header longer than the bytes there are (a packet-in cut by max_len). The parse
 * is the printer's own: tvs-ofctl shows what came on the wire without the datapath.
 */
import { formatIpv4, formatIpv6, formatMac } from '../lib/addr.js';
import { ETH_TYPE, IP_PROTO, ND_TYPE } from '../ofproto/flow.js';
import { TCP_FLAG_NAMES } from '../ofproto/names.js';

/** OVS's dl_type for an 802.3 frame without SNAP (FLOW_DL_TYPE_NONE). */
const DL_TYPE_NONE = 0x05ff;
/** OVS keeps this many VLAN headers (FLOW_MAX_VLAN_HEADERS). */
const MAX_VLANS = 2;
const VLAN_CFI = 0x1000;
const IPV6_EXT = { HOP_BY_HOP: 0, ROUTING: 43, FRAGMENT: 44, AH: 51, DEST_OPTS: 60 } as const;
const ND_OPT = { SLL: 1, TLL: 2 } as const;

/** Where a transport checksum sits and the least transport header OVS reads it from (ofp_packet_to_string). */
const CHECKSUMS: ReadonlyArray<{ proto: number; v6?: boolean; name: string; at: number; minLen: number; bytes: 2 | 4 }> = [
  { proto: IP_PROTO.TCP, name: 'tcp_csum', at: 16, minLen: 20, bytes: 2 },
  { proto: IP_PROTO.UDP, name: 'udp_csum', at: 6, minLen: 8, bytes: 2 },
  { proto: IP_PROTO.SCTP, name: 'sctp_csum', at: 8, minLen: 12, bytes: 4 },
  { proto: IP_PROTO.ICMP, v6: false, name: 'icmp_csum', at: 2, minLen: 8, bytes: 2 },
  { proto: IP_PROTO.ICMPV6, v6: true, name: 'icmp6_csum', at: 2, minLen: 4, bytes: 2 },
];

/** The transport protocols whose ports (or ICMP type and code) OVS extracts. */
const PORTED = new Set<number>([IP_PROTO.TCP, IP_PROTO.UDP, IP_PROTO.SCTP, IP_PROTO.ICMP, IP_PROTO.ICMPV6, IP_PROTO.IGMP]);

/** The bytes of `frame` from `at` on, or an empty buffer past its end. */
function from(frame: Buffer, at: number): Buffer {
  return at <= frame.length ? frame.subarray(at) : Buffer.alloc(0);
}

function tcpFlags(v: number): string {
  if (v === 0) return '0';
  const names = TCP_FLAG_NAMES.filter((_, b) => v & (1 << b));
  const rest = v & ~((1 << TCP_FLAG_NAMES.length) - 1);
  if (rest) names.push(`0x${rest.toString(16)}`);
  return names.join('|');
}

function vlanFields(tcis: readonly number[]): string[] {
  const out: string[] = [];
  // OVS shows the tags and then the first zero one ("no further tag"), up to its limit.
  for (let i = 0; i < MAX_VLANS; i++) {
    const tci = tcis[i] ?? 0;
    const suffix = i === 0 ? '' : String(i);
    if (tci & VLAN_CFI) out.push(`dl_vlan${suffix}=${tci & 0xfff}`, `dl_vlan_pcp${suffix}=${tci >> 13}`);
    else out.push(`vlan_tci${suffix}=0x${tci.toString(16).padStart(4, '0')}`);
    if (!tcis[i]) break;
  }
  return out;
}

const PROTO_NAMES: Readonly<Record<number, string>> = { [IP_PROTO.ICMP]: 'icmp', [IP_PROTO.TCP]: 'tcp', [IP_PROTO.UDP]: 'udp', [IP_PROTO.SCTP]: 'sctp' };
const PROTO6_NAMES: Readonly<Record<number, string>> = { [IP_PROTO.ICMPV6]: 'icmp6', [IP_PROTO.TCP]: 'tcp6', [IP_PROTO.UDP]: 'udp6', [IP_PROTO.SCTP]: 'sctp6' };

/** An IPv4 or IPv6 header's fields and where its payload starts. */
interface Ip {
  v6: boolean;
  addresses: string[];
  proto: number;
  tos: number;
  ttl: number;
  /** OVS's nw_frag words. */
  frag: 'no' | 'first' | 'later';
  l4: Buffer;
}

/** What OVS makes of an IP header it refuses (too short, or longer than the frame): every field zero. */
function noIp(v6: boolean): Ip {
  const addresses = v6 ? ['ipv6_src=::', 'ipv6_dst=::', 'ipv6_label=0x00000'] : ['nw_src=0.0.0.0', 'nw_dst=0.0.0.0'];
  return { v6, addresses, proto: 0, tos: 0, ttl: 0, frag: 'no', l4: Buffer.alloc(0) };
}

function parseIpv4(b: Buffer): Ip {
  if (b.length < 20) return noIp(false);
  const ihl = (b[0]! & 0xf) * 4;
  const totalLen = b.readUInt16BE(2);
  if (ihl < 20 || totalLen < ihl || totalLen > b.length) return noIp(false);
  const fragField = b.readUInt16BE(6);
  return {
    v6: false,
    addresses: [`nw_src=${formatIpv4(b, 12)}`, `nw_dst=${formatIpv4(b, 16)}`],
    proto: b[9]!,
    tos: b[1]!,
    ttl: b[8]!,
    frag: fragField & 0x1fff ? 'later' : fragField & 0x2000 ? 'first' : 'no',
    // Bytes past the IP length are Ethernet padding, not transport.
    l4: b.subarray(ihl, totalLen),
  };
}

function parseIpv6(b: Buffer): Ip {
  if (b.length < 40 || 40 + b.readUInt16BE(4) > b.length) return noIp(true);
  const word = b.readUInt32BE(0);
  let proto = b[6]!;
  let l4 = b.subarray(40, 40 + b.readUInt16BE(4));
  let frag: Ip['frag'] = 'no';
  // Extension headers, as OVS's parse_ipv6_ext_hdrs walks them.
  for (;;) {
    if (proto === IPV6_EXT.HOP_BY_HOP || proto === IPV6_EXT.ROUTING || proto === IPV6_EXT.DEST_OPTS || proto === IPV6_EXT.AH) {
      if (l4.length < 8) break;
      const len = proto === IPV6_EXT.AH ? (l4[1]! + 2) * 4 : (l4[1]! + 1) * 8;
      proto = l4[0]!;
      l4 = from(l4, len);
    } else if (proto === IPV6_EXT.FRAGMENT) {
      if (l4.length < 8) break;
      const offset = l4.readUInt16BE(2) & 0xfff8;
      frag = offset ? 'later' : l4.readUInt16BE(2) & 1 ? 'first' : 'no';
      proto = l4[0]!;
      l4 = from(l4, 8);
      if (frag === 'later') break;
    } else break;
  }
  return {
    v6: true,
    addresses: [`ipv6_src=${formatIpv6(b, 8)}`, `ipv6_dst=${formatIpv6(b, 24)}`, `ipv6_label=0x${(word & 0xfffff).toString(16).padStart(5, '0')}`],
    proto,
    tos: (word >>> 20) & 0xff,
    ttl: b[7]!,
    frag,
    l4,
  };
}

/** ICMPv6 neighbour discovery's target and link-layer address options, as OVS extracts them. */
function ndFields(l4: Buffer): string[] {
  const type = l4[0];
  if ((type !== ND_TYPE.SOLICIT && type !== ND_TYPE.ADVERT) || l4[1] !== 0 || l4.length < 24) return [];
  let sll = '00:00:00:00:00:00';
  let tll = '00:00:00:00:00:00';
  for (let opts = from(l4, 24); opts.length >= 8 && opts[1]; opts = from(opts, opts[1] * 8)) {
    if (opts[0] === ND_OPT.SLL && opts[1] === 1) sll = formatMac(opts, 2);
    else if (opts[0] === ND_OPT.TLL && opts[1] === 1) tll = formatMac(opts, 2);
  }
  return [`nd_target=${formatIpv6(l4, 8)}`, `nd_sll=${sll}`, `nd_tll=${tll}`];
}

function ipFields(ip: Ip): { name: string | undefined; fields: string[]; checksum: string } {
  const names = ip.v6 ? PROTO6_NAMES : PROTO_NAMES;
  const name = names[ip.proto] ?? (ip.v6 ? 'ipv6' : 'ip');
  const fields = [...ip.addresses];
  if (!names[ip.proto]) fields.push(`nw_proto=${ip.proto}`);
  fields.push(`nw_tos=${ip.tos & 0xfc}`, `nw_ecn=${ip.tos & 3}`, `nw_ttl=${ip.ttl}`, `nw_frag=${ip.frag}`);
  const l4 = ip.l4;
  if (ip.frag !== 'later' && PORTED.has(ip.proto)) {
    const icmp = ip.proto === (ip.v6 ? IP_PROTO.ICMPV6 : IP_PROTO.ICMP);
    const minLen = ip.proto === IP_PROTO.TCP ? 20 : ip.proto === IP_PROTO.SCTP ? 12 : 8;
    const whole = l4.length >= minLen;
    if (icmp) fields.push(`icmp_type=${whole ? l4[0]! : 0}`, `icmp_code=${whole ? l4[1]! : 0}`);
    else fields.push(`tp_src=${whole ? l4.readUInt16BE(0) : 0}`, `tp_dst=${whole ? l4.readUInt16BE(2) : 0}`);
    if (icmp && ip.v6) fields.push(...(whole ? ndFields(l4) : []));
    if (ip.proto === IP_PROTO.TCP) fields.push(`tcp_flags=${tcpFlags(whole ? l4.readUInt16BE(12) & 0x0fff : 0)}`);
  }
  const c = CHECKSUMS.find((k) => k.proto === ip.proto && (k.v6 === undefined || k.v6 === ip.v6));
  const checksum = c && l4.length >= c.minLen ? ` ${c.name}:${(c.bytes === 4 ? l4.readUInt32BE(c.at) : l4.readUInt16BE(c.at)).toString(16)}` : '';
  return { name, fields, checksum };
}

function arpFields(b: Buffer): string[] {
  // OVS reads an ARP body only for Ethernet and IPv4 addresses.
  const ok = b.length >= 28 && b.readUInt16BE(0) === 1 && b.readUInt16BE(2) === ETH_TYPE.IP && b[4] === 6 && b[5] === 4;
  const op = ok ? b.readUInt16BE(6) : 0;
  return [
    `arp_spa=${ok ? formatIpv4(b, 14) : '0.0.0.0'}`,
    `arp_tpa=${ok ? formatIpv4(b, 24) : '0.0.0.0'}`,
    `arp_op=${op <= 0xff ? op : 0}`,
    `arp_sha=${ok ? formatMac(b, 8) : '00:00:00:00:00:00'}`,
    `arp_tha=${ok ? formatMac(b, 18) : '00:00:00:00:00:00'}`,
  ];
}

/** The packet line ovs-ofctl prints for `frame` (without its newline). */
export function formatPacket(frame: Buffer): string {
  const dlDst = frame.length >= 6 ? formatMac(frame, 0) : '00:00:00:00:00:00';
  const dlSrc = frame.length >= 12 ? formatMac(frame, 6) : '00:00:00:00:00:00';
  let at = 12;
  let dlType = frame.length >= 14 ? frame.readUInt16BE(12) : 0;
  const tcis: number[] = [];
  while ((dlType === ETH_TYPE.VLAN || dlType === ETH_TYPE.VLAN_8021AD) && tcis.length < MAX_VLANS && frame.length >= at + 6) {
    tcis.push(frame.readUInt16BE(at + 2) | VLAN_CFI);
    at += 4;
    dlType = frame.readUInt16BE(at);
  }
  at += 2;
  if (dlType < 0x600) {
    // 802.3: a SNAP header carries the type, else OVS calls it none.
    const snap = frame.length >= at + 8 && frame.readUInt16BE(at) === 0xaaaa && frame[at + 2] === 0x03 && frame.readUIntBE(at + 3, 3) === 0;
    dlType = snap ? frame.readUInt16BE(at + 6) : DL_TYPE_NONE;
    at += snap ? 8 : 0;
  }
  const l3 = from(frame, at);
  const head = vlanFields(tcis);
  const eth = [`dl_src=${dlSrc}`, `dl_dst=${dlDst}`];
  if (dlType === ETH_TYPE.IP || dlType === ETH_TYPE.IPV6) {
    const { name, fields, checksum } = ipFields(dlType === ETH_TYPE.IP ? parseIpv4(l3) : parseIpv6(l3));
    return `${[name, ...head, ...eth, ...fields].join(',')}${checksum}`;
  }
  if (dlType === ETH_TYPE.ARP || dlType === ETH_TYPE.RARP) {
    return [dlType === ETH_TYPE.ARP ? 'arp' : 'rarp', ...head, ...eth, ...arpFields(l3)].join(',');
  }
  return [...head, ...eth, `dl_type=0x${dlType.toString(16).padStart(4, '0')}`].join(',');
}
