/**
 * Matches on the wire: OpenFlow 1.0's fixed ofp_match (wildcard bits, CIDR prefix lengths), and
 * the type-length-value matches of Nicira (NXM, on OpenFlow 1.0) and OpenFlow 1.2+ (OXM, inside an
 * ofp_match of type OFPMT_OXM). NXM and OXM share one entry format and one field table
 * (./fields.ts); a match decoded from either is checked entry by entry as OVS checks it, so a
 * malformed one gets the error OVS would answer.
 */
import { OFPP } from '../../ofproto/actions.js';
import { ETH_TYPE, FIELDS, IP_PROTO, REG_FIELDS, fieldMax, type FieldId } from '../../ofproto/flow.js';
import { Match } from '../../ofproto/match.js';
import { OFP15 } from '../messages.js';
import { OfDecodeError, OfEncodeError, type OfReader, type OfWriter } from './buffer.js';
import { presentBit, presentIndexes, tooManyOptions, TUN_METADATA_EXACT } from '../../ofproto/tun-metadata.js';
import { NXM_NX_COOKIE, OXM_CLASS, fromModel, headerFor, toModel, variableLength, variableValue, wireField, wireFieldOf, wireMax, type WireField, type WireHeader } from './fields.js';

// ---------------------------------------------------------------------------------------------
// Ports: ofproto numbers ports in 16 bits; OpenFlow 1.1+ uses 32 and moves the reserved ones up.

/** An ofproto port number as OpenFlow 1.1+ writes it. */
export function portToOf11(port: number): number {
  return port >= OFPP.MAX ? (port + 0xffff0000) >>> 0 : port;
}

/** An OpenFlow 1.1+ port number in ofproto's 16-bit numbering, or undefined if it has none. */
export function portFromOf11(port: number): number | undefined {
  if (port < OFPP.MAX) return port;
  if (port >= 0xffffff00) return port - 0xffff0000;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// NXM / OXM entries

/**
 * A big-endian value as a bigint. The widths fields have (1, 2, 4, 6, 8, 16 bytes) are read whole:
 * a BigInt per byte was most of what decoding a match allocated.
 */
function bigFrom(b: Buffer): bigint {
  const n = b.length;
  if (n === 0) return 0n;
  if (n <= 6) return BigInt(b.readUIntBE(0, n));
  if (n === 8) return b.readBigUInt64BE(0);
  if (n === 16) return (b.readBigUInt64BE(0) << 64n) | b.readBigUInt64BE(8);
  let v = 0n;
  for (const byte of b) v = (v << 8n) | BigInt(byte);
  return v;
}

const U32 = 0xffffffffn;

/** Writes the low `bytes` bytes of `v`, big-endian; the widths fields have are written whole, as bigFrom reads them. */
function putBig(w: OfWriter, v: bigint, bytes: number): void {
  switch (bytes) {
    case 1:
      w.u8(Number(v & 0xffn));
      return;
    case 2:
      w.u16(Number(v & 0xffffn));
      return;
    case 4:
      w.u32(Number(v & U32));
      return;
    case 6:
      w.u16(Number((v >> 32n) & 0xffffn)).u32(Number(v & U32));
      return;
    case 8:
      w.u64(v);
      return;
    case 16:
      w.u64(v >> 64n).u64(v);
      return;
  }
  for (let i = bytes - 1; i >= 0; i--) w.u8(Number((v >> BigInt(i * 8)) & 0xffn));
}

/** Writes one entry: header, value and (if `mask` is given) mask. */
export function putEntry(w: OfWriter, h: WireHeader, bytes: number, value: bigint, mask?: bigint): void {
  const exp = h.cls === OXM_CLASS.EXPERIMENTER ? 4 : 0;
  const len = exp + (mask === undefined ? bytes : 2 * bytes);
  w.u32(((h.cls << 16) | (h.field << 9) | (mask === undefined ? 0 : 0x100) | len) >>> 0);
  if (exp) w.u32(h.experimenter ?? 0);
  putBig(w, value, bytes);
  if (mask !== undefined) putBig(w, mask, bytes);
}

/** One entry as read: its header, and value and mask in wire units. */
export interface Entry {
  header: WireHeader;
  hasMask: boolean;
  /** Payload length (value and mask), bytes. */
  length: number;
  value: Buffer;
  mask?: Buffer;
}

/** Reads the next entry's header and payload; `error` names what a bad length is answered with. */
export function pullEntry(r: OfReader, error = 'OFPBMC_BAD_LEN'): Entry {
  if (r.remaining < 4) throw new OfDecodeError(error, `${r.remaining} bytes left where a match field header needs 4`);
  const h = r.u32();
  const cls = h >>> 16;
  const field = (h >>> 9) & 0x7f;
  const hasMask = (h & 0x100) !== 0;
  let length = h & 0xff;
  const header: WireHeader = { cls, field };
  if (cls === OXM_CLASS.EXPERIMENTER) {
    if (length < 4 || r.remaining < 4) throw new OfDecodeError(error, `experimenter field 0x${h.toString(16)} is too short for its experimenter id`);
    header.experimenter = r.u32();
    length -= 4;
  }
  if (length === 0 || length > r.remaining || (hasMask && length % 2)) {
    throw new OfDecodeError(error, `field 0x${h.toString(16)} has length ${length}, ${r.remaining} bytes left`);
  }
  const payload = r.bytes(length);
  return hasMask ? { header, hasMask, length, value: payload.subarray(0, length / 2), mask: payload.subarray(length / 2) } : { header, hasMask, length, value: payload };
}

/** Matches `bits` (in field units) of ofproto field `f` against `value`, keeping its other bits. */
function setBits(m: Match, f: FieldId, bits: bigint, value: bigint): void {
  const cur = m.field(f);
  m.set(f, (cur.value & ~bits) | (value & bits), cur.mask | bits);
}

function headerName(h: WireHeader): string {
  const x = h.experimenter === undefined ? '' : `/0x${h.experimenter.toString(16)}`;
  return `class 0x${h.cls.toString(16)}${x} field ${h.field}`;
}

/** The result of decoding an NXM/OXM match; NXT_FLOW_MOD and NXST_FLOW may also carry a cookie. */
interface PulledMatch {
  match: Match;
  cookie?: { value: bigint; mask: bigint };
}

/**
 * Decodes NXM/OXM entries filling `r`. `allowCookie` accepts NXM_NX_COOKIE (Nicira flow_mod and
 * flow stats request). Errors are OVS's: unknown field OFPBMC_BAD_FIELD, wrong length
 * OFPBMC_BAD_LEN, mask on an unmaskable field OFPBMC_BAD_MASK, value outside its mask
 * OFPBMC_BAD_WILDCARDS, invalid value OFPBMC_BAD_VALUE, repeated field OFPBMC_DUP_FIELD, missing
 * prerequisite OFPBMC_BAD_PREREQ (prerequisites must come before the fields that need them).
 */
export function pullNxMatch(r: OfReader, allowCookie = false): PulledMatch {
  const m = new Match();
  const out: PulledMatch = { match: m };
  const seen = new Set<string>();
  while (r.remaining > 0) {
    const e = pullEntry(r);
    const h = e.header;
    if (allowCookie && h.cls === NXM_NX_COOKIE.cls && h.field === NXM_NX_COOKIE.field) {
      if (e.value.length !== 8) throw new OfDecodeError('OFPBMC_BAD_LEN', `NXM_NX_COOKIE has ${e.value.length} bytes, not 8`);
      if (out.cookie) throw new OfDecodeError('OFPBMC_DUP_FIELD', 'NXM_NX_COOKIE appears twice');
      out.cookie = { value: bigFrom(e.value), mask: e.mask ? bigFrom(e.mask) : 0xffffffffffffffffn };
      continue;
    }
    const f = wireFieldOf(h);
    if (!f) throw new OfDecodeError('OFPBMC_BAD_FIELD', `unknown match field (${headerName(h)})`);
    if (f.variable) {
      pullTunMetadata(m, f, e);
      continue;
    }
    if (e.value.length !== f.bytes) throw new OfDecodeError('OFPBMC_BAD_LEN', `${f.name} is ${f.bytes} bytes, the message gives ${e.value.length}`);
    if (e.hasMask && !f.maskable) throw new OfDecodeError('OFPBMC_BAD_MASK', `${f.name} cannot be masked`);
    const value = bigFrom(e.value);
    const mask = e.mask ? bigFrom(e.mask) : wireMax(f);
    if (value & ~mask) throw new OfDecodeError('OFPBMC_BAD_WILDCARDS', `${f.name} value has bits set outside its mask`);
    if (f.valid && !f.valid(value)) throw new OfDecodeError('OFPBMC_BAD_VALUE', `${f.name}: 0x${value.toString(16)} is not a valid value`);
    const bits = f.partMask ?? fieldMax(f.field);
    const matched = m.wc.has(f.field);
    if (seen.has(f.name) || (matched && m.wc.get(f.field) & bits)) throw new OfDecodeError('OFPBMC_DUP_FIELD', `${f.name} appears twice in the match`);
    seen.add(f.name);
    if (!f.prereq(m)) throw new OfDecodeError('OFPBMC_BAD_PREREQ', `a match on ${f.name} requires ${f.needs ?? 'its prerequisites'} before it`);
    if (f.name === 'in_port_oxm') {
      const port = portFromOf11(Number(value));
      if (port === undefined) throw new OfDecodeError('OFPBMC_BAD_VALUE', `in_port 0x${value.toString(16)} is not a valid port`);
      m.set('in_port', port);
    } else {
      // An exact match of a field narrower than its storage (icmp_type in tp_src) is exact in ofproto too.
      const modelMask = mask === wireMax(f) ? bits : toModel(f, mask);
      // The first wire field of an ofproto field sets it whole, without reading back what is not there.
      if (matched) setBits(m, f.field, modelMask, toModel(f, value));
      else m.set(f.field, toModel(f, value) & modelMask, modelMask);
    }
  }
  return out;
}

/**
 * tun_metadataN=VALUE[/MASK]: the option's presence (bit N of tun_metadata_present) and its data.
 * A match holds one: the datapath sees one Geneve option per frame.
 */
function pullTunMetadata(m: Match, f: WireField, e: Entry): void {
  const index = Number(f.name.slice('tun_metadata'.length));
  const value = variableValue(f, e.value);
  const mask = e.mask ? variableValue(f, e.mask) : undefined;
  for (const v of [value, mask]) if (typeof v === 'string') throw new OfDecodeError('OFPBMC_BAD_LEN', v);
  const present = m.field('tun_metadata_present');
  const bit = presentBit(index);
  if (present.mask & bit) throw new OfDecodeError('OFPBMC_DUP_FIELD', `${f.name} appears twice in the match`);
  if (present.mask) throw new OfDecodeError('OFPBMC_BAD_FIELD', tooManyOptions([...presentIndexes(present.mask), index]));
  const v = bigFrom(value as Buffer);
  const mk = mask ? bigFrom(mask as Buffer) : TUN_METADATA_EXACT;
  if (v & ~mk) throw new OfDecodeError('OFPBMC_BAD_WILDCARDS', `${f.name} value has bits set outside its mask`);
  m.set('tun_metadata_present', bit, bit);
  m.set('tun_metadata_value', v, mk);
}

/** Writes the match's tun_metadata field: exact with the value's length, or masked. */
function putTunMetadata(w: OfWriter, m: Match): void {
  const present = m.field('tun_metadata_present');
  const data = m.field('tun_metadata_value');
  for (const index of presentIndexes(present.mask)) {
    const h = headerFor(wireField(`tun_metadata${index}`), 0);
    if (data.mask === TUN_METADATA_EXACT) putEntry(w, h, variableLength(data.value), data.value);
    else putEntry(w, h, variableLength(data.value, data.mask), data.value, data.mask);
  }
}

/** OpenFlow 1.5 matches registers in pairs, as OVS writes them: xregN is reg(2N) then reg(2N+1). */
function putXregs(w: OfWriter, m: Match): void {
  for (let n = 0; 2 * n + 1 < REG_FIELDS.length; n++) {
    const [hi, lo] = [m.field(REG_FIELDS[2 * n]!), m.field(REG_FIELDS[2 * n + 1]!)];
    const mask = (hi.mask << 32n) | lo.mask;
    if (!mask) continue;
    const value = (hi.value << 32n) | lo.value;
    putEntry(w, { cls: OXM_CLASS.PACKET_REGS, field: n }, 8, value, mask === 0xffffffffffffffffn ? undefined : mask);
  }
}

/** Each wire field's full mask in wire units (what an exact match of it carries), computed once. */
const WHOLE = new Map<WireField, bigint>();

function wholeOf(f: WireField): bigint {
  let whole = WHOLE.get(f);
  if (whole === undefined) {
    whole = fromModel(f, f.partMask ?? fieldMax(f.field)) & wireMax(f);
    WHOLE.set(f, whole);
  }
  return whole;
}

/** Writes `f` from the match when it is matched at all: exact when the mask is full, else masked. */
function putField(w: OfWriter, m: Match, f: WireField, version: number): void {
  // Most fields of most matches are not matched: tell without reading the field as a bigint.
  if (!m.wc.has(f.field)) return;
  const mask = m.wc.get(f.field);
  const wmask = fromModel(f, mask) & wireMax(f);
  if (!wmask) return;
  const v = fromModel(f, m.flow.get(f.field)) & wireMax(f);
  const whole = wholeOf(f);
  if (wmask === whole || (!f.maskable && f.partMask !== undefined)) {
    putEntry(w, headerFor(f, version), f.bytes, v);
  } else if (!f.maskable) {
    throw new OfEncodeError(`${f.name} cannot be matched with a mask on the wire (mask 0x${wmask.toString(16)})`);
  } else {
    putEntry(w, headerFor(f, version), f.bytes, v, wmask);
  }
}

const F = (name: string): WireField => wireField(name);

/** The fields putNxMatch writes, looked up once rather than by name for every match. */
const IN_PORT = F('in_port');
const IN_PORT_OXM = F('in_port_oxm');
const ETH_FIELDS = [F('eth_src'), F('eth_dst'), F('eth_type')];
const VLAN_TCI = F('vlan_tci');
const VLAN_VID = F('vlan_vid');
const VLAN_PCP = F('vlan_pcp');
const IP4_ADDRS = [F('ip_src'), F('ip_dst')];
const IP6_ADDRS = [F('ipv6_src'), F('ipv6_dst')];
const NW_TOS = F('nw_tos');
const IP_DSCP = F('ip_dscp');
const IP_REST = [F('ip_ecn'), F('nw_ttl'), F('ip_proto')];
const L4_FIELDS: Readonly<Record<number, readonly WireField[]>> = {
  [IP_PROTO.TCP]: [F('tcp_src'), F('tcp_dst'), F('tcp_flags')],
  [IP_PROTO.UDP]: [F('udp_src'), F('udp_dst')],
  [IP_PROTO.SCTP]: [F('sctp_src'), F('sctp_dst')],
};
const ICMP4_FIELDS = [F('icmp_type'), F('icmp_code')];
const ICMP6_FIELDS = [F('icmpv6_type'), F('icmpv6_code')];
/**
 * ICMPv6 neighbour solicitation (135) and advertisement (136) add their reserved word, target,
 * options type and link-layer address, in OVS's order.
 */
const ND_COMMON = [...ICMP6_FIELDS, F('nd_reserved'), F('nd_target'), F('nd_options_type')];
const ND_FIELDS: Readonly<Record<number, readonly WireField[]>> = {
  135: [...ND_COMMON, F('nd_sll')],
  136: [...ND_COMMON, F('nd_tll')],
};
const ARP_FIELDS = [F('arp_op'), F('arp_spa'), F('arp_tpa'), F('arp_sha'), F('arp_tha')];
/** The tunnel fields, in OVS's order: tun_id, tun_flags, tun_src, tun_dst, tun_ipv6_src, tun_ipv6_dst. */
const TUNNEL_FIELDS = [F('tun_id'), F('tun_flags'), F('tun_src'), F('tun_dst'), F('tun_ipv6_src'), F('tun_ipv6_dst')];
const REG_WIRE_FIELDS = REG_FIELDS.map(F);
const METADATA = F('metadata');

/** The wire fields of layer 4 that follow the IP fields, for an exact nw_proto. */
function l4Fields(m: Match, ip4: boolean, proto: number): readonly WireField[] {
  if (ip4 && proto === IP_PROTO.ICMP) return ICMP4_FIELDS;
  if (!ip4 && proto === IP_PROTO.ICMPV6) {
    const nd = m.flow.num('tp_dst') === 0 ? ND_FIELDS[m.flow.num('tp_src')] : undefined;
    return nd ?? ICMP6_FIELDS;
  }
  return L4_FIELDS[proto] ?? [];
}

/**
 * Writes `m` as NXM (`version` 0) or OXM entries for `version`, in the order OVS writes them, so
 * every field follows its prerequisites; `cookie` adds NXM_NX_COOKIE. Returns the bytes written.
 */
export function putNxMatch(w: OfWriter, m: Match, version: number, cookie?: { value: bigint; mask: bigint }): number {
  const start = w.length;
  const flow = m.flow;
  // dl_type and nw_proto fit a word: compared as numbers, with no BigInt per test.
  const exact = (f: FieldId, v: number) => m.wc.num(f) === FIELDS[f].wordMax[0] && flow.num(f) === v;
  if (m.wc.has('in_port')) {
    const port = flow.num('in_port');
    if (version) putEntry(w, headerFor(IN_PORT_OXM, version), 4, BigInt(portToOf11(port)));
    else putEntry(w, headerFor(IN_PORT, 0), 2, BigInt(port));
  }
  for (const f of ETH_FIELDS) putField(w, m, f, version);
  if (version) {
    if (m.wc.has('vlan_tci')) {
      const tci = flow.get('vlan_tci');
      const vid = tci & 0x1fffn;
      const vidMask = m.wc.get('vlan_tci') & 0x1fffn;
      if (vidMask) putEntry(w, headerFor(VLAN_VID, version), 2, vid, vidMask === 0x1fffn ? undefined : vidMask);
      if (vid && m.wc.get('vlan_tci') & 0xe000n) putEntry(w, headerFor(VLAN_PCP, version), 1, tci >> 13n);
    }
  } else {
    putField(w, m, VLAN_TCI, version);
  }
  const ip4 = exact('dl_type', ETH_TYPE.IP);
  const ip6 = exact('dl_type', ETH_TYPE.IPV6);
  if (ip4 || ip6) {
    for (const f of ip4 ? IP4_ADDRS : IP6_ADDRS) putField(w, m, f, version);
    putField(w, m, version ? IP_DSCP : NW_TOS, version);
    for (const f of IP_REST) putField(w, m, f, version);
    if (m.wc.has('nw_proto')) {
      for (const f of l4Fields(m, ip4, flow.num('nw_proto'))) putField(w, m, f, version);
    }
  } else if (exact('dl_type', ETH_TYPE.ARP) || exact('dl_type', ETH_TYPE.RARP)) {
    for (const f of ARP_FIELDS) putField(w, m, f, version);
  }
  for (const f of TUNNEL_FIELDS) putField(w, m, f, version);
  if (m.wc.has('tun_metadata_present')) putTunMetadata(w, m);
  if (version >= OFP15) putXregs(w, m);
  else for (const r of REG_WIRE_FIELDS) putField(w, m, r, version);
  putField(w, m, METADATA, version);
  if (cookie && cookie.mask) {
    putEntry(w, NXM_NX_COOKIE, 8, cookie.value & cookie.mask, cookie.mask === 0xffffffffffffffffn ? undefined : cookie.mask);
  }
  return w.length - start;
}

// ---------------------------------------------------------------------------------------------
// OpenFlow 1.2+ ofp_match (OFPMT_OXM)

const OFPMT_STANDARD = 0;
const OFPMT_OXM = 1;

/** Writes an ofp_match of type OXM, padded to 8 bytes; returns its length before the padding. */
export function putOxmMatch(w: OfWriter, m: Match, version: number): number {
  const start = w.length;
  w.u16(OFPMT_OXM).u16(0);
  const len = 4 + putNxMatch(w, m, version);
  const sizeAt = start + 2;
  w.patchU16(sizeAt, len);
  w.zeros((8 - (len % 8)) % 8);
  return len;
}

/** Reads an ofp_match of type OXM and its padding. */
export function pullOxmMatch(r: OfReader): Match {
  if (r.remaining < 4) throw new OfDecodeError('OFPBMC_BAD_LEN', 'the message ends before its match');
  const type = r.u16();
  const len = r.u16();
  if (type === OFPMT_STANDARD) throw new OfDecodeError('OFPBMC_BAD_TYPE', 'OpenFlow 1.1 standard matches are not supported: use OXM');
  if (type !== OFPMT_OXM) throw new OfDecodeError('OFPBMC_BAD_TYPE', `unknown match type ${type}`);
  const padded = (len + 7) & ~7;
  if (len < 4 || padded - 4 > r.remaining) throw new OfDecodeError('OFPBMC_BAD_LEN', `match length ${len} does not fit the message`);
  const { match } = pullNxMatch(r.sub(len - 4, 'match'));
  r.skip(padded - len);
  return match;
}

// ---------------------------------------------------------------------------------------------
// OpenFlow 1.0 ofp_match

const OFPFW10 = {
  IN_PORT: 1 << 0,
  DL_VLAN: 1 << 1,
  DL_SRC: 1 << 2,
  DL_DST: 1 << 3,
  DL_TYPE: 1 << 4,
  NW_PROTO: 1 << 5,
  TP_SRC: 1 << 6,
  TP_DST: 1 << 7,
  NW_SRC_SHIFT: 8,
  NW_DST_SHIFT: 14,
  DL_VLAN_PCP: 1 << 20,
  NW_TOS: 1 << 21,
} as const;
const OFPFW10_ALL = (1 << 22) - 1;
const OFP_VLAN_NONE = 0xffff;

/** Prefix length of a CIDR mask, or -1 if `mask` is not one. */
function prefixLen(mask: number): number {
  const inv = ~mask >>> 0;
  if ((inv & (inv + 1)) !== 0) return -1;
  return 32 - Math.log2(inv + 1);
}

const OF10_FIELDS: readonly FieldId[] = ['in_port', 'dl_src', 'dl_dst', 'dl_type', 'vlan_tci', 'nw_src', 'nw_dst', 'nw_proto', 'nw_tos', 'tp_src', 'tp_dst'];

/** Why `m` cannot be written as an OpenFlow 1.0 ofp_match (so NXM is needed), or undefined if it can. */
export function of10MatchProblem(m: Match): string | undefined {
  const extra = m.wc.fields().find((f) => !OF10_FIELDS.includes(f));
  if (extra) return `OpenFlow 1.0 cannot match ${extra}`;
  for (const f of ['in_port', 'dl_src', 'dl_dst', 'dl_type', 'nw_proto', 'tp_src', 'tp_dst'] as const) {
    if (m.wc.has(f) && !m.isExact(f)) return `OpenFlow 1.0 cannot match ${f} with a mask`;
  }
  for (const f of ['nw_src', 'nw_dst'] as const) {
    if (prefixLen(Number(m.wc.get(f))) < 0) return `OpenFlow 1.0 matches ${f} only with a CIDR mask`;
  }
  if ((m.wc.has('tp_src') || m.wc.has('tp_dst')) && m.isExact('nw_proto') && m.flow.get('nw_proto') === BigInt(IP_PROTO.SCTP)) return 'OpenFlow 1.0 cannot match SCTP ports';
  const tos = Number(m.wc.get('nw_tos'));
  if (tos !== 0 && tos !== 0xfc) return 'OpenFlow 1.0 matches nw_tos only as the whole DSCP';
  const tciMask = Number(m.wc.get('vlan_tci'));
  const tci = Number(m.flow.get('vlan_tci'));
  const ok = tciMask === 0 || (tciMask === 0xffff && (tci === 0 || tci & 0x1000)) || ((tciMask === 0x1fff || tciMask === 0xf000) && tci & 0x1000);
  if (!ok) return `OpenFlow 1.0 cannot match vlan_tci=0x${tci.toString(16)}/0x${tciMask.toString(16)}`;
  return undefined;
}

/** Writes `m` as a 40-byte OpenFlow 1.0 ofp_match; throws if it needs NXM (see of10MatchProblem). */
export function putOf10Match(w: OfWriter, m: Match): void {
  const problem = of10MatchProblem(m);
  if (problem) throw new OfEncodeError(`${problem}: use the NXM flow format or OpenFlow 1.2+`);
  const f = m.flow;
  const has = (id: FieldId) => m.wc.has(id);
  let wc = 0;
  if (!has('in_port')) wc |= OFPFW10.IN_PORT;
  if (!has('dl_src')) wc |= OFPFW10.DL_SRC;
  if (!has('dl_dst')) wc |= OFPFW10.DL_DST;
  if (!has('dl_type')) wc |= OFPFW10.DL_TYPE;
  if (!has('nw_proto')) wc |= OFPFW10.NW_PROTO;
  if (!has('tp_src')) wc |= OFPFW10.TP_SRC;
  if (!has('tp_dst')) wc |= OFPFW10.TP_DST;
  if (!has('nw_tos')) wc |= OFPFW10.NW_TOS;
  wc |= (32 - prefixLen(Number(m.wc.get('nw_src')))) << OFPFW10.NW_SRC_SHIFT;
  wc |= (32 - prefixLen(Number(m.wc.get('nw_dst')))) << OFPFW10.NW_DST_SHIFT;
  const tciMask = Number(m.wc.get('vlan_tci'));
  const tci = Number(f.get('vlan_tci'));
  // As OVS writes it: "no tag" is dl_vlan OFP_VLAN_NONE, with dl_vlan_pcp 0 not wildcarded.
  const vlan = tciMask === 0xffff && tci === 0 ? OFP_VLAN_NONE : tci & 0xfff;
  const pcp = tci >> 13;
  if (!(tciMask & 0x0fff)) wc |= OFPFW10.DL_VLAN;
  if (!(tciMask & 0xe000)) wc |= OFPFW10.DL_VLAN_PCP;
  w.u32(wc).u16(Number(f.get('in_port')));
  putBig(w, f.get('dl_src'), 6);
  putBig(w, f.get('dl_dst'), 6);
  w.u16(vlan).u8(pcp).zeros(1).u16(Number(f.get('dl_type')));
  w.u8(Number(f.get('nw_tos'))).u8(Number(f.get('nw_proto'))).zeros(2);
  w.u32(Number(f.get('nw_src'))).u32(Number(f.get('nw_dst')));
  w.u16(Number(f.get('tp_src'))).u16(Number(f.get('tp_dst')));
}

/**
 * Reads a 40-byte OpenFlow 1.0 ofp_match. As OVS does, fields whose prerequisites the match does
 * not have are dropped quietly (OpenFlow 1.0 switches ignore them) rather than refused.
 */
export function pullOf10Match(r: OfReader): Match {
  const wc = r.u32() & OFPFW10_ALL;
  const inPort = r.u16();
  const dlSrc = bigFrom(r.bytes(6));
  const dlDst = bigFrom(r.bytes(6));
  const vlan = r.u16();
  const pcp = r.u8();
  r.skip(1);
  const dlType = r.u16();
  const tos = r.u8();
  const proto = r.u8();
  r.skip(2);
  const nwSrc = r.u32();
  const nwDst = r.u32();
  const tpSrc = r.u16();
  const tpDst = r.u16();
  const m = new Match();
  if (!(wc & OFPFW10.IN_PORT)) m.set('in_port', inPort);
  if (!(wc & OFPFW10.DL_SRC)) m.set('dl_src', dlSrc);
  if (!(wc & OFPFW10.DL_DST)) m.set('dl_dst', dlDst);
  if (!(wc & OFPFW10.DL_TYPE)) m.set('dl_type', dlType);
  if (!(wc & OFPFW10.DL_VLAN) && vlan === OFP_VLAN_NONE) {
    m.set('vlan_tci', 0, 0xffff);
  } else {
    if (!(wc & OFPFW10.DL_VLAN)) setBits(m, 'vlan_tci', 0x1fffn, BigInt(0x1000 | (vlan & 0xfff)));
    if (!(wc & OFPFW10.DL_VLAN_PCP)) setBits(m, 'vlan_tci', 0xf000n, BigInt(0x1000 | ((pcp & 7) << 13)));
  }
  const ip = !(wc & OFPFW10.DL_TYPE) && dlType === ETH_TYPE.IP;
  const arp = !(wc & OFPFW10.DL_TYPE) && (dlType === ETH_TYPE.ARP || dlType === ETH_TYPE.RARP);
  if (ip || arp) {
    const cidr = (shift: number): bigint => {
      const bits = (wc >>> shift) & 0x3f;
      return bits >= 32 ? 0n : BigInt((0xffffffff << bits) >>> 0);
    };
    const srcMask = cidr(OFPFW10.NW_SRC_SHIFT);
    const dstMask = cidr(OFPFW10.NW_DST_SHIFT);
    if (srcMask) m.set('nw_src', nwSrc, srcMask);
    if (dstMask) m.set('nw_dst', nwDst, dstMask);
    if (!(wc & OFPFW10.NW_PROTO)) m.set('nw_proto', proto);
  }
  if (ip) {
    if (!(wc & OFPFW10.NW_TOS)) m.set('nw_tos', tos & 0xfc, 0xfc);
    const l4 = !(wc & OFPFW10.NW_PROTO) && [IP_PROTO.TCP, IP_PROTO.UDP, IP_PROTO.ICMP].includes(proto as 6);
    if (l4) {
      const icmp = proto === IP_PROTO.ICMP;
      if (!(wc & OFPFW10.TP_SRC)) m.set('tp_src', icmp ? tpSrc & 0xff : tpSrc);
      if (!(wc & OFPFW10.TP_DST)) m.set('tp_dst', icmp ? tpDst & 0xff : tpDst);
    }
  }
  return m;
}

