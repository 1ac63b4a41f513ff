/**
 * IPFIX messages (RFC 7011): the header, template sets and data sets of the flow records TVS
 * exports. Three templates, one per network layer: L2 only, IPv4 and IPv6, with the
 * information elements (IANA's registry) OVS exports for each: the MACs, EtherType and VLAN;
 * addresses, protocol, ToS and transport ports (ICMP's type and code in their own element);
 * the packet and octet counts, flow start and end, the observation point and interfaces.
 */

const IPFIX_VERSION = 10;
const IPFIX_HEADER_LEN = 16;
const SET_HEADER_LEN = 4;
const TEMPLATE_SET_ID = 2;

/** Information elements (IANA IPFIX registry): id and the length TVS encodes them with. */
const IE = {
  octetDeltaCount: [1, 8],
  packetDeltaCount: [2, 8],
  protocolIdentifier: [4, 1],
  ipClassOfService: [5, 1],
  sourceTransportPort: [7, 2],
  sourceIPv4Address: [8, 4],
  ingressInterface: [10, 4],
  destinationTransportPort: [11, 2],
  destinationIPv4Address: [12, 4],
  egressInterface: [14, 4],
  sourceIPv6Address: [27, 16],
  destinationIPv6Address: [28, 16],
  icmpTypeCodeIPv4: [32, 2],
  sourceMacAddress: [56, 6],
  vlanId: [58, 2],
  destinationMacAddress: [80, 6],
  flowEndReason: [136, 1],
  observationPointId: [138, 4],
  icmpTypeCodeIPv6: [139, 2],
  flowStartMilliseconds: [152, 8],
  flowEndMilliseconds: [153, 8],
  ethernetType: [256, 2],
} as const satisfies Record<string, readonly [number, number]>;

type IeName = keyof typeof IE;

/** Why a flow record was exported (IANA flowEndReason). */
export const FLOW_END_REASON = { idleTimeout: 1, activeTimeout: 2, endOfFlow: 3, forcedEnd: 4, lackOfResources: 5 } as const;

/** The network layer of a record, which picks its template. */
export type IpfixLayer = 'l2' | 'ipv4' | 'ipv6';

/** Template ids (data set ids are the template's id, 256 and up). */
export const IPFIX_TEMPLATE_ID: Record<IpfixLayer, number> = { l2: 256, ipv4: 257, ipv6: 258 };

const L2_FIELDS: IeName[] = ['observationPointId', 'ingressInterface', 'egressInterface', 'sourceMacAddress', 'destinationMacAddress', 'ethernetType', 'vlanId'];
const COUNTER_FIELDS: IeName[] = ['packetDeltaCount', 'octetDeltaCount', 'flowStartMilliseconds', 'flowEndMilliseconds', 'flowEndReason'];
const TEMPLATE_FIELDS: Record<IpfixLayer, IeName[]> = {
  l2: [...L2_FIELDS, ...COUNTER_FIELDS],
  ipv4: [...L2_FIELDS, 'sourceIPv4Address', 'destinationIPv4Address', 'protocolIdentifier', 'ipClassOfService', 'sourceTransportPort', 'destinationTransportPort', 'icmpTypeCodeIPv4', ...COUNTER_FIELDS],
  ipv6: [...L2_FIELDS, 'sourceIPv6Address', 'destinationIPv6Address', 'protocolIdentifier', 'ipClassOfService', 'sourceTransportPort', 'destinationTransportPort', 'icmpTypeCodeIPv6', ...COUNTER_FIELDS],
};

const recordLen = (layer: IpfixLayer) => TEMPLATE_FIELDS[layer].reduce((n, f) => n + IE[f][1], 0);

/** One flow record, every field of its layer's template. */
export interface IpfixRecord {
  layer: IpfixLayer;
  observationPointId: number;
  ingressInterface: number;
  egressInterface: number;
  /** 6 bytes each. */
  sourceMacAddress: Buffer;
  destinationMacAddress: Buffer;
  ethernetType: number;
  vlanId: number;
  /** 4 bytes (IPv4) or 16 (IPv6); absent for an L2 record. */
  sourceAddress?: Buffer;
  destinationAddress?: Buffer;
  protocolIdentifier?: number;
  ipClassOfService?: number;
  sourceTransportPort?: number;
  destinationTransportPort?: number;
  /** ICMP type << 8 | code; 0 for other protocols. */
  icmpTypeCode?: number;
  packetDeltaCount: number;
  octetDeltaCount: number;
  /** Milliseconds since the Unix epoch. */
  flowStartMilliseconds: number;
  flowEndMilliseconds: number;
  flowEndReason: number;
}

/** The template set announcing all three templates. */
export function ipfixTemplateSet(): Buffer {
  const layers = Object.keys(TEMPLATE_FIELDS) as IpfixLayer[];
  const len = SET_HEADER_LEN + layers.reduce((n, l) => n + 4 + 4 * TEMPLATE_FIELDS[l].length, 0);
  const buf = Buffer.alloc(len);
  buf.writeUInt16BE(TEMPLATE_SET_ID, 0);
  buf.writeUInt16BE(len, 2);
  let at = SET_HEADER_LEN;
  for (const l of layers) {
    buf.writeUInt16BE(IPFIX_TEMPLATE_ID[l], at);
    buf.writeUInt16BE(TEMPLATE_FIELDS[l].length, at + 2);
    at += 4;
    for (const f of TEMPLATE_FIELDS[l]) {
      buf.writeUInt16BE(IE[f][0], at);
      buf.writeUInt16BE(IE[f][1], at + 2);
      at += 4;
    }
  }
  return buf;
}

/** A data set of `records`, all of one layer. */
export function ipfixDataSet(layer: IpfixLayer, records: readonly IpfixRecord[]): Buffer {
  const size = recordLen(layer);
  const buf = Buffer.alloc(SET_HEADER_LEN + size * records.length);
  buf.writeUInt16BE(IPFIX_TEMPLATE_ID[layer], 0);
  buf.writeUInt16BE(buf.length, 2);
  records.forEach((r, i) => {
    if (r.layer !== layer) throw new Error(`an ${r.layer} record cannot go in a data set of ${layer} records`);
    let at = SET_HEADER_LEN + i * size;
    for (const f of TEMPLATE_FIELDS[layer]) {
      writeField(buf, at, f, r);
      at += IE[f][1];
    }
  });
  return buf;
}

/** Bytes a data record of `layer` takes (for sizing messages). */
export function ipfixRecordSize(layer: IpfixLayer): number {
  return recordLen(layer);
}

export const IPFIX_MESSAGE_OVERHEAD = IPFIX_HEADER_LEN + SET_HEADER_LEN;

function writeField(buf: Buffer, at: number, f: IeName, r: IpfixRecord): void {
  switch (f) {
    case 'sourceMacAddress':
      r.sourceMacAddress.copy(buf, at, 0, 6);
      return;
    case 'destinationMacAddress':
      r.destinationMacAddress.copy(buf, at, 0, 6);
      return;
    case 'sourceIPv4Address':
    case 'sourceIPv6Address':
      r.sourceAddress?.copy(buf, at);
      return;
    case 'destinationIPv4Address':
    case 'destinationIPv6Address':
      r.destinationAddress?.copy(buf, at);
      return;
    case 'icmpTypeCodeIPv4':
    case 'icmpTypeCodeIPv6':
      buf.writeUInt16BE(r.icmpTypeCode ?? 0, at);
      return;
    case 'packetDeltaCount':
    case 'octetDeltaCount':
    case 'flowStartMilliseconds':
    case 'flowEndMilliseconds':
      buf.writeBigUInt64BE(BigInt(Math.max(0, Math.round(r[f]))), at);
      return;
    default: {
      const v = r[f] ?? 0;
      const len = IE[f][1];
      if (len === 1) buf.writeUInt8(v & 0xff, at);
      else if (len === 2) buf.writeUInt16BE(v & 0xffff, at);
      else buf.writeUInt32BE(v >>> 0, at);
    }
  }
}

export interface IpfixHeader {
  /** Seconds since the Unix epoch. */
  exportTime: number;
  /** Data records sent before this message in this observation domain (mod 2^32). */
  sequence: number;
  observationDomainId: number;
}

/** A message of `sets` (template and data sets, each encoded already). */
export function ipfixMessage(header: IpfixHeader, sets: readonly Buffer[]): Buffer {
  const body = Buffer.concat(sets);
  const buf = Buffer.alloc(IPFIX_HEADER_LEN + body.length);
  buf.writeUInt16BE(IPFIX_VERSION, 0);
  buf.writeUInt16BE(buf.length, 2);
  buf.writeUInt32BE(header.exportTime >>> 0, 4);
  buf.writeUInt32BE(header.sequence >>> 0, 8);
  buf.writeUInt32BE(header.observationDomainId >>> 0, 12);
  body.copy(buf, IPFIX_HEADER_LEN);
  return buf;
}
