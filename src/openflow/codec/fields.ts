/**
 * The match fields on the wire: one table of OVS's fields with their NXM and OXM headers, width,
 * maskability and prerequisites, each mapped onto the ofproto field (`FieldId`) that stores it.
 *
 * Several wire fields share one ofproto field, as in OVS: ip_src and arp_spa are both nw_src,
 * tcp_src/udp_src/sctp_src/icmp_type are tp_src, arp_op is nw_proto, nd_sll is arp_sha, nd_tll arp_tha. Some
 * are a part of one: OXM's vlan_vid and vlan_pcp are bits of vlan_tci, ip_dscp and ip_ecn bits of
 * nw_tos. `partMask` says which bits of the ofproto field a wire field covers and `shift` where
 * its value sits (ofproto value = wire value << shift).
 *
 * A header is `class << 16 | field << 9 | hasmask << 8 | length`; experimenter OXMs (class
 * 0xffff) are followed by a 32-bit experimenter id. Fields are keyed here by class and field
 * number (and experimenter id), never by the length, which decoders check separately.
 */
import { ETH_TYPE, FIELDS, IP_PROTO, REG_FIELDS, WIDE_REG_FIELDS, type FieldId } from '../../ofproto/flow.js';
import type { Match } from '../../ofproto/match.js';
import { OFP12, OFP13, OFP15 } from '../messages.js';
import { DATAPATH_OPT_BYTES, TUN_METADATA_FIELDS } from '../../ofproto/tun-metadata.js';

/** OXM classes. */
export const OXM_CLASS = { NXM0: 0x0000, NXM1: 0x0001, ERICSSON: 0x1000, OPENFLOW_BASIC: 0x8000, PACKET_REGS: 0x8001, EXPERIMENTER: 0xffff } as const;
/** NXM_NX_TUN_METADATA0's field number in class NXM1; tun_metadata1..63 follow it. */
const NXM_NX_TUN_METADATA0_FIELD = 40;
/** The longest value a variable-length field has on the wire (OVS's TLV_MAX_OPT_SIZE). */
const VARIABLE_FIELD_MAX_BYTES = 124;
/** NXM_NX_XXREG0's field number in class NXM1; xxreg1..3 follow it. */
const NXM_NX_XXREG0_FIELD = 111;
/** The ONF experimenter id, under which OpenFlow 1.3 carries tcp_flags. */
const ONF_EXPERIMENTER = 0x4f4e4600;

/** A field's identity on the wire: class, field number and (class 0xffff) experimenter id. */
export interface WireHeader {
  cls: number;
  field: number;
  experimenter?: number;
}

export interface WireField {
  /** OVS's name of the field (what errors name). */
  readonly name: string;
  readonly field: FieldId;
  /** Width of the value on the wire, bytes. */
  readonly bytes: number;
  readonly maskable: boolean;
  /** The bits of `field` this wire field covers (the whole field when absent). */
  readonly partMask?: bigint;
  readonly shift?: number;
  /** NXM header (OpenFlow 1.0 + NX, and NX actions), if it has one. */
  readonly nxm?: WireHeader;
  /** OXM header and the first version that has it. */
  readonly oxm?: WireHeader & { since: number };
  /** An older OXM header used before `oxm.since` (ONF's tcp_flags in OpenFlow 1.3 and 1.4). */
  readonly oxmBefore?: WireHeader & { since: number };
  /** True if a match on this field is legal given what the match already holds. */
  readonly prereq: (m: Match) => boolean;
  /** The OVS name of a prerequisite problem, for errors. */
  readonly needs?: string;
  /** The bits a load may write, when OVS's field is narrower than its wire width (tun_flags: oam only). */
  readonly loadMask?: bigint;
  /** Values OVS refuses (e.g. an NXM_OF_IP_TOS with ECN bits), beyond the width. */
  readonly valid?: (wireValue: bigint) => boolean;
  /**
   * A field of variable length (tun_metadataN: its length is the mapped option's): on the wire
   * 1 to 124 bytes, of which TVS keeps `bytes`, the rest being leading zeros.
   */
  readonly variable?: true;
}

const nx0 = (field: number): WireHeader => ({ cls: OXM_CLASS.NXM0, field });
const nx1 = (field: number): WireHeader => ({ cls: OXM_CLASS.NXM1, field });
const basic = (field: number, since = OFP12): WireHeader & { since: number } => ({ cls: OXM_CLASS.OPENFLOW_BASIC, field, since });
/** Ericsson's OXM class (OVS's ERICOXM_OF_*), which OVS also writes in NXM matches. */
const ericsson = (field: number): WireHeader & { since: number } => ({ cls: OXM_CLASS.ERICSSON, field, since: OFP12 });

/** True if `m` matches `f` (a field of one 32-bit word at most) exactly to `v`; read as numbers, with no BigInt per test. */
function exactIs(m: Match, f: FieldId, v: number): boolean {
  return m.wc.num(f) === FIELDS[f].wordMax[0] && m.flow.num(f) === v;
}
const any = (): boolean => true;
const isIp4 = (m: Match) => exactIs(m, 'dl_type', ETH_TYPE.IP);
const isIp6 = (m: Match) => exactIs(m, 'dl_type', ETH_TYPE.IPV6);
const isIp = (m: Match) => isIp4(m) || isIp6(m);
const isArp = (m: Match) => exactIs(m, 'dl_type', ETH_TYPE.ARP) || exactIs(m, 'dl_type', ETH_TYPE.RARP);
const ipProto = (p: number) => (m: Match) => isIp(m) && exactIs(m, 'nw_proto', p);
const isIcmp4 = (m: Match) => isIp4(m) && exactIs(m, 'nw_proto', IP_PROTO.ICMP);
const isIcmp6 = (m: Match) => isIp6(m) && exactIs(m, 'nw_proto', IP_PROTO.ICMPV6);
/** Neighbour discovery, as OVS tests it: on the values of type and code (an unmatched code is 0). */
const isNd = (type: number) => (m: Match) => isIcmp6(m) && m.flow.num('tp_src') === type && m.flow.num('tp_dst') === 0;
const isNdAny = (m: Match) => isNd(135)(m) || isNd(136)(m);

const vlanPresent = (m: Match) => (m.flow.num('vlan_tci') & 0x1000) !== 0;

/** Every wire field TVS matches on, in the order OVS writes a match (prerequisites first). */
export const WIRE_FIELDS: readonly WireField[] = [
  { name: 'in_port', field: 'in_port', bytes: 2, maskable: false, nxm: nx0(0), prereq: any },
  { name: 'in_port_oxm', field: 'in_port', bytes: 4, maskable: false, oxm: basic(0), prereq: any },
  { name: 'eth_src', field: 'dl_src', bytes: 6, maskable: true, nxm: nx0(2), oxm: basic(4), prereq: any },
  { name: 'eth_dst', field: 'dl_dst', bytes: 6, maskable: true, nxm: nx0(1), oxm: basic(3), prereq: any },
  { name: 'eth_type', field: 'dl_type', bytes: 2, maskable: false, nxm: nx0(3), oxm: basic(5), prereq: any },
  { name: 'vlan_tci', field: 'vlan_tci', bytes: 2, maskable: true, nxm: nx0(4), prereq: any },
  { name: 'vlan_vid', field: 'vlan_tci', bytes: 2, maskable: true, partMask: 0x1fffn, oxm: basic(6), prereq: any, valid: (v) => v <= 0x1fffn },
  { name: 'vlan_pcp', field: 'vlan_tci', bytes: 1, maskable: false, partMask: 0xe000n, shift: 13, oxm: basic(7), prereq: vlanPresent, needs: 'vlan_vid with OFPVID_PRESENT', valid: (v) => v <= 7n },
  { name: 'nw_tos', field: 'nw_tos', bytes: 1, maskable: false, partMask: 0xfcn, nxm: nx0(5), prereq: isIp, needs: 'ip or ipv6', valid: (v) => (v & 3n) === 0n },
  { name: 'ip_dscp', field: 'nw_tos', bytes: 1, maskable: false, partMask: 0xfcn, shift: 2, oxm: basic(8), prereq: isIp, needs: 'ip or ipv6', valid: (v) => v <= 63n },
  { name: 'ip_ecn', field: 'nw_tos', bytes: 1, maskable: false, partMask: 3n, nxm: nx1(28), oxm: basic(9), prereq: isIp, needs: 'ip or ipv6', valid: (v) => v <= 3n },
  { name: 'nw_ttl', field: 'nw_ttl', bytes: 1, maskable: false, nxm: nx1(29), prereq: isIp, needs: 'ip or ipv6' },
  { name: 'ip_proto', field: 'nw_proto', bytes: 1, maskable: false, nxm: nx0(6), oxm: basic(10), prereq: isIp, needs: 'ip or ipv6' },
  { name: 'ip_src', field: 'nw_src', bytes: 4, maskable: true, nxm: nx0(7), oxm: basic(11), prereq: isIp4, needs: 'ip' },
  { name: 'ip_dst', field: 'nw_dst', bytes: 4, maskable: true, nxm: nx0(8), oxm: basic(12), prereq: isIp4, needs: 'ip' },
  { name: 'ipv6_src', field: 'ipv6_src', bytes: 16, maskable: true, nxm: nx1(19), oxm: basic(26), prereq: isIp6, needs: 'ipv6' },
  { name: 'ipv6_dst', field: 'ipv6_dst', bytes: 16, maskable: true, nxm: nx1(20), oxm: basic(27), prereq: isIp6, needs: 'ipv6' },
  { name: 'tcp_src', field: 'tp_src', bytes: 2, maskable: true, nxm: nx0(9), oxm: basic(13), prereq: ipProto(IP_PROTO.TCP), needs: 'tcp' },
  { name: 'tcp_dst', field: 'tp_dst', bytes: 2, maskable: true, nxm: nx0(10), oxm: basic(14), prereq: ipProto(IP_PROTO.TCP), needs: 'tcp' },
  {
    name: 'tcp_flags', field: 'tcp_flags', bytes: 2, maskable: true, nxm: nx1(34), oxm: basic(42, OFP15),
    oxmBefore: { cls: OXM_CLASS.EXPERIMENTER, field: 42, experimenter: ONF_EXPERIMENTER, since: OFP13 },
    prereq: ipProto(IP_PROTO.TCP), needs: 'tcp', valid: (v) => v <= 0xfffn,
  },
  { name: 'udp_src', field: 'tp_src', bytes: 2, maskable: true, nxm: nx0(11), oxm: basic(15), prereq: ipProto(IP_PROTO.UDP), needs: 'udp' },
  { name: 'udp_dst', field: 'tp_dst', bytes: 2, maskable: true, nxm: nx0(12), oxm: basic(16), prereq: ipProto(IP_PROTO.UDP), needs: 'udp' },
  { name: 'sctp_src', field: 'tp_src', bytes: 2, maskable: true, oxm: basic(17), prereq: ipProto(IP_PROTO.SCTP), needs: 'sctp' },
  { name: 'sctp_dst', field: 'tp_dst', bytes: 2, maskable: true, oxm: basic(18), prereq: ipProto(IP_PROTO.SCTP), needs: 'sctp' },
  { name: 'icmp_type', field: 'tp_src', bytes: 1, maskable: false, nxm: nx0(13), oxm: basic(19), prereq: isIcmp4, needs: 'icmp' },
  { name: 'icmp_code', field: 'tp_dst', bytes: 1, maskable: false, nxm: nx0(14), oxm: basic(20), prereq: isIcmp4, needs: 'icmp' },
  { name: 'icmpv6_type', field: 'tp_src', bytes: 1, maskable: false, nxm: nx1(21), oxm: basic(29), prereq: isIcmp6, needs: 'icmp6' },
  { name: 'icmpv6_code', field: 'tp_dst', bytes: 1, maskable: false, nxm: nx1(22), oxm: basic(30), prereq: isIcmp6, needs: 'icmp6' },
  { name: 'nd_target', field: 'nd_target', bytes: 16, maskable: true, nxm: nx1(23), oxm: basic(31), prereq: isNdAny, needs: 'icmp6,icmp_type=135 or icmp_type=136,icmp_code=0' },
  { name: 'nd_sll', field: 'arp_sha', bytes: 6, maskable: true, nxm: nx1(24), oxm: basic(32), prereq: isNd(135), needs: 'icmp6,icmp_type=135,icmp_code=0' },
  { name: 'nd_tll', field: 'arp_tha', bytes: 6, maskable: true, nxm: nx1(25), oxm: basic(33), prereq: isNd(136), needs: 'icmp6,icmp_type=136,icmp_code=0' },
  { name: 'nd_reserved', field: 'nd_reserved', bytes: 4, maskable: false, oxm: ericsson(1), prereq: isNdAny, needs: 'icmp6,icmp_type=135 or icmp_type=136,icmp_code=0' },
  { name: 'nd_options_type', field: 'nd_options_type', bytes: 1, maskable: false, oxm: ericsson(2), prereq: isNdAny, needs: 'icmp6,icmp_type=135 or icmp_type=136,icmp_code=0' },
  { name: 'arp_op', field: 'nw_proto', bytes: 2, maskable: false, nxm: nx0(15), oxm: basic(21), prereq: isArp, needs: 'arp', valid: (v) => v <= 0xffn },
  { name: 'arp_spa', field: 'nw_src', bytes: 4, maskable: true, nxm: nx0(16), oxm: basic(22), prereq: isArp, needs: 'arp' },
  { name: 'arp_tpa', field: 'nw_dst', bytes: 4, maskable: true, nxm: nx0(17), oxm: basic(23), prereq: isArp, needs: 'arp' },
  { name: 'arp_sha', field: 'arp_sha', bytes: 6, maskable: true, nxm: nx1(17), oxm: basic(24), prereq: isArp, needs: 'arp' },
  { name: 'arp_tha', field: 'arp_tha', bytes: 6, maskable: true, nxm: nx1(18), oxm: basic(25), prereq: isArp, needs: 'arp' },
  { name: 'tun_id', field: 'tun_id', bytes: 8, maskable: true, nxm: nx1(16), oxm: basic(38, OFP13), prereq: any },
  { name: 'tun_src', field: 'tun_src', bytes: 4, maskable: true, nxm: nx1(31), prereq: any },
  { name: 'tun_dst', field: 'tun_dst', bytes: 4, maskable: true, nxm: nx1(32), prereq: any },
  { name: 'tun_ipv6_src', field: 'tun_ipv6_src', bytes: 16, maskable: true, nxm: nx1(109), prereq: any },
  { name: 'tun_ipv6_dst', field: 'tun_ipv6_dst', bytes: 16, maskable: true, nxm: nx1(110), prereq: any },
  // OpenFlow sees one tunnel flag, oam (OVS's FLOW_TNL_PUB_F_MASK); the others are the datapath's.
  { name: 'tun_flags', field: 'tun_flags', bytes: 2, maskable: true, nxm: nx1(104), prereq: any, valid: (v) => v <= 1n, loadMask: 1n },
  // Geneve options through the bridge's TLV map (../../ofproto/tun-metadata.ts), NXM_NX_TUN_METADATA0 is field 40.
  ...Array.from({ length: TUN_METADATA_FIELDS }, (_, i): WireField => ({ name: `tun_metadata${i}`, field: 'tun_metadata_value', bytes: DATAPATH_OPT_BYTES, variable: true, maskable: true, nxm: nx1(NXM_NX_TUN_METADATA0_FIELD + i), prereq: any })),
  ...REG_FIELDS.map((r, i): WireField => ({ name: r, field: r, bytes: 4, maskable: true, nxm: nx1(i), prereq: any })),
  { name: 'metadata', field: 'metadata', bytes: 8, maskable: true, oxm: basic(2), prereq: any },
  // The wide registers are views of reg0..reg15. OVS writes matches on them as the 32-bit registers
  // (as xregs from 1.5), but reads them in a match and names them in actions by their own headers.
  ...WIDE_REG_FIELDS.map((r): WireField => {
    const n = Number(r.replace(/^x+reg/, ''));
    const wide = r.startsWith('xx')
      ? { bytes: 16, nxm: nx1(NXM_NX_XXREG0_FIELD + n) }
      : { bytes: 8, oxm: { cls: OXM_CLASS.PACKET_REGS, field: n, since: OFP15 } };
    return { name: r, field: r, maskable: true, prereq: any, ...wide };
  }),
];

/**
 * Fields set_field may not write, as in OVS (their `Access: read-only`): the ethertype and IP
 * protocol say what the rest of the packet is, and TCP flags are the segment's own.
 */
const READ_ONLY_FIELDS: ReadonlySet<string> = new Set(['eth_type', 'ip_proto', 'tcp_flags']);

export function writable(f: WireField): boolean {
  return !READ_ONLY_FIELDS.has(f.name);
}

/** NXM_NX_COOKIE, the cookie and mask an NXT_FLOW_MOD's match may carry. */
export const NXM_NX_COOKIE: WireHeader = nx1(30);

/**
 * A header's key in the lookup tables: a number, so that decoding a match builds no string per
 * entry. Experimenter fields (one today) are rare enough to key by a string of their id.
 */
function key(h: WireHeader): number | string {
  return h.cls === OXM_CLASS.EXPERIMENTER ? `x${h.experimenter ?? 0}:${h.field}` : h.cls * 128 + h.field;
}

const BY_HEADER = new Map<number | string, WireField>();
for (const f of WIRE_FIELDS) {
  for (const h of [f.nxm, f.oxm, f.oxmBefore]) if (h) BY_HEADER.set(key(h), f);
}
const BY_NAME = new Map(WIRE_FIELDS.map((f) => [f.name, f]));

/** The wire field of a header, or undefined if TVS does not know it. */
export function wireFieldOf(h: WireHeader): WireField | undefined {
  return BY_HEADER.get(key(h));
}

export function wireField(name: string): WireField {
  const f = BY_NAME.get(name);
  if (!f) throw new Error(`no wire field ${name}`);
  return f;
}

/**
 * The header to write `f` with: in a match of `version` (0 = NXM), its OXM header where that
 * version has one, otherwise its NXM header (OVS accepts NXM headers inside OXM matches).
 */
export function headerFor(f: WireField, version: number): WireHeader {
  if (version && f.oxm && f.oxm.since <= version) return f.oxm;
  if (version && f.oxmBefore && f.oxmBefore.since <= version) return f.oxmBefore;
  if (f.nxm) return f.nxm;
  if (f.oxm) return f.oxm;
  throw new Error(`${f.name} has no header`);
}

/**
 * All-ones of 0..16 bytes and the shifts fields use, as bigints made once: every field of every
 * match passes through these, and a BigInt built per call was most of the codec's garbage.
 */
const ONES_OF_BYTES: readonly bigint[] = Array.from({ length: 17 }, (_, n) => (1n << BigInt(n * 8)) - 1n);
const SMALL_BIGINTS: readonly bigint[] = Array.from({ length: 16 }, (_, n) => BigInt(n));

/** The mask of the whole wire field, in wire units. */
export function wireMax(f: WireField): bigint {
  return ONES_OF_BYTES[f.bytes] ?? (1n << BigInt(f.bytes * 8)) - 1n;
}

function shiftOf(f: WireField): bigint {
  return f.shift ? (SMALL_BIGINTS[f.shift] ?? BigInt(f.shift)) : 0n;
}

/** A wire value or mask moved into ofproto's field (shifted, cut to the part it covers). */
export function toModel(f: WireField, v: bigint): bigint {
  return (f.shift ? v << shiftOf(f) : v) & (f.partMask ?? FIELDS[f.field].max);
}

/** The bits of ofproto's field `f` covers, as a wire value. */
export function fromModel(f: WireField, v: bigint): bigint {
  const bits = v & (f.partMask ?? FIELDS[f.field].max);
  return f.shift ? bits >> shiftOf(f) : bits;
}

/**
 * The value of an entry of variable-length field `f` as TVS keeps it: `bytes` long, or an error
 * message if the wire gives more than 124 bytes or more than TVS's `bytes` of significant ones.
 */
export function variableValue(f: WireField, b: Buffer): Buffer | string {
  if (b.length > VARIABLE_FIELD_MAX_BYTES) return `${f.name} has ${b.length} bytes, more than ${VARIABLE_FIELD_MAX_BYTES}`;
  const cut = b.length - f.bytes;
  if (cut > 0 && b.subarray(0, cut).some((x) => x !== 0)) return `${f.name} has more than the ${f.bytes} bytes of data TVS's datapath carries of a Geneve option`;
  const out = Buffer.alloc(f.bytes);
  b.subarray(Math.max(0, cut)).copy(out, Math.max(0, -cut));
  return out;
}

/** The wire length of a variable-length value (and mask): whole 4-byte words, as Geneve options are, at least one. */
export function variableLength(...values: bigint[]): number {
  let bytes = 4;
  for (const v of values) while (v >> BigInt(8 * bytes) !== 0n) bytes += 4;
  return bytes;
}
