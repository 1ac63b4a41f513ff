/**
 * Between the datapath's flow key (src/datapath/flow-key.ts, named like OVS's ODP attributes:
 * "eth.src", "ipv4.dst", "tcp.dst") and the slow path's `Flow` (OpenFlow fields: dl_src, nw_dst,
 * tp_dst), plus frame parsing for `ofproto/trace` with a hex packet.
 *
 * The two disagree on where some things live, and that is all this file knows:
 * - in_port: the datapath numbers ports its own way; the bridge maps dp port <-> ofport.
 * - ICMP type/code: datapath icmp.type/icmp.code; OpenFlow tp_src/tp_dst.
 * - ARP: datapath arp.op/arp.sip/arp.tip/arp.sha/arp.tha; OpenFlow nw_proto/nw_src/nw_dst/
 *   arp_sha/arp_tha.
 * - IPv6 tclass/hlimit: OpenFlow nw_tos/nw_ttl.
 * - ND: datapath nd.target/nd.sll/nd.tll; OpenFlow nd_target/arp_sha/arp_tha. The datapath keeps
 *   nd_ext.nd_reserved/nd_options_type in bytes IPv4 and ARP use for addresses (flow-key.ts), so
 *   a mask that matches them also matches eth_type and the IP protocol (see wcToMask).
 * - Tunnel flags: the datapath's tunnel.flags numbers its bits its own way (TUNNEL_FLAGS);
 *   OpenFlow's tun_flags holds OVS's FLOW_TNL_F_* (TUN_FLAG).
 * Fields only the datapath has (recirc_id, frag, tpids, the inner VLAN, IPv6 label) are not
 * visible to OpenFlow.
 *
 * `wcToMask` turns the wildcards xlate accumulated into a datapath mask. Like OVS's megaflows it
 * always matches recirc_id, and, when eth_type is matched on an IP frame, the fragment type (a
 * later fragment has no L4 ports, so it must not share a flow with an unfragmented packet).
 */
import { extractKey as extractNativeKey } from '../datapath/dpif.js';
import { decodeKey, encodeKey, fieldSpan, FLOW_KEY_LEN, TUNNEL_FLAGS, type FieldName, type FieldValue, type FlowKey, type FlowMask } from '../datapath/flow-key.js';
import { formatIpv4, formatIpv6, formatMac } from '../lib/addr.js';
import { ETH_TYPE, FIELD_IDS, FIELDS, Flow, type FieldId, FlowWildcards, IP_PROTO, ND_TYPE, REG_FIELDS, TUN_FLAG } from './flow.js';
import { presentBit, type TlvMap } from './tun-metadata.js';

/** How one OpenFlow field maps to one datapath field for a given kind of frame. */
type Pair = readonly [FieldId, FieldName];

/** The outer header of a frame that came through a tunnel (tunnel.flags: see tunFlagsOf). */
const TUNNEL: readonly Pair[] = [
  ['tun_id', 'tunnel.tun_id'],
  ['tun_src', 'tunnel.src'],
  ['tun_dst', 'tunnel.dst'],
  ['tun_ipv6_src', 'tunnel.ipv6_src'],
  ['tun_ipv6_dst', 'tunnel.ipv6_dst'],
  ['tun_tos', 'tunnel.tos'],
  ['tun_ttl', 'tunnel.ttl'],
];
const L2: readonly Pair[] = [
  ...TUNNEL,
  ['dl_src', 'eth.src'],
  ['dl_dst', 'eth.dst'],
  ['dl_type', 'eth_type'],
  ['vlan_tci', 'vlan.tci'],
];
const IPV4: readonly Pair[] = [
  ['nw_src', 'ipv4.src'],
  ['nw_dst', 'ipv4.dst'],
  ['nw_proto', 'ipv4.proto'],
  ['nw_tos', 'ipv4.tos'],
  ['nw_ttl', 'ipv4.ttl'],
];
const IPV6: readonly Pair[] = [
  ['ipv6_src', 'ipv6.src'],
  ['ipv6_dst', 'ipv6.dst'],
  ['nw_proto', 'ipv6.proto'],
  ['nw_tos', 'ipv6.tclass'],
  ['nw_ttl', 'ipv6.hlimit'],
];
const ARP: readonly Pair[] = [
  ['nw_src', 'arp.sip'],
  ['nw_dst', 'arp.tip'],
  ['nw_proto', 'arp.op'],
  ['arp_sha', 'arp.sha'],
  ['arp_tha', 'arp.tha'],
];
const PORTS: readonly Pair[] = [
  ['tp_src', 'tcp.src'],
  ['tp_dst', 'tcp.dst'],
  ['tcp_flags', 'tcp_flags'],
];
const ICMP4: readonly Pair[] = [
  ['tp_src', 'icmp.type'],
  ['tp_dst', 'icmp.code'],
];
const ICMP6: readonly Pair[] = [
  ['tp_src', 'icmpv6.type'],
  ['tp_dst', 'icmpv6.code'],
  // Zero in the key unless the message is a neighbor solicitation or advertisement.
  ['nd_target', 'nd.target'],
  ['arp_sha', 'nd.sll'],
  ['arp_tha', 'nd.tll'],
  ['nd_reserved', 'nd_ext.nd_reserved'],
  ['nd_options_type', 'nd_ext.nd_options_type'],
];

/** The field pairs of each kind of frame, and the word spans they copy (see spansFor). */
const KINDS = [
  [...L2],
  [...L2, ...IPV4],
  [...L2, ...IPV4, ...PORTS],
  [...L2, ...IPV4, ...ICMP4],
  [...L2, ...IPV6],
  [...L2, ...IPV6, ...PORTS],
  [...L2, ...IPV6, ...ICMP6],
  [...L2, ...ARP],
].map((pairs) => ({ pairs, spans: pairs.flatMap(wordSpans) }));

/** Which entry of KINDS describes a frame with this eth_type and IP protocol. */
function kindOf(ethType: number, proto: number): number {
  if (ethType === ETH_TYPE.IP || ethType === ETH_TYPE.IPV6) {
    const base = ethType === ETH_TYPE.IP ? 1 : 4;
    if (proto === IP_PROTO.TCP || proto === IP_PROTO.UDP || proto === IP_PROTO.SCTP) return base + 1;
    if (proto === (ethType === ETH_TYPE.IP ? IP_PROTO.ICMP : IP_PROTO.ICMPV6)) return base + 2;
    return base;
  }
  return ethType === ETH_TYPE.ARP || ethType === ETH_TYPE.RARP ? 7 : 0;
}

/** The field pairs that apply to a frame with this eth_type and IP protocol. */
function pairsFor(ethType: number, proto: number): readonly Pair[] {
  return KINDS[kindOf(ethType, proto)]!.pairs;
}

/**
 * One word of an OpenFlow field and the key bytes that fill it. The key holds
 * the datapath field in network order; the flow holds the OpenFlow field
 * right-aligned in its words, most significant first. `width` keeps the bits
 * the OpenFlow field has in this word.
 */
interface WordSpan {
  readonly word: number;
  readonly at: number;
  readonly len: number;
  readonly width: number;
}

function wordSpans([of, dp]: Pair): WordSpan[] {
  const { ofs, words, bits } = FIELDS[of];
  const [off, len] = fieldSpan(dp);
  // The field's bytes, right-aligned in words * 4 bytes.
  const pad = words * 4 - len;
  const spans: WordSpan[] = [];
  for (let i = 0; i < words; i++) {
    const from = Math.max(0, 4 * i - pad);
    const to = Math.min(len, 4 * i + 4 - pad);
    if (to <= from) continue;
    const topBits = bits - 32 * (words - 1 - i);
    spans.push({ word: ofs + i, at: off + from, len: to - from, width: topBits >= 32 ? 0xffffffff : 2 ** topBits - 1 });
  }
  return spans;
}

/** The word spans of the frame a key describes. */
function spansFor(key: Buffer): readonly WordSpan[] {
  return KINDS[kindOf(key.readUInt16BE(ETH_TYPE_AT), key[IP_PROTO_AT]!)]!.spans;
}

/** Copies the OpenFlow-visible fields of key-layout bytes (a key or a mask) into words. */
function bytesToWords(buf: Buffer, w: Uint32Array, spans: readonly WordSpan[]): void {
  for (const s of spans) {
    let v = 0;
    for (let i = s.at; i < s.at + s.len; i++) v = ((v << 8) | buf[i]!) >>> 0;
    w[s.word] = (v & s.width) >>> 0;
  }
}

/** Each bit of the datapath's tunnel.flags and OVS's FLOW_TNL_F_* bit it stands for. */
const FLAG_PAIRS = [
  [TUNNEL_FLAGS.df, TUN_FLAG.DONT_FRAGMENT],
  [TUNNEL_FLAGS.csum, TUN_FLAG.CSUM],
  [TUNNEL_FLAGS.key, TUN_FLAG.KEY],
  [TUNNEL_FLAGS.oam, TUN_FLAG.OAM],
] as const;

/** OpenFlow's tun_flags (TUN_FLAG bits) of the datapath's tunnel.flags. */
function tunFlagsOf(dpFlags: number): number {
  let v = 0;
  for (const [dp, of] of FLAG_PAIRS) if (dpFlags & dp) v |= of;
  return v;
}

/** The datapath's tunnel.flags of OpenFlow's tun_flags. */
export function dpTunnelFlags(tunFlags: number): number {
  let v = 0;
  for (const [dp, of] of FLAG_PAIRS) if (tunFlags & of) v |= dp;
  return v;
}

const [IN_PORT_AT] = fieldSpan('in_port');
const [GENEVE_CLASS_AT] = fieldSpan('tunnel.geneve.class');
const [GENEVE_TYPE_AT] = fieldSpan('tunnel.geneve.type');
const [GENEVE_LEN_AT] = fieldSpan('tunnel.geneve.len');
const [GENEVE_DATA_AT] = fieldSpan('tunnel.geneve.data');
const [TUN_FLAGS_AT] = fieldSpan('tunnel.flags');
const [RECIRC_AT] = fieldSpan('recirc_id');
const [ETH_TYPE_AT] = fieldSpan('eth_type');
/** The IP protocol's byte; IPv4 and IPv6 share it. */
const [IP_PROTO_AT] = fieldSpan('ipv4.proto');
const [IP_FRAG_AT] = fieldSpan('ipv4.frag');
const [ICMP_TYPE_AT] = fieldSpan('icmpv6.type');
const [ICMP_CODE_AT] = fieldSpan('icmpv6.code');
const ND_SPANS = (['nd.target', 'nd.sll', 'nd.tll', 'nd_ext.nd_reserved', 'nd_ext.nd_options_type'] as const).map(fieldSpan);

const asBytes = (key: FlowKey | Buffer): Buffer => (Buffer.isBuffer(key) ? key : encodeKey(key));

/**
 * The OpenFlow flow of a datapath key: the datapath's bytes (the upcall
 * path), or a decoded key, which is encoded first. `ofInPort` is the key's
 * in_port translated by the bridge's port map (the caller owns the map).
 */
export function keyToFlow(key: FlowKey | Buffer, ofInPort: number): Flow {
  const buf = asBytes(key);
  const flow = new Flow();
  bytesToWords(buf, flow.w, spansFor(buf));
  flow.w[FIELDS.tun_flags.ofs] = tunFlagsOf(buf.readUInt16BE(TUN_FLAGS_AT));
  flow.setNum('in_port', ofInPort);
  return flow;
}

/**
 * Reads the key's Geneve option into `flow` as tun_metadataN, through the bridge's TLV map: the
 * option is present if its class, type and length are mapped (OVS's tun_metadata_from_geneve_udpif).
 */
export function geneveOptionToFlow(key: FlowKey | Buffer, flow: Flow, map: TlvMap | undefined): Flow {
  const buf = asBytes(key);
  const len = buf[GENEVE_LEN_AT]!;
  if (!len || !map) return flow;
  const mapping = map.find(buf.readUInt16BE(GENEVE_CLASS_AT), buf[GENEVE_TYPE_AT]!, len);
  if (!mapping) return flow;
  flow.set('tun_metadata_present', presentBit(mapping.index));
  return flow.set('tun_metadata_value', buf.readBigUInt64BE(GENEVE_DATA_AT));
}

/** Words of the fields that are not L2 or metadata: consulting one makes the mask match eth_type. */
const L3_WORDS = (() => {
  const l2OrMeta = new Set<FieldId>([...L2.map(([f]) => f), 'tun_flags', 'tun_metadata_present', 'tun_metadata_value', 'in_port', 'metadata', ...REG_FIELDS]);
  return FIELD_IDS.filter((f) => !l2OrMeta.has(f)).flatMap((f) => Array.from({ length: FIELDS[f].words }, (_, i) => FIELDS[f].ofs + i));
})();
/**
 * Words whose datapath bytes mean something only for one IP protocol: consulting one makes the mask
 * match nw_proto. The nd_ext fields are among them because IPv4 and ARP keep addresses in their
 * bytes: with eth_type and nw_proto matched, only an ICMPv6 frame can fall in such a megaflow.
 */
const L4_WORDS = (['tp_src', 'tp_dst', 'tcp_flags', 'nd_reserved', 'nd_options_type'] as const).map((f) => FIELDS[f].ofs);

/**
 * The datapath megaflow mask (key-layout bytes) for wildcards `wc` accumulated
 * while translating `key`. Fields the datapath key lacks (registers,
 * metadata) are not packet data and drop out; an OpenFlow field wider than
 * the datapath's (tp_src and tp_dst hold ICMP's one-byte type and code) keeps
 * the bits the datapath has.
 */
export function wcToMask(wc: FlowWildcards, key: FlowKey | Buffer): Buffer {
  const buf = asBytes(key);
  const ethType = buf.readUInt16BE(ETH_TYPE_AT);
  // allocUnsafe draws on Node's pool; a zeroed Buffer.alloc of this size is a malloc.
  const mask = Buffer.allocUnsafe(FLOW_KEY_LEN).fill(0);
  mask.writeUInt32LE(0xffffffff, RECIRC_AT);
  if (wc.w[FIELDS.in_port.ofs]) mask.writeUInt32LE(0xffffffff, IN_PORT_AT);
  mask.writeUInt16BE(dpTunnelFlags(wc.w[FIELDS.tun_flags.ofs]!), TUN_FLAGS_AT);
  if (wc.has('tun_metadata_present')) {
    // Whether the frame carries a mapped option is its option's class, type and length.
    mask.writeUInt16BE(0xffff, GENEVE_CLASS_AT);
    mask[GENEVE_TYPE_AT] = 0xff;
    mask[GENEVE_LEN_AT] = 0xff;
  }
  if (wc.has('tun_metadata_value')) mask.writeBigUInt64BE(wc.get('tun_metadata_value'), GENEVE_DATA_AT);
  for (const s of spansFor(buf)) {
    const m = wc.w[s.word]!;
    for (let i = s.len - 1, v = m; i >= 0; i--, v >>>= 8) mask[s.at + i] = v & 0xff;
  }
  // A field's meaning depends on eth_type (and L4 fields on the IP protocol): match them too.
  // This holds even for a field this frame lacks: OpenFlow sees it as zero only because of the
  // frame's type, so the type must be part of the match.
  if (L3_WORDS.some((i) => wc.w[i])) mask.writeUInt16BE(0xffff, ETH_TYPE_AT);
  const ip = ethType === ETH_TYPE.IP || ethType === ETH_TYPE.IPV6;
  if (ip && L4_WORDS.some((i) => wc.w[i])) mask[IP_PROTO_AT] = 0xff;
  // Like OVS: a later fragment has no L4 ports, so it must not share a flow with an unfragmented packet.
  if (ip && mask.readUInt16BE(ETH_TYPE_AT)) mask[IP_FRAG_AT] = 0xff;
  if (ethType === ETH_TYPE.IPV6 && buf[IP_PROTO_AT] === IP_PROTO.ICMPV6 && mask[IP_PROTO_AT] === 0xff) clearNdUnlessNd(buf, mask);
  return mask;
}

/**
 * Drops the ND fields from the mask of an ICMPv6 megaflow that the mask itself keeps from being
 * neighbor discovery (its type is matched and is not 135/136, or its code is and is not 0): such
 * packets have zeros there, and OVS's datapath flows carry nd(...) only for ND messages. A
 * lookup consults nd_target whenever a rule matching it exists, whatever the packet.
 */
function clearNdUnlessNd(key: Buffer, mask: Buffer): void {
  const type = key[ICMP_TYPE_AT]!;
  const typeRulesOut = mask[ICMP_TYPE_AT] === 0xff && type !== ND_TYPE.SOLICIT && type !== ND_TYPE.ADVERT;
  const codeRulesOut = mask[ICMP_CODE_AT] === 0xff && key[ICMP_CODE_AT] !== 0;
  if (typeRulesOut || codeRulesOut) for (const [at, len] of ND_SPANS) mask.fill(0, at, at + len);
}

/** The OpenFlow wildcards a datapath mask implies (inverse of wcToMask, for checks). */
export function maskToWc(mask: FlowMask | Buffer, key: FlowKey | Buffer): FlowWildcards {
  const m = asBytes(mask);
  const wc = new FlowWildcards();
  bytesToWords(m, wc.w, spansFor(asBytes(key)));
  wc.w[FIELDS.tun_flags.ofs] = tunFlagsOf(m.readUInt16BE(TUN_FLAGS_AT));
  if (m.readUInt32LE(IN_PORT_AT)) wc.w[FIELDS.in_port.ofs] = 0xffffffff;
  return wc;
}

/** A field value (OpenFlow's bigint) in the datapath's representation for `name`. */
export function dpValue(name: FieldName, v: bigint): FieldValue {
  switch (name) {
    case 'eth.src':
    case 'eth.dst':
    case 'arp.sha':
    case 'arp.tha':
    case 'nd.sll':
    case 'nd.tll':
      return formatMac(v);
    case 'ipv4.src':
    case 'ipv4.dst':
    case 'arp.sip':
    case 'arp.tip':
    case 'tunnel.src':
    case 'tunnel.dst':
      return formatIpv4(Number(v));
    case 'ipv6.src':
    case 'ipv6.dst':
    case 'nd.target':
      return formatIpv6(v);
    case 'tunnel.tun_id':
      return v;
    default:
      return Number(v);
  }
}

/** The datapath key of an OpenFlow flow (tests compare it with extractKey's); `dpInPort` is the dp port. */
export function flowToKey(flow: Flow, dpInPort: number): FlowKey {
  const key: FlowKey = { in_port: dpInPort };
  const ethType = flow.num('dl_type');
  for (const [of, dp] of pairsFor(ethType, flow.num('nw_proto'))) {
    const v = flow.get(of);
    if (v !== 0n) key[dp] = dpValue(dp, v);
  }
  const tunFlags = flow.num('tun_flags');
  if (tunFlags) key['tunnel.flags'] = dpTunnelFlags(tunFlags);
  return key;
}

// ---------------------------------------------------------------------------------------------
// Frame parsing: the datapath's own extraction, so a traced packet is seen exactly as the
// datapath sees it.

/** The datapath key of an Ethernet frame received on datapath port `dpInPort`. */
export function extractKey(frame: Buffer, dpInPort: number): FlowKey {
  return decodeKey(extractNativeKey(frame, dpInPort));
}

/** Drops zero-valued fields so keys compare structurally. */
export function compactKey(key: FlowKey): FlowKey {
  const out: FlowKey = {};
  for (const [k, v] of Object.entries(key) as [FieldName, FieldValue | undefined][]) {
    if (v === undefined) continue;
    if (v === 0 || v === 0n || v === '0.0.0.0' || v === '00:00:00:00:00:00' || v === '::') continue;
    out[k] = v;
  }
  return out;
}
