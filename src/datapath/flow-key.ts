// The datapath flow key and mask as TypeScript sees them, over their binary
// layout (the Rust `FlowKey` in native/src/flow/key.rs, byte for byte; the
// table of fields, KEY_FIELDS, is in abi.ts).
//
// Layout rules: in_port and recirc_id are little-endian u32; every other field is
// network-order bytes. A mask has the same shape: a set bit means "must match".
// Fields of protocols that never occur together share bytes (ARP sip/tip are
// ipv4.src/dst, ARP sha/tha sit in ipv6.src, IPv6 proto/tclass/hlimit are
// ipv4.proto/tos/ttl, and an IPv6 neighbor solicitation/advertisement keeps
// OVS's nd_ext fields, its reserved word and first option type, in the
// ipv4.src bytes and the first ipv4.dst byte, which every other IPv6 frame
// has zero); KEY_FIELDS lists these aliases too.

import { formatIpv4, formatIpv6, formatMac, parseIpv4, parseIpv6, parseMac } from '../lib/addr.js';
import { FLOW_KEY_LEN, KEY_FIELDS } from './abi.js';

export { FLOW_KEY_LEN, KEY_FIELDS as FIELDS };

/** How a field's bytes are read and written. */
export type FieldKind = 'u32le' | 'uint' | 'u64' | 'mac' | 'ipv4' | 'ipv6';

export type FieldName = (typeof KEY_FIELDS)[number][0];

/** Integers for numeric fields (bigint for tunnel.tun_id and tunnel.geneve.data), text for addresses. */
export type FieldValue = number | bigint | string;

/** A flow key or a mask: absent fields are zero (in a mask: wildcarded). */
export type FlowKey = { [K in FieldName]?: FieldValue };
export type FlowMask = FlowKey;

/** VLAN TCI bit meaning "a tag is present" (OVS's VLAN_CFI). */
export const TCI_PRESENT = 0x1000;
/** Tunnel flags (OVS's FLOW_TNL_F_*), in tunnel.flags and set(tunnel(...)). */
export const TUNNEL_FLAGS = { df: 0x1, csum: 0x2, key: 0x4, oam: 0x8 } as const;
/** ODP frag values. */
export const FRAG = { no: 0, first: 1, later: 2 } as const;

const FIELD_BY_NAME = new Map<string, readonly [string, number, number]>(KEY_FIELDS.map((f) => [f[0], f]));

/** Where field `name` lies in the key's bytes: [offset, length]. */
export function fieldSpan(name: FieldName): readonly [number, number] {
  const [, off, len] = FIELD_BY_NAME.get(name)!;
  return [off, len];
}

export function fieldKind(name: FieldName): FieldKind {
  if (name === 'in_port' || name === 'recirc_id') return 'u32le';
  if (name === 'tunnel.tun_id' || name === 'tunnel.geneve.data') return 'u64';
  if (name === 'eth.src' || name === 'eth.dst' || name === 'arp.sha' || name === 'arp.tha' || name === 'nd.sll' || name === 'nd.tll') return 'mac';
  if (name === 'tunnel.src' || name === 'tunnel.dst' || name === 'ipv4.src' || name === 'ipv4.dst' || name === 'arp.sip' || name === 'arp.tip') return 'ipv4';
  if (name === 'ipv6.src' || name === 'ipv6.dst' || name === 'nd.target' || name === 'tunnel.ipv6_src' || name === 'tunnel.ipv6_dst') return 'ipv6';
  return 'uint';
}

function writeField(buf: Buffer, name: FieldName, v: FieldValue): void {
  const [, off, len] = FIELD_BY_NAME.get(name)!;
  const kind = fieldKind(name);
  switch (kind) {
    case 'u32le':
      buf.writeUInt32LE(Number(v) >>> 0, off);
      return;
    case 'u64':
      buf.writeBigUInt64BE(BigInt.asUintN(64, BigInt(v)), off);
      return;
    case 'mac':
    case 'ipv4':
    case 'ipv6': {
      const b = kind === 'mac' ? parseMac(String(v)) : kind === 'ipv4' ? parseIpv4(String(v)) : parseIpv6(String(v));
      b.copy(buf, off);
      return;
    }
    case 'uint': {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n >= 2 ** (8 * len)) {
        throw new Error(`${name}: ${String(v)} does not fit in ${len} byte(s)`);
      }
      buf.writeUIntBE(n, off, len);
    }
  }
}

function readField(buf: Buffer, name: FieldName): FieldValue {
  const [, off, len] = FIELD_BY_NAME.get(name)!;
  switch (fieldKind(name)) {
    case 'u32le':
      return buf.readUInt32LE(off);
    case 'u64':
      return buf.readBigUInt64BE(off);
    case 'mac':
      return formatMac(buf, off);
    case 'ipv4':
      return formatIpv4(buf, off);
    case 'ipv6':
      return formatIpv6(buf, off);
    case 'uint':
      return buf.readUIntBE(off, len);
  }
}

/** Encode a key or mask into the Rust FlowKey's 152 bytes. */
export function encodeKey(key: FlowKey): Buffer {
  const buf = Buffer.alloc(FLOW_KEY_LEN);
  for (const [name, v] of Object.entries(key) as [FieldName, FieldValue | undefined][]) {
    if (v === undefined) continue;
    if (!FIELD_BY_NAME.has(name)) throw new Error(`unknown flow key field "${name}"`);
    writeField(buf, name, v);
  }
  return buf;
}

/** Fields a decoder reports for each L3 protocol (aliases resolved by eth_type). */
const COMMON: FieldName[] = ['in_port', 'recirc_id', 'tunnel.tun_id', 'tunnel.src', 'tunnel.dst', 'tunnel.ipv6_src', 'tunnel.ipv6_dst', 'tunnel.flags', 'tunnel.tos', 'tunnel.ttl', 'tunnel.tp_src', 'tunnel.tp_dst', 'tunnel.geneve.class', 'tunnel.geneve.type', 'tunnel.geneve.len', 'tunnel.geneve.data', 'eth.dst', 'eth.src', 'eth_type', 'vlan.tci', 'vlan.tpid', 'cvlan.tci', 'cvlan.tpid'];
const L3: Record<string, FieldName[]> = {
  ipv4: ['ipv4.src', 'ipv4.dst', 'ipv4.proto', 'ipv4.tos', 'ipv4.ttl', 'ipv4.frag', 'tcp_flags', 'tcp.src', 'tcp.dst', 'icmp.type', 'icmp.code'],
  ipv6: ['ipv6.src', 'ipv6.dst', 'ipv6.label', 'ipv6.proto', 'ipv6.tclass', 'ipv6.hlimit', 'ipv6.frag', 'tcp_flags', 'tcp.src', 'tcp.dst', 'icmpv6.type', 'icmpv6.code', 'nd.target', 'nd.sll', 'nd.tll', 'nd_ext.nd_reserved', 'nd_ext.nd_options_type'],
  arp: ['arp.sip', 'arp.tip', 'arp.op', 'arp.sha', 'arp.tha'],
};

/**
 * Decode 152 bytes into a key/mask, listing only non-zero fields. Shared bytes
 * are named after the protocol `ethType` says (default: the buffer's own eth_type);
 * L4 ports are reported as tcp.src/tcp.dst.
 */
export function decodeKey(buf: Buffer, ethType?: number): FlowKey {
  if (buf.length !== FLOW_KEY_LEN) throw new Error(`a flow key is ${FLOW_KEY_LEN} bytes, got ${buf.length}`);
  const et = ethType ?? buf.readUInt16BE(36);
  const fields = et === 0x0800 ? DECODE_IPV4 : et === 0x86dd ? DECODE_IPV6 : et === 0x0806 || et === 0x8035 ? DECODE_ARP : DECODE_L2;
  const out: FlowKey = {};
  for (const [name, off, len] of fields) {
    let set = false;
    for (let i = off; i < off + len && !set; i++) set = buf[i] !== 0;
    if (set) out[name] = readField(buf, name);
  }
  return out;
}

/** [name, offset, length] of the fields decodeKey reports, by L3 protocol. */
const decodeList = (names: FieldName[]) => names.map((n) => FIELD_BY_NAME.get(n)! as readonly [FieldName, number, number]);
const DECODE_L2 = decodeList(COMMON);
const DECODE_IPV4 = decodeList([...COMMON, ...L3.ipv4!]);
const DECODE_IPV6 = decodeList([...COMMON, ...L3.ipv6!]);
const DECODE_ARP = decodeList([...COMMON, ...L3.arp!]);

/** A mask with every bit of the named fields set. */
export function exactMask(names: FieldName[]): FlowMask {
  const m: FlowMask = {};
  for (const n of names) m[n] = fullValue(n);
  return m;
}

/** The all-ones value of a field, in its natural representation. */
export function fullValue(name: FieldName): FieldValue {
  const [, , len] = FIELD_BY_NAME.get(name)!;
  switch (fieldKind(name)) {
    case 'u32le':
      return 0xffffffff;
    case 'u64':
      return 0xffffffffffffffffn;
    case 'mac':
      return 'ff:ff:ff:ff:ff:ff';
    case 'ipv4':
      return '255.255.255.255';
    case 'ipv6':
      return 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff';
    case 'uint':
      return 2 ** (8 * len) - 1;
  }
}
