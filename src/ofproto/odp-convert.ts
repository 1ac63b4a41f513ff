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
 * Fields only the datapath has (recirc_id, frag, tpids, the inner VLAN, IPv6 label, ND target,
 * tunnel addresses) are not visible to OpenFlow.
 *
 * `wcToMask` turns the wildcards xlate accumulated into a datapath mask. Like OVS's megaflows it
 * always matches recirc_id, and, when eth_type is matched on an IP frame, the fragment type (a
 * later fragment has no L4 ports, so it must not share a flow with an unfragmented packet).
 */
import { extractKey as extractNativeKey } from '../datapath/dpif.js';
import { decodeKey, fieldSpan, type FieldName, type FieldValue, type FlowKey, type FlowMask, formatIpv4, formatIpv6, formatMac, fullValue, parseIpv6 } from '../datapath/flow-key.js';
import { ETH_TYPE, FIELDS, Flow, type FieldId, FlowWildcards, IP_PROTO } from './flow.js';

/** How one OpenFlow field maps to one datapath field for a given kind of frame. */
type Pair = readonly [FieldId, FieldName];

const L2: readonly Pair[] = [
  ['tun_id', 'tunnel.tun_id'],
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
];

const L2_OR_META: ReadonlySet<FieldId> = new Set<FieldId>([...L2.map(([f]) => f), 'in_port', 'metadata', 'reg0', 'reg1', 'reg2', 'reg3', 'reg4', 'reg5', 'reg6', 'reg7']);

/** The field pairs that apply to a frame with this eth_type and IP protocol. */
function pairsFor(ethType: number, proto: number): Pair[] {
  const out = [...L2];
  if (ethType === ETH_TYPE.IP || ethType === ETH_TYPE.IPV6) {
    const v6 = ethType === ETH_TYPE.IPV6;
    out.push(...(v6 ? IPV6 : IPV4));
    if (proto === IP_PROTO.TCP || proto === IP_PROTO.UDP || proto === IP_PROTO.SCTP) out.push(...PORTS);
    else if (!v6 && proto === IP_PROTO.ICMP) out.push(...ICMP4);
    else if (v6 && proto === IP_PROTO.ICMPV6) out.push(...ICMP6);
  } else if (ethType === ETH_TYPE.ARP || ethType === ETH_TYPE.RARP) {
    out.push(...ARP);
  }
  return out;
}

/** Reads a datapath field, accepting the aliases decodeKey may have used for shared bytes. */
function keyField(key: FlowKey, name: FieldName): FieldValue | undefined {
  const v = key[name];
  if (v !== undefined) return v;
  if (name === 'tcp.src') return key['udp.src'] ?? key['sctp.src'];
  if (name === 'tcp.dst') return key['udp.dst'] ?? key['sctp.dst'];
  return undefined;
}

function toBig(name: FieldName, v: FieldValue): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return BigInt(v);
  if (name === 'eth.src' || name === 'eth.dst' || name === 'arp.sha' || name === 'arp.tha') {
    // decodeKey writes two digits a byte; keys written by hand may not.
    return BigInt('0x' + (v.length === 17 ? v.replaceAll(':', '') : v.split(':').map((x) => x.padStart(2, '0')).join('')));
  }
  if (v.includes(':')) return BigInt('0x' + parseIpv6(v).toString('hex'));
  return BigInt(v.split('.').reduce((n, x) => n * 256 + Number(x), 0));
}

/** A field value (OpenFlow's bigint) in the datapath's representation for `name`. */
export function dpValue(name: FieldName, v: bigint): FieldValue {
  switch (name) {
    case 'eth.src':
    case 'eth.dst':
    case 'arp.sha':
    case 'arp.tha': {
      const b = Buffer.alloc(6);
      b.writeUIntBE(Number(v), 0, 6);
      return formatMac(b);
    }
    case 'ipv4.src':
    case 'ipv4.dst':
    case 'arp.sip':
    case 'arp.tip': {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(Number(v));
      return formatIpv4(b);
    }
    case 'ipv6.src':
    case 'ipv6.dst': {
      const b = Buffer.alloc(16);
      b.writeBigUInt64BE(v >> 64n, 0);
      b.writeBigUInt64BE(v & 0xffffffffffffffffn, 8);
      return formatIpv6(b);
    }
    case 'tunnel.tun_id':
      return v;
    default:
      return Number(v);
  }
}

function numField(key: FlowKey, name: FieldName): number {
  const v = keyField(key, name);
  return v === undefined ? 0 : Number(toBig(name, v));
}

/** Offsets of eth_type and of the IP protocol (IPv4 and IPv6 share it) in the key's bytes. */
const [ETH_TYPE_AT] = fieldSpan('eth_type');
const [IP_PROTO_AT] = fieldSpan('ipv4.proto');

/** The eth_type and IP protocol of a key, decoded or not. */
function typeAndProto(key: FlowKey | Buffer): [number, number] {
  if (Buffer.isBuffer(key)) return [key.readUInt16BE(ETH_TYPE_AT), key[IP_PROTO_AT]!];
  const ethType = numField(key, 'eth_type');
  return [ethType, numField(key, ethType === ETH_TYPE.IPV6 ? 'ipv6.proto' : 'ipv4.proto')];
}

/**
 * The OpenFlow flow of a datapath key, decoded or as the datapath's bytes (the
 * upcall path: no text round trip). `ofInPort` is the key's in_port
 * translated by the bridge's port map (the caller owns the map).
 */
export function keyToFlow(key: FlowKey | Buffer, ofInPort: number): Flow {
  if (Buffer.isBuffer(key)) return keyBytesToFlow(key, ofInPort);
  const flow = new Flow();
  flow.setNum('in_port', ofInPort);
  const ethType = numField(key, 'eth_type');
  const proto = numField(key, ethType === ETH_TYPE.IPV6 ? 'ipv6.proto' : 'ipv4.proto');
  for (const [of, dp] of pairsFor(ethType, proto)) {
    const v = keyField(key, dp);
    if (v === undefined) continue;
    // Numbers into one-word fields skip the bigint round trip (the upcall path).
    if (typeof v === 'number' && FIELDS[of].words === 1) flow.setNum(of, v);
    else flow.set(of, toBig(dp, v));
  }
  return flow;
}

function keyBytesToFlow(buf: Buffer, ofInPort: number): Flow {
  const flow = new Flow();
  flow.setNum('in_port', ofInPort);
  const [ethType, proto] = typeAndProto(buf);
  for (const [of, dp] of pairsFor(ethType, proto)) {
    const [off, len] = fieldSpan(dp);
    if (len <= 4 && FIELDS[of].words === 1) {
      const v = buf.readUIntBE(off, len);
      if (v !== 0) flow.setNum(of, v);
    } else if (len === 16) {
      flow.set(of, (buf.readBigUInt64BE(off) << 64n) | buf.readBigUInt64BE(off + 8));
    } else if (len === 8) {
      flow.set(of, buf.readBigUInt64BE(off));
    } else {
      const v = buf.readUIntBE(off, len);
      if (v !== 0) flow.set(of, BigInt(v));
    }
  }
  return flow;
}

/** The datapath key of an OpenFlow flow (for tests and traces); `dpInPort` is the dp port. */
export function flowToKey(flow: Flow, dpInPort: number): FlowKey {
  const key: FlowKey = { in_port: dpInPort };
  const ethType = flow.num('dl_type');
  for (const [of, dp] of pairsFor(ethType, flow.num('nw_proto'))) {
    const v = flow.get(of);
    if (v !== 0n) key[dp] = dpValue(dp, v);
  }
  return key;
}

/** The bits of OpenFlow field `of` in `wc`, as a datapath mask value (undefined if none). */
function maskValue(wc: FlowWildcards, of: FieldId, dp: FieldName): FieldValue | undefined {
  const m = wc.get(of);
  if (m === 0n) return undefined;
  // An OpenFlow field can be wider than the datapath's: tp_src/tp_dst (16
  // bits) hold ICMP's one-byte type and code. Keep the bits the datapath has.
  const full = fullValue(dp);
  if (typeof full === 'number') return Number(m & BigInt(full));
  return dpValue(dp, m);
}

/**
 * The datapath megaflow mask for wildcards `wc` accumulated while translating `key`. Fields the
 * datapath key lacks (registers, metadata) are not packet data and drop out.
 */
export function wcToMask(wc: FlowWildcards, key: FlowKey | Buffer): FlowMask {
  const mask: FlowMask = { recirc_id: fullValue('recirc_id') };
  if (wc.has('in_port')) mask.in_port = fullValue('in_port');
  const [ethType, proto] = typeAndProto(key);
  const ip = ethType === ETH_TYPE.IP || ethType === ETH_TYPE.IPV6;
  for (const [of, dp] of pairsFor(ethType, proto)) {
    const v = maskValue(wc, of, dp);
    if (v !== undefined) mask[dp] = v;
  }
  // A field's meaning depends on eth_type (and L4 fields on the IP protocol): match them too.
  // This holds even for a field this frame lacks: OpenFlow sees it as zero only because of the
  // frame's type, so the type must be part of the match.
  const l3 = wc.fields().some((f) => !L2_OR_META.has(f));
  if (l3) mask.eth_type = fullValue('eth_type');
  if (ip && (wc.has('tp_src') || wc.has('tp_dst') || wc.has('tcp_flags'))) mask[ethType === ETH_TYPE.IPV6 ? 'ipv6.proto' : 'ipv4.proto'] = 0xff;
  if (ip && mask.eth_type !== undefined) mask[ethType === ETH_TYPE.IPV6 ? 'ipv6.frag' : 'ipv4.frag'] = 0xff;
  return mask;
}

/** The OpenFlow wildcards a datapath mask implies (inverse of wcToMask, for checks). */
export function maskToWc(mask: FlowMask, key: FlowKey): FlowWildcards {
  const wc = new FlowWildcards();
  if (mask.in_port !== undefined && Number(mask.in_port) !== 0) wc.set('in_port', 0xffffffff);
  const ethType = numField(key, 'eth_type');
  const proto = numField(key, ethType === ETH_TYPE.IPV6 ? 'ipv6.proto' : 'ipv4.proto');
  for (const [of, dp] of pairsFor(ethType, proto)) {
    const v = keyField(mask, dp);
    if (v !== undefined) wc.set(of, toBig(dp, v));
  }
  return wc;
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
