// Datapath actions as TypeScript builds them, and their TLV encoding for the
// addon (native/src/flow/actions.rs documents the format; its codes and
// sizes are in abi.ts): each action is u16 type, u16 payload length
// (little-endian), payload, zero padding to 8 bytes.

import { formatIpv4, formatIpv6, formatMac, parseIpv4, parseIpv6, parseMac } from '../lib/addr.js';
import { hex } from '../lib/uint.js';
import { ACTION_ALIGN, ACTION_HEADER_LEN, ACTION_TYPE, SET_FIELDS, SET_FLAG_CONTINUES, SET_FLAG_MASKED, SET_TUNNEL_FIXED_LEN } from './abi.js';
import type { FieldValue } from './flow-key.js';

export type SetProto = 'eth' | 'ipv4' | 'ipv6' | 'tcp' | 'udp' | 'icmp' | 'icmpv6' | 'arp' | 'nd' | 'nd_ext';

/** One field written by a set action; `mask` absent means all ones. */
export interface SetFieldValue {
  field: string; // e.g. "src", "dst", "tos", "ttl", "tclass", "hlimit", "target", "tll"
  value: FieldValue;
  mask?: FieldValue;
}

/** One Geneve option (RFC 8926): class, type (0x80 and up: critical) and data, a multiple of 4 bytes. */
export interface GeneveOption {
  optClass: number;
  type: number;
  data: Buffer;
}

/**
 * The metadata of `set(tunnel(...))`, with which a following output to a
 * tunnel vport encapsulates the frame (IPv4 underlay).
 */
export interface TunnelSet {
  /** VNI (VXLAN, Geneve) or GRE key; sent only with the key flag for GRE. */
  tunId: bigint;
  /** Outer source; 0.0.0.0 lets the host pick it by route. */
  src: string;
  dst: string;
  tos: number;
  /** 0: the host's default TTL. */
  ttl: number;
  /** Outer UDP source port; 0: from the inner flow's hash. */
  tpSrc: number;
  /** Outer UDP destination port; 0: the vport's own. */
  tpDst: number;
  /** TUNNEL_FLAGS bits (flow-key.ts). */
  flags: number;
  geneve: GeneveOption[];
}

export type Action =
  | { type: 'output'; port: number }
  | { type: 'userspace'; pid: number; userdata?: Buffer; detail?: string }
  | { type: 'push_vlan'; tpid: number; tci: number }
  | { type: 'pop_vlan' }
  | { type: 'set'; proto: SetProto; masked: boolean; fields: SetFieldValue[] }
  /** Meter the frame with datapath meter `id`: over a drop band's rate, the rest of the list is skipped. */
  | { type: 'meter'; id: number }
  | { type: 'set_tunnel'; tunnel: TunnelSet }
  /**
   * Run `actions` on the frames chosen with `probability` (a fraction of 0xffffffff: 0 never,
   * 0xffffffff always), on a copy when they change the frame (OVS's sample action).
   */
  | { type: 'sample'; probability: number; actions: Action[] };

/** The largest sample probability: every frame. */
export const SAMPLE_ALWAYS = 0xffffffff;

const SET_BY_ID = new Map(Object.entries(SET_FIELDS).map(([name, f]) => [f.id, { name, ...f }]));

function valueBytes(kind: string, len: number, v: FieldValue): Buffer {
  if (kind === 'mac') return parseMac(String(v));
  if (kind === 'ipv4') return parseIpv4(String(v));
  if (kind === 'ipv6') return parseIpv6(String(v));
  const b = Buffer.alloc(len);
  b.writeUIntBE(Number(v), 0, len);
  return b;
}

function bytesValue(kind: string, b: Buffer): FieldValue {
  if (kind === 'mac') return formatMac(b);
  if (kind === 'ipv4') return formatIpv4(b);
  if (kind === 'ipv6') return formatIpv6(b);
  return b.readUIntBE(0, b.length);
}

/** Bytes a TLV of `payloadLen` takes, padding included. */
const tlvLen = (payloadLen: number) => Math.ceil((ACTION_HEADER_LEN + payloadLen) / ACTION_ALIGN) * ACTION_ALIGN;

function tlv(type: number, payload: Buffer): Buffer {
  const b = Buffer.alloc(tlvLen(payload.length));
  b.writeUInt16LE(type, 0);
  b.writeUInt16LE(payload.length, 2);
  payload.copy(b, ACTION_HEADER_LEN);
  return b;
}

/** Encode an action list for the addon (an empty list is drop). */
export function encodeActions(actions: Action[]): Buffer {
  if (actions.every((a) => a.type === 'output')) return encodeOutputs(actions);
  const parts: Buffer[] = [];
  for (const a of actions) {
    switch (a.type) {
      case 'output': {
        const p = Buffer.alloc(4);
        p.writeUInt32LE(a.port);
        parts.push(tlv(ACTION_TYPE.output, p));
        break;
      }
      case 'userspace': {
        const p = Buffer.alloc(8);
        p.writeUInt32LE(a.pid);
        parts.push(tlv(ACTION_TYPE.userspace, Buffer.concat([p, a.userdata ?? Buffer.alloc(0)])));
        break;
      }
      case 'push_vlan': {
        const p = Buffer.alloc(4);
        p.writeUInt16BE(a.tpid, 0);
        p.writeUInt16BE(a.tci, 2);
        parts.push(tlv(ACTION_TYPE.push_vlan, p));
        break;
      }
      case 'pop_vlan':
        parts.push(tlv(ACTION_TYPE.pop_vlan, Buffer.alloc(0)));
        break;
      case 'set':
        a.fields.forEach((f, i) => {
          const name = `${a.proto}.${f.field}`;
          const spec = SET_FIELDS[name];
          if (!spec) throw new Error(`set action: the datapath cannot set ${name}`);
          const h = Buffer.alloc(4);
          h.writeUInt16LE(spec.id, 0);
          h.writeUInt16LE((a.masked ? SET_FLAG_MASKED : 0) | (i > 0 ? SET_FLAG_CONTINUES : 0), 2);
          const value = valueBytes(spec.kind, spec.len, f.value);
          const mask = f.mask === undefined ? Buffer.alloc(spec.len, 0xff) : valueBytes(spec.kind, spec.len, f.mask);
          const masked = Buffer.from(value.map((x, j) => x & mask[j]!));
          parts.push(tlv(ACTION_TYPE.set, Buffer.concat([h, masked, mask])));
        });
        break;
      case 'set_tunnel':
        parts.push(tlv(ACTION_TYPE.set_tunnel, encodeTunnelSet(a.tunnel)));
        break;
      case 'meter': {
        const p = Buffer.alloc(4);
        p.writeUInt32LE(a.id);
        parts.push(tlv(ACTION_TYPE.meter, p));
        break;
      }
      case 'sample': {
        const p = Buffer.alloc(4);
        p.writeUInt32LE(a.probability);
        parts.push(tlv(ACTION_TYPE.sample, Buffer.concat([p, encodeActions(a.actions)])));
        break;
      }
    }
  }
  return Buffer.concat(parts);
}

/**
 * The set_tunnel payload: be64 tun_id, src, dst, be16 flags, tos, ttl, be16
 * tp_src, be16 tp_dst, then the Geneve options as on the wire.
 */
function encodeTunnelSet(t: TunnelSet): Buffer {
  const p = Buffer.alloc(SET_TUNNEL_FIXED_LEN);
  p.writeBigUInt64BE(BigInt.asUintN(64, t.tunId), 0);
  parseIpv4(t.src).copy(p, 8);
  parseIpv4(t.dst).copy(p, 12);
  p.writeUInt16BE(t.flags, 16);
  p[18] = t.tos;
  p[19] = t.ttl;
  p.writeUInt16BE(t.tpSrc, 20);
  p.writeUInt16BE(t.tpDst, 22);
  const opts = t.geneve.map((o) => {
    if (o.data.length % 4 !== 0 || o.data.length > 124) throw new Error(`geneve option class ${hex(o.optClass)} type ${hex(o.type)}: its data is ${o.data.length} bytes; it must be a multiple of 4, at most 124`);
    const h = Buffer.alloc(4);
    h.writeUInt16BE(o.optClass, 0);
    h[2] = o.type;
    h[3] = o.data.length / 4;
    return Buffer.concat([h, o.data]);
  });
  return Buffer.concat([p, ...opts]);
}

function decodeTunnelSet(p: Buffer): TunnelSet {
  const geneve: GeneveOption[] = [];
  for (let at = SET_TUNNEL_FIXED_LEN; at + 4 <= p.length; ) {
    const len = (p[at + 3]! & 0x1f) * 4;
    geneve.push({ optClass: p.readUInt16BE(at), type: p[at + 2]!, data: Buffer.from(p.subarray(at + 4, at + 4 + len)) });
    at += 4 + len;
  }
  return {
    tunId: p.readBigUInt64BE(0),
    src: formatIpv4(p.subarray(8, 12)),
    dst: formatIpv4(p.subarray(12, 16)),
    flags: p.readUInt16BE(16),
    tos: p[18]!,
    ttl: p[19]!,
    tpSrc: p.readUInt16BE(20),
    tpDst: p.readUInt16BE(22),
    geneve,
  };
}

/** An output TLV: its header and a u32 port, which need no padding. */
const OUTPUT_TLV_LEN = tlvLen(4);

/**
 * A list of outputs only (forwarding, flooding: nearly every flow), written
 * in one buffer: each is the TLV `tlv` makes.
 */
function encodeOutputs(outputs: Extract<Action, { type: 'output' }>[]): Buffer {
  const b = Buffer.alloc(OUTPUT_TLV_LEN * outputs.length);
  outputs.forEach((a, i) => {
    const at = OUTPUT_TLV_LEN * i;
    b.writeUInt16LE(ACTION_TYPE.output, at);
    b.writeUInt16LE(4, at + 2);
    b.writeUInt32LE(a.port, at + ACTION_HEADER_LEN);
  });
  return b;
}

/** Decode an encoded list back into actions (userspace `detail` is text-only and not kept). */
export function decodeActions(buf: Buffer): Action[] {
  const out: Action[] = [];
  let off = 0;
  while (off < buf.length) {
    if (off + ACTION_HEADER_LEN > buf.length) throw new Error(`action list truncated: an action header at byte ${off} needs 4 bytes`);
    const type = buf.readUInt16LE(off);
    const len = buf.readUInt16LE(off + 2);
    if (off + ACTION_HEADER_LEN + len > buf.length) throw new Error(`action at byte ${off}: its ${len}-byte payload runs past the end of the list`);
    const p = buf.subarray(off + ACTION_HEADER_LEN, off + ACTION_HEADER_LEN + len);
    switch (type) {
      case ACTION_TYPE.output:
        out.push({ type: 'output', port: p.readUInt32LE(0) });
        break;
      case ACTION_TYPE.userspace: {
        const a: Action = { type: 'userspace', pid: p.readUInt32LE(0) };
        if (p.length > 8) a.userdata = Buffer.from(p.subarray(8));
        out.push(a);
        break;
      }
      case ACTION_TYPE.push_vlan:
        out.push({ type: 'push_vlan', tpid: p.readUInt16BE(0), tci: p.readUInt16BE(2) });
        break;
      case ACTION_TYPE.pop_vlan:
        out.push({ type: 'pop_vlan' });
        break;
      case ACTION_TYPE.set: {
        const spec = SET_BY_ID.get(p.readUInt16LE(0));
        if (!spec) throw new Error(`set action: unknown field id ${p.readUInt16LE(0)}`);
        const flags = p.readUInt16LE(2);
        const [proto, field] = spec.name.split('.') as [SetProto, string];
        const value = bytesValue(spec.kind, p.subarray(4, 4 + spec.len));
        const maskBytes = p.subarray(4 + spec.len, 4 + 2 * spec.len);
        const f: SetFieldValue = { field, value };
        if (!maskBytes.every((x) => x === 0xff)) f.mask = bytesValue(spec.kind, maskBytes);
        const prev = out[out.length - 1];
        if (flags & SET_FLAG_CONTINUES && prev?.type === 'set' && prev.proto === proto) prev.fields.push(f);
        else out.push({ type: 'set', proto, masked: (flags & SET_FLAG_MASKED) !== 0, fields: [f] });
        break;
      }
      case ACTION_TYPE.set_tunnel:
        out.push({ type: 'set_tunnel', tunnel: decodeTunnelSet(p) });
        break;
      case ACTION_TYPE.meter:
        out.push({ type: 'meter', id: p.readUInt32LE(0) });
        break;
      case ACTION_TYPE.sample:
        out.push({ type: 'sample', probability: p.readUInt32LE(0), actions: decodeActions(p.subarray(4)) });
        break;
      default:
        throw new Error(`unknown action type ${type} at byte ${off}`);
    }
    off += tlvLen(len);
  }
  return out;
}
