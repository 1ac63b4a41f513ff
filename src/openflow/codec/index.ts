/**
 * The OpenFlow codec: one `OfMessage` to the wire messages of a session's version, and one framed
 * wire message back.
 *
 * This module owns the framing: the OpenFlow header, the message type numbers of each version
 * (OpenFlow 1.0 numbers differ from 1.1+, and 1.3 renamed stats to multipart), the Nicira vendor
 * header (vendor 0x00002320 and a subtype), the multipart header and the splitting of long
 * replies into OFPMPF_REPLY_MORE parts. Message bodies that carry matches and actions come from
 * ./flow-messages.ts, multipart bodies from ./multipart.ts, ports from ./ports.ts.
 *
 * Decoding never throws anything but OfDecodeError, whose name is the error OVS answers with.
 */
import { OFPG, OFPP } from '../../ofproto/actions.js';
import { Match } from '../../ofproto/match.js';
import {
  OFP10,
  OFP11,
  OFP12,
  OFP13,
  OFP14,
  SUPPORTED_VERSIONS,
  ASYNC_KINDS,
  type AsyncConfigChange,
  type ControllerRole,
  type RoleStatusReason,
  type FlowFormat,
  type MessageOf,
  type MultipartRequest,
  type OfMessage,
  type PacketInFormat,
  type Session,
} from '../messages.js';
import { OfDecodeError, OfEncodeError, OfReader, OfWriter } from './buffer.js';
import {
  decodeBundleAdd,
  decodeBundleControl,
  encodeBundleAdd,
  encodeBundleControl,
  OFPT14_BUNDLE_ADD_MESSAGE,
  OFPT14_BUNDLE_CONTROL,
  ONF_VENDOR_ID,
  ONFT_BUNDLE_ADD_MESSAGE,
  ONFT_BUNDLE_CONTROL,
} from './bundle.js';
import { errorName, errorNumbers, type WireError } from './errors.js';
import {
  decodeFlowMod,
  decodeFlowRemoved,
  decodeGroupMod,
  decodeMeterMod,
  decodePacketIn,
  decodePacketOut,
  encodeFlowMod,
  encodeFlowRemoved,
  encodeGroupMod,
  encodeMeterMod,
  encodePacketIn,
  encodePacketOut,
  type BodyWire,
} from './flow-messages.js';
import { ONFT_FLOW_MONITOR_CANCEL, ONFT_FLOW_MONITOR_PAUSED, ONFT_FLOW_MONITOR_RESUMED } from './monitor.js';
import { decodeReplyBody, decodeRequestBody, encodeReplyEntries, encodeRequestBody, flowWire, statKind, statNumber, type StatNumber } from './multipart.js';
import { readPort, readPortDesc, writePort, writePortDesc } from './ports.js';
import { decodeTlvTableMod, decodeTlvTableReply, encodeTlvTableMod, encodeTlvTableReply } from './tlv-table.js';
import { TUN_METADATA_FIELDS } from '../../ofproto/tun-metadata.js';
import { readQueueConfigs, writeQueueConfigs } from './queues.js';
import { applyAsyncChange, asyncProperties, noAsync, readAsyncMasks, readAsyncProperties, writeAsyncMasks } from './async-config.js';

export const OFP_HEADER_LEN = 8;
/** The largest OpenFlow message: its length is 16 bits. */
const OFP_MAX_MSG_LEN = 0xffff;
const NX_VENDOR_ID = 0x00002320;
/** OFPT_VENDOR (1.0) / OFPT_EXPERIMENTER (1.1+), and the multipart type of vendor statistics. */
const OFPT_VENDOR = 4;
const OFPST_VENDOR = 0xffff;
const OFPMPF_MORE = 1;
/** OFPTT_ALL: every table. */
const ALL_TABLES = 0xff;
/** OFPHET_VERSIONBITMAP, the hello element that lists the versions a peer supports. */
const OFPHET_VERSIONBITMAP = 1;
/** The largest number the header's one-byte version field can hold. */
const MAX_OF_VERSION_NUMBER = 0xff;

export { OfEncodeError };

type SimpleType = Exclude<OfMessage['type'], 'hello' | 'multipart_request' | 'multipart_reply' | 'bundle_add'>;

/** OFPT_* numbers of OpenFlow 1.0. */
const OFPT10: Partial<Record<SimpleType, number>> = {
  error: 1, echo_request: 2, echo_reply: 3, features_request: 5, features_reply: 6, get_config_request: 7,
  get_config_reply: 8, set_config: 9, packet_in: 10, flow_removed: 11, port_status: 12, packet_out: 13,
  flow_mod: 14, port_mod: 15, barrier_request: 18, barrier_reply: 19, queue_get_config_request: 20, queue_get_config_reply: 21,
};
const OFPT10_STATS_REQUEST = 16;
const OFPT10_STATS_REPLY = 17;

/** OFPT_* numbers of OpenFlow 1.1+, with the first version each exists in. */
const OFPT11: Partial<Record<SimpleType, [number, number]>> = {
  error: [1, OFP11], echo_request: [2, OFP11], echo_reply: [3, OFP11], features_request: [5, OFP11],
  features_reply: [6, OFP11], get_config_request: [7, OFP11], get_config_reply: [8, OFP11], set_config: [9, OFP11],
  packet_in: [10, OFP11], flow_removed: [11, OFP11], port_status: [12, OFP11], packet_out: [13, OFP11],
  flow_mod: [14, OFP11], group_mod: [15, OFP11], port_mod: [16, OFP11], table_mod: [17, OFP11],
  barrier_request: [20, OFP11], barrier_reply: [21, OFP11], role_request: [24, OFP12], role_reply: [25, OFP12],
  get_async_request: [26, OFP13], get_async_reply: [27, OFP13], set_async: [28, OFP13], meter_mod: [29, OFP13],
  role_status: [30, OFP14], queue_get_config_request: [22, OFP11], queue_get_config_reply: [23, OFP11],
};
const OFPT11_MULTIPART_REQUEST = 18;
const OFPT11_MULTIPART_REPLY = 19;

/** Nicira vendor message subtypes (NXT_*). */
const NXT = {
  role_request: 10,
  role_reply: 11,
  set_flow_format: 12,
  flow_mod: 13,
  flow_removed: 14,
  flow_mod_table_id: 15,
  set_packet_in_format: 16,
  packet_in: 17,
  set_async_config: 19,
  set_async_config2: 27,
  set_controller_id: 20,
  flow_monitor_cancel: 21,
  flow_monitor_paused: 22,
  flow_monitor_resumed: 23,
  resume: 28,
  tlv_table_mod: 24,
  tlv_table_request: 25,
  tlv_table_reply: 26,
  packet_in2: 30,
  group_mod: 31,
} as const;

/** Where a message goes on the wire: a standard type number, a Nicira subtype or an ONF experimenter type. */
type Wire = { ofpt: number } | { nxt: number } | { onf: number };

// ---- header ----

/**
 * One message in one buffer of its exact size: the header, `words` (32-bit: a vendor id and
 * subtype), then `bodies`. Each byte is copied once, however many parts the body came in.
 */
function frame(version: number, type: number, xid: number, bodies: readonly Buffer[], words: readonly number[] = []): Buffer {
  let length = OFP_HEADER_LEN + 4 * words.length;
  for (const b of bodies) length += b.length;
  if (length > OFP_MAX_MSG_LEN) throw new OfEncodeError(`an OpenFlow message of ${length} bytes exceeds the 65535-byte limit`);
  // Every byte is written below.
  const buf = Buffer.allocUnsafe(length);
  buf.writeUInt8(version, 0);
  buf.writeUInt8(type, 1);
  buf.writeUInt16BE(length, 2);
  buf.writeUInt32BE(xid >>> 0, 4);
  let at = OFP_HEADER_LEN;
  for (const word of words) at = buf.writeUInt32BE(word >>> 0, at);
  for (const b of bodies) at += b.copy(buf, at);
  return buf;
}

function frameWire(version: number, wire: Wire, xid: number, body: Buffer): Buffer {
  if ('ofpt' in wire) return frame(version, wire.ofpt, xid, [body]);
  return frame(version, OFPT_VENDOR, xid, [body], 'onf' in wire ? [ONF_VENDOR_ID, wire.onf] : [NX_VENDOR_ID, wire.nxt]);
}

function versionName(v: number): string {
  return `OpenFlow 1.${v - 1}`;
}

function standardType(type: SimpleType, version: number): number | undefined {
  if (version === OFP10) return OFPT10[type];
  const entry = OFPT11[type];
  return entry && version >= entry[1] ? entry[0] : undefined;
}

function unsupported(msg: OfMessage, s: Session): never {
  throw new OfEncodeError(`${msg.type} cannot be sent in ${versionName(s.version)}`);
}

// ---- encoding ----

/**
 * The wire messages for `msg` in the session's version and formats: one buffer, or for a multipart
 * reply as many OFPMPF_REPLY_MORE parts as its entries need to stay under 64 KiB each.
 */
export function encodeMessage(msg: OfMessage, s: Session, xid: number): Buffer[] {
  const asMultipart = s.version >= OFP14 ? flowMonitorMultipart(msg) : undefined;
  if (asMultipart) return encodeMessage(asMultipart, s, xid);
  switch (msg.type) {
    case 'hello':
      if (msg.versions.length === 0) throw new OfEncodeError('a hello must offer at least one version');
      return [frame(Math.max(...msg.versions), 0, xid, [helloBody(msg.versions)])];
    case 'multipart_request':
      return [encodeMultipart(statNumberOrThrow(msg.request.kind, s), s, xid, true, [encodeRequestBody(msg.request, s)])];
    case 'multipart_reply':
      return encodeMultipartReply(msg.reply, s, xid, msg.more ?? false);
    case 'bundle_add': {
      // The bundled message carries the bundle_add's own xid.
      const [inner, ...more] = encodeMessage(msg.msg, s, xid);
      if (!inner || more.length > 0) throw new OfEncodeError(`a ${msg.msg.type} that needs ${1 + more.length} messages cannot be bundled`);
      return [frameWire(s.version, bundleWire(s, OFPT14_BUNDLE_ADD_MESSAGE, ONFT_BUNDLE_ADD_MESSAGE, msg), xid, encodeBundleAdd(msg.bundleId, msg.flags, inner))];
    }
    default: {
      const [wire, body] = encodeSimple(msg, s);
      return [frameWire(s.version, wire, xid, body)];
    }
  }
}

/**
 * OpenFlow 1.4 made a monitor's cancel, pause and resume part of the flow monitor multipart: a
 * request that deletes the monitor, a reply with one PAUSED or RESUMED update.
 */
function flowMonitorMultipart(msg: OfMessage): OfMessage | undefined {
  switch (msg.type) {
    case 'flow_monitor_cancel':
      return { type: 'multipart_request', request: { kind: 'flow_monitor', monitors: [{ id: msg.id, command: 'delete', flags: 0, outPort: OFPP.ANY, outGroup: OFPG.ANY, tableId: ALL_TABLES, match: Match.catchAll() }] } };
    case 'flow_monitor_paused':
    case 'flow_monitor_resumed':
      return { type: 'multipart_reply', reply: { kind: 'flow_monitor', updates: [{ event: msg.type === 'flow_monitor_paused' ? 'paused' : 'resumed' }] } };
    default:
      return undefined;
  }
}

/** Bundles are OpenFlow 1.4's, and OVS's ONF extension on 1.3. */
function bundleWire(s: Session, ofpt: number, onf: number, msg: OfMessage): Wire {
  if (s.version >= OFP14) return { ofpt };
  if (s.version === OFP13) return { onf };
  return unsupported(msg, s);
}

function helloBody(versions: number[]): Buffer {
  const words = Math.floor(Math.max(...versions) / 32) + 1;
  const bitmap = new Array<number>(words).fill(0);
  for (const v of versions) bitmap[v >> 5] = ((bitmap[v >> 5] ?? 0) | (1 << (v & 31))) >>> 0;
  const w = new OfWriter();
  w.u16(OFPHET_VERSIONBITMAP).u16(4 + 4 * words);
  for (const word of bitmap) w.u32(word);
  return w.pad(8).finish();
}

function statNumberOrThrow(kind: MultipartRequest['kind'], s: Session): StatNumber {
  const n = statNumber(kind, s);
  if (!n) throw new OfEncodeError(`${kind} statistics cannot be requested in ${versionName(s.version)}`);
  return n;
}

/** The multipart header (OpenFlow 1.0: type and flags; 1.1+: and 4 bytes of padding), with the Nicira header for NXST. */
function encodeMultipart(n: StatNumber, s: Session, xid: number, request: boolean, bodies: Buffer[], more = false): Buffer {
  const w = new OfWriter();
  w.u16(n.vendor ? OFPST_VENDOR : n.number).u16(more ? OFPMPF_MORE : 0);
  if (s.version !== OFP10) w.zeros(4);
  if (n.vendor) {
    w.u32(n.vendor === 'nicira' ? NX_VENDOR_ID : ONF_VENDOR_ID).u32(n.number);
    if (s.version === OFP10) w.zeros(4);
  }
  const type = s.version === OFP10 ? (request ? OFPT10_STATS_REQUEST : OFPT10_STATS_REPLY) : request ? OFPT11_MULTIPART_REQUEST : OFPT11_MULTIPART_REPLY;
  return frame(s.version, type, xid, [w.finish(), ...bodies]);
}

function multipartHeaderLen(n: StatNumber, s: Session): number {
  return (s.version === OFP10 ? 12 : 16) + (n.vendor ? 8 : 0);
}

function encodeMultipartReply(reply: MessageOf<'multipart_reply'>['reply'], s: Session, xid: number, more: boolean): Buffer[] {
  const n = statNumberOrThrow(reply.kind, s);
  const room = OFP_MAX_MSG_LEN - multipartHeaderLen(n, s);
  const parts: Buffer[][] = [[]];
  let used = 0;
  for (const e of encodeReplyEntries(reply, s)) {
    if (e.length > room) throw new OfEncodeError(`a ${reply.kind} reply entry of ${e.length} bytes does not fit in one message`);
    const current = parts[parts.length - 1] ?? [];
    if (used + e.length > room && current.length > 0) {
      parts.push([e]);
      used = e.length;
    } else {
      current.push(e);
      used += e.length;
    }
  }
  return parts.map((bodies, i) => encodeMultipart(n, s, xid, false, bodies, more || i < parts.length - 1));
}

const ROLES_OF12: ControllerRole[] = ['nochange', 'equal', 'master', 'slave'];
/** NX_ROLE_OTHER is OpenFlow 1.2's EQUAL; there is no "no change". */
const ROLES_NX: ControllerRole[] = ['equal', 'master', 'slave'];
/** OFPCRR_* in wire order. */
const ROLE_STATUS_REASONS: RoleStatusReason[] = ['master_request', 'config', 'experimenter'];
/** ONF's experimenter type for OpenFlow 1.4's role status carried on 1.3. */
const ONFT_ROLE_STATUS = 1911;
const FLOW_FORMATS: Record<FlowFormat, number> = { openflow10: 0, nxm: 2 };
const PACKET_IN_FORMATS: PacketInFormat[] = ['standard', 'nxt_packet_in', 'nxt_packet_in2'];
const PORT_REASONS = ['add', 'delete', 'modify'] as const;

function packetInWire(s: Session): BodyWire | 'nx2' {
  if (s.packetInFormat === 'nxt_packet_in') return 'nx';
  return s.packetInFormat === 'nxt_packet_in2' ? 'nx2' : 'ofp';
}

/** The wire type and body of every message that is one header and one body. */
function encodeSimple(msg: Exclude<OfMessage, { type: 'hello' | 'multipart_request' | 'multipart_reply' | 'bundle_add' }>, s: Session): [Wire, Buffer] {
  const v = s.version;
  const w = new OfWriter();
  const ofpt = (): Wire => {
    const t = standardType(msg.type, v);
    if (t === undefined) unsupported(msg, s);
    return { ofpt: t };
  };
  switch (msg.type) {
    case 'error': {
      const numbers = errorNumbers(msg.name, v) ?? errorNumbers('NXBRC_UNENCODABLE_ERROR', v);
      if (!numbers) throw new OfEncodeError(`error ${msg.name} has no number in ${versionName(v)}`);
      writeErrorNumbers(w, numbers, v);
      w.bytes(msg.data.subarray(0, OFP_MAX_MSG_LEN - OFP_HEADER_LEN - w.length));
      return [ofpt(), w.finish()];
    }
    case 'echo_request':
    case 'echo_reply':
      return [ofpt(), msg.data];
    case 'features_request':
    case 'get_config_request':
    case 'barrier_request':
    case 'barrier_reply':
      return [ofpt(), Buffer.alloc(0)];
    case 'features_reply':
      w.u64(msg.datapathId).u32(msg.nBuffers).u8(msg.nTables).u8(v >= OFP13 ? msg.auxiliaryId : 0).zeros(2);
      w.u32(msg.capabilities).u32(v === OFP10 ? msg.actions : 0);
      if (v < OFP13) for (const p of msg.ports) writePortDesc(w, p, v);
      return [ofpt(), w.finish()];
    case 'get_config_reply':
    case 'set_config':
      w.u16(msg.flags).u16(msg.missSendLen);
      return [ofpt(), w.finish()];
    case 'packet_in': {
      const wire = packetInWire(s);
      const body = encodePacketIn(msg, s, wire);
      if (wire === 'ofp') return [ofpt(), body];
      return [{ nxt: wire === 'nx' ? NXT.packet_in : NXT.packet_in2 }, body];
    }
    case 'packet_out':
      return [ofpt(), encodePacketOut(msg, s)];
    case 'flow_mod': {
      const wire = flowWire(s);
      return [wire === 'nx' ? { nxt: NXT.flow_mod } : ofpt(), encodeFlowMod(msg.mod, s, wire)];
    }
    case 'flow_removed': {
      const wire = flowWire(s);
      return [wire === 'nx' ? { nxt: NXT.flow_removed } : ofpt(), encodeFlowRemoved(msg, s, wire)];
    }
    case 'port_status':
      w.u8(PORT_REASONS.indexOf(msg.reason)).zeros(7);
      writePortDesc(w, msg.desc, v);
      return [ofpt(), w.finish()];
    case 'port_mod':
      writePort(w, msg.portNo, v);
      if (v !== OFP10) w.zeros(4);
      w.u16(Number((msg.hwAddr >> 32n) & 0xffffn)).u32(Number(msg.hwAddr & 0xffffffffn));
      if (v !== OFP10) w.zeros(2);
      w.u32(msg.config).u32(msg.mask);
      // OpenFlow 1.4 moved `advertise` into an Ethernet property.
      if (v >= OFP14) w.u16(0).u16(8).u32(msg.advertise);
      else w.u32(msg.advertise).zeros(4);
      return [ofpt(), w.finish()];
    case 'table_mod':
      w.u8(msg.tableId).zeros(3).u32(msg.config);
      return [ofpt(), w.finish()];
    case 'role_request':
    case 'role_reply':
      if (v >= OFP12) {
        w.u32(ROLES_OF12.indexOf(msg.role)).zeros(4).u64(msg.generationId);
        return [ofpt(), w.finish()];
      }
      if (msg.role === 'nochange') throw new OfEncodeError(`role "nochange" cannot be sent in ${versionName(v)} (NXT_ROLE_REQUEST has no such role)`);
      w.u32(ROLES_NX.indexOf(msg.role));
      return [{ nxt: msg.type === 'role_request' ? NXT.role_request : NXT.role_reply }, w.finish()];
    case 'queue_get_config_request':
    case 'queue_get_config_reply':
      // OpenFlow 1.4 replaced these with the queue_desc multipart.
      if (v >= OFP14) unsupported(msg, s);
      writePort(w, msg.portNo, v);
      w.zeros(msg.type === 'queue_get_config_reply' && v === OFP10 ? 6 : v === OFP10 ? 2 : 4);
      if (msg.type === 'queue_get_config_reply') writeQueueConfigs(w, msg.queues, v);
      return [ofpt(), w.finish()];
    case 'role_status':
      // OVS sends the 1.4 message as ONF's extension on 1.3, and nothing before (ofputil_encode_role_status).
      if (v < OFP13) unsupported(msg, s);
      w.u32(ROLES_OF12.indexOf(msg.role)).u8(ROLE_STATUS_REASONS.indexOf(msg.reason)).zeros(3).u64(msg.generationId);
      return [v === OFP13 ? { onf: ONFT_ROLE_STATUS } : ofpt(), w.finish()];
    case 'get_async_request':
      return [ofpt(), Buffer.alloc(0)];
    case 'get_async_reply':
    case 'set_async':
      if (v >= OFP14) return [ofpt(), asyncProperties(msg.config, v)];
      // Before 1.4, a change of only some masks needs OVS's NXT_SET_ASYNC_CONFIG2, which carries properties.
      if (msg.type === 'set_async' && !setsEveryLegacyMask(msg.config)) return [{ nxt: NXT.set_async_config2 }, asyncProperties(msg.config, v)];
      writeAsyncMasks(w, msg.config, v);
      if (v === OFP13 || msg.type === 'get_async_reply') return [ofpt(), w.finish()];
      return [{ nxt: NXT.set_async_config }, w.finish()];
    case 'group_mod':
      // OpenFlow 1.0 has no groups: OVS carries OpenFlow 1.5's group_mod as NXT_GROUP_MOD.
      return [v === OFP10 ? { nxt: NXT.group_mod } : ofpt(), encodeGroupMod(msg.mod, s)];
    case 'meter_mod':
      return [ofpt(), encodeMeterMod(msg.mod, s)];
    case 'nx_set_flow_format':
      w.u32(FLOW_FORMATS[msg.format]);
      return [{ nxt: NXT.set_flow_format }, w.finish()];
    case 'nx_flow_mod_table_id':
      w.u8(msg.enable ? 1 : 0).zeros(7);
      return [{ nxt: NXT.flow_mod_table_id }, w.finish()];
    case 'nx_set_packet_in_format':
      w.u32(PACKET_IN_FORMATS.indexOf(msg.format));
      return [{ nxt: NXT.set_packet_in_format }, w.finish()];
    case 'nx_set_controller_id':
      w.zeros(6).u16(msg.controllerId);
      return [{ nxt: NXT.set_controller_id }, w.finish()];
    case 'nx_resume':
      return [{ nxt: NXT.resume }, encodePacketIn(msg.packetIn, s, 'nx2')];
    case 'nx_tlv_table_mod':
      return [{ nxt: NXT.tlv_table_mod }, encodeTlvTableMod(msg)];
    case 'nx_tlv_table_request':
      return [{ nxt: NXT.tlv_table_request }, Buffer.alloc(0)];
    case 'nx_tlv_table_reply':
      return [{ nxt: NXT.tlv_table_reply }, encodeTlvTableReply(msg)];
    case 'bundle_control':
      return [bundleWire(s, OFPT14_BUNDLE_CONTROL, ONFT_BUNDLE_CONTROL, msg), encodeBundleControl(msg)];
    // Flow monitor messages are Nicira's on OpenFlow 1.0-1.2 and ONF's on 1.3 (1.4+: see encodeMessage).
    case 'flow_monitor_cancel':
      w.u32(msg.id);
      return [v === OFP13 ? { onf: ONFT_FLOW_MONITOR_CANCEL } : { nxt: NXT.flow_monitor_cancel }, w.finish()];
    case 'flow_monitor_paused':
      return [v === OFP13 ? { onf: ONFT_FLOW_MONITOR_PAUSED } : { nxt: NXT.flow_monitor_paused }, Buffer.alloc(0)];
    case 'flow_monitor_resumed':
      return [v === OFP13 ? { onf: ONFT_FLOW_MONITOR_RESUMED } : { nxt: NXT.flow_monitor_resumed }, Buffer.alloc(0)];
  }
}

/**
 * Whether OpenFlow 1.3's masks say all of a change: they set both masks of packet-in, port-status
 * and flow-removed and turn every other kind off.
 */
function setsEveryLegacyMask(c: AsyncConfigChange): boolean {
  return ASYNC_KINDS.every((k) => {
    const [master, slave] = c[k] ?? [];
    return k === 'packetIn' || k === 'portStatus' || k === 'flowRemoved' ? master !== undefined && slave !== undefined : master === 0 && slave === 0;
  });
}

// ---- decoding ----

/** What one framed wire message decodes to; `more` is set on every multipart part but the last. */
export interface Decoded {
  xid: number;
  msg: OfMessage;
  more: boolean;
}

/**
 * Decodes one framed message (its length field must be the buffer's length). Throws only
 * OfDecodeError, named as the OpenFlow error to answer with.
 */
export function decodeMessage(buf: Buffer, s: Session): Decoded {
  if (buf.length < OFP_HEADER_LEN) throw new OfDecodeError('OFPBRC_BAD_LEN', `a message of ${buf.length} bytes is shorter than the 8-byte OpenFlow header`);
  const version = buf.readUInt8(0);
  const type = buf.readUInt8(1);
  const length = buf.readUInt16BE(2);
  const xid = buf.readUInt32BE(4);
  if (length !== buf.length) throw new OfDecodeError('OFPBRC_BAD_LEN', `the header says ${length} bytes but the message has ${buf.length}`);
  const r = new OfReader(buf.subarray(OFP_HEADER_LEN));
  // Hello is how versions are negotiated, so it may carry any version, even a future one.
  if (type === 0) return { xid, msg: { type: 'hello', versions: decodeHello(r, version) }, more: false };
  if (!SUPPORTED_VERSIONS.includes(version)) throw new OfDecodeError('OFPBRC_BAD_VERSION', `version 0x${version.toString(16).padStart(2, '0')} is not OpenFlow 1.0 to 1.5`);
  const typeIsVersionFree = type <= 3; // error and echo are understood whatever version they carry
  if (version !== s.version && !typeIsVersionFree) {
    throw new OfDecodeError('OFPBRC_BAD_VERSION', `a message of ${versionName(version)} on a connection that negotiated ${versionName(s.version)}`);
  }
  const session = version === s.version ? s : { ...s, version };
  try {
    return decodeBody(type, r, session, xid);
  } catch (e) {
    if (e instanceof OfDecodeError) throw e;
    // A body decoder that failed other than by OfDecodeError met input it was not written for:
    // the peer still gets an answer and the connection lives on.
    throw new OfDecodeError(e instanceof RangeError ? 'OFPBRC_BAD_LEN' : 'OFPBRC_BAD_TYPE', `cannot decode message type ${type}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function decodeHello(r: OfReader, headerVersion: number): number[] {
  let versions: number[] | undefined;
  while (r.remaining >= 4) {
    const type = r.u16('hello element type');
    const len = r.u16('hello element length');
    if (len < 4) throw new OfDecodeError('OFPBRC_BAD_LEN', `hello element of ${len} bytes is shorter than its header`);
    const body = r.sub(len - 4, 'hello element');
    r.skip(Math.min((8 - (len % 8)) % 8, r.remaining));
    if (type !== OFPHET_VERSIONBITMAP) continue;
    versions = [];
    for (let word = 0; body.remaining >= 4; word++) {
      const bits = body.u32('version bitmap');
      for (let bit = 0; bit < 32; bit++) {
        const version = word * 32 + bit;
        // A version is one byte in every header, and 0 is none: other bits name nothing.
        if (bits & (1 << bit) && version >= 1 && version <= MAX_OF_VERSION_NUMBER) versions.push(version);
      }
    }
  }
  // Without a bitmap a peer supports every version up to the one in its header.
  return versions ?? Array.from({ length: headerVersion }, (_, i) => i + 1);
}

function decodeBody(type: number, r: OfReader, s: Session, xid: number): Decoded {
  const one = (msg: OfMessage): Decoded => {
    if (r.remaining !== 0) throw new OfDecodeError('OFPBRC_BAD_LEN', `${msg.type} has ${r.remaining} bytes more than its structure`);
    return { xid, msg, more: false };
  };
  if (type === OFPT_VENDOR) return one(decodeVendor(r, s, xid));
  if (s.version >= OFP14 && type === OFPT14_BUNDLE_CONTROL) return one(decodeBundleControl(r));
  if (s.version >= OFP14 && type === OFPT14_BUNDLE_ADD_MESSAGE) return one(decodeBundled(r, s, xid));
  if (s.version === OFP10 ? type === OFPT10_STATS_REQUEST || type === OFPT10_STATS_REPLY : type === OFPT11_MULTIPART_REQUEST || type === OFPT11_MULTIPART_REPLY) {
    return decodeMultipart(r, s, xid, type === (s.version === OFP10 ? OFPT10_STATS_REQUEST : OFPT11_MULTIPART_REQUEST));
  }
  const name = simpleTypeOf(type, s.version);
  const v = s.version;
  switch (name) {
    case 'error':
      return { xid, msg: decodeError(r, v), more: false };
    case 'echo_request':
    case 'echo_reply':
      return { xid, msg: { type: name, data: Buffer.from(r.bytes(r.remaining)) }, more: false };
    case 'features_request':
    case 'get_config_request':
    case 'barrier_request':
    case 'barrier_reply':
    case 'get_async_request':
      return one({ type: name });
    case 'features_reply': {
      const datapathId = r.u64('datapath_id');
      const nBuffers = r.u32('n_buffers');
      const nTables = r.u8('n_tables');
      const auxiliaryId = v >= OFP13 ? r.u8('auxiliary_id') : (r.skip(1), 0);
      r.skip(2);
      const capabilities = r.u32('capabilities');
      const actions = r.u32('actions');
      const ports = [];
      if (v < OFP13) {
        const size = v === OFP10 ? 48 : 64;
        if (r.remaining % size !== 0) throw new OfDecodeError('OFPBRC_BAD_LEN', `features_reply ports are not a multiple of ${size} bytes`);
        while (r.remaining > 0) ports.push(readPortDesc(r, v));
      }
      return one({ type: name, datapathId, nBuffers, nTables, auxiliaryId, capabilities, actions: v === OFP10 ? actions : 0, ports });
    }
    case 'get_config_reply':
    case 'set_config':
      return one({ type: name, flags: r.u16('flags'), missSendLen: r.u16('miss_send_len') });
    case 'packet_in':
      return one(decodePacketIn(r, s, 'ofp'));
    case 'packet_out':
      return one(decodePacketOut(r, s));
    case 'flow_mod':
      return one({ type: name, mod: decodeFlowMod(r, s, 'ofp') });
    case 'flow_removed':
      return one(decodeFlowRemoved(r, s, 'ofp'));
    case 'port_status': {
      const reason = PORT_REASONS[r.u8('reason')];
      if (!reason) throw new OfDecodeError('NXBRC_BAD_REASON', 'port_status reason is not add (0), delete (1) or modify (2)');
      r.skip(7);
      return one({ type: name, reason, desc: readPortDesc(r, v) });
    }
    case 'port_mod': {
      const portNo = readPort(r, v);
      if (v !== OFP10) r.skip(4);
      const hwAddr = (BigInt(r.u16('hw_addr')) << 32n) | BigInt(r.u32('hw_addr'));
      if (v !== OFP10) r.skip(2);
      const config = r.u32('config');
      const mask = r.u32('mask');
      let advertise = 0;
      if (v >= OFP14) {
        while (r.remaining > 0) {
          const propType = r.u16('property type');
          const len = r.u16('property length');
          if (len < 4) throw new OfDecodeError('OFPBPC_BAD_LEN', `port_mod property of ${len} bytes is shorter than its header`);
          const prop = r.sub(len - 4, 'port_mod property');
          r.skip(Math.min((8 - (len % 8)) % 8, r.remaining));
          if (propType === 0) advertise = prop.u32('advertise');
        }
      } else {
        advertise = r.u32('advertise');
        r.skip(4);
      }
      return one({ type: name, portNo, hwAddr, config, mask, advertise });
    }
    case 'table_mod': {
      const tableId = r.u8('table_id');
      r.skip(3);
      const config = r.u32('config');
      if (v >= OFP14) r.skip(r.remaining); // table_mod properties (eviction, vacancy) are not modelled
      return one({ type: name, tableId, config });
    }
    case 'role_request':
    case 'role_reply': {
      const role = ROLES_OF12[r.u32('role')];
      if (!role) throw new OfDecodeError('OFPRRFC_BAD_ROLE', 'role is not nochange, equal, master or slave');
      r.skip(4);
      return one({ type: name, role, generationId: r.u64('generation_id') });
    }
    case 'role_status':
      return one(decodeRoleStatus(r));
    case 'queue_get_config_request':
    case 'queue_get_config_reply': {
      if (v >= OFP14) throw new OfDecodeError('OFPBRC_BAD_TYPE', `${name} does not exist in ${versionName(v)} (ask for the queue_desc multipart)`);
      const portNo = readPort(r, v);
      r.skip(name === 'queue_get_config_reply' && v === OFP10 ? 6 : v === OFP10 ? 2 : 4);
      if (name === 'queue_get_config_reply') return one({ type: name, portNo, queues: readQueueConfigs(r, portNo, v) });
      return one({ type: name, portNo });
    }
    case 'get_async_reply':
    case 'set_async':
      if (name === 'set_async') return one({ type: name, config: v >= OFP14 ? readAsyncProperties(r, v, true) : readAsyncMasks(r, v) });
      return one({ type: name, config: v >= OFP14 ? applyAsyncChange(noAsync(), readAsyncProperties(r, v, false)) : readAsyncMasks(r, v) });
    case 'group_mod':
      return one({ type: name, mod: decodeGroupMod(r, s) });
    case 'meter_mod':
      return one({ type: name, mod: decodeMeterMod(r, s) });
    default:
      throw new OfDecodeError('OFPBRC_BAD_TYPE', `message type ${type} is not supported in ${versionName(v)}`);
  }
}

/**
 * The message names by wire type for each version, built once from OFPT10/OFPT11: every
 * message decoded looks its type up here. Where two names share a number in one version, the
 * first listed wins.
 */
const SIMPLE_TYPES: ReadonlyMap<number, ReadonlyMap<number, SimpleType>> = new Map(
  SUPPORTED_VERSIONS.map((version) => {
    const byType = new Map<number, SimpleType>();
    if (version === OFP10) {
      for (const [name, n] of Object.entries(OFPT10) as Array<[SimpleType, number]>) if (!byType.has(n)) byType.set(n, name);
    } else {
      for (const [name, [n, since]] of Object.entries(OFPT11) as Array<[SimpleType, [number, number]]>) if (version >= since && !byType.has(n)) byType.set(n, name);
    }
    return [version, byType];
  }),
);

function simpleTypeOf(type: number, version: number): SimpleType | undefined {
  return SIMPLE_TYPES.get(version)?.get(type);
}

/** OpenFlow 1.0/1.1 carry a vendor's error inside error type NXET_VENDOR, code NXVC_VENDOR_ERROR. */
const NXET_VENDOR = 0xb0c2;
const NXVC_VENDOR_ERROR = 0;
/** OpenFlow 1.2+ carry it as OFPET_EXPERIMENTER, with the vendor's error type as the code. */
const OFPET_EXPERIMENTER = 0xffff;

function writeErrorNumbers(w: OfWriter, e: WireError, version: number): void {
  if (e.vendor === undefined) w.u16(e.type).u16(e.code);
  else if (version <= OFP11) w.u16(NXET_VENDOR).u16(NXVC_VENDOR_ERROR).u32(e.vendor).u16(e.type).u16(e.code);
  else w.u16(OFPET_EXPERIMENTER).u16(e.type).u32(e.vendor);
}

function decodeError(r: OfReader, version: number): MessageOf<'error'> {
  let e: WireError = { type: r.u16('error type'), code: r.u16('error code') };
  if (e.type === NXET_VENDOR && e.code === NXVC_VENDOR_ERROR && version <= OFP11) {
    e = { vendor: r.u32('error vendor'), type: r.u16('vendor error type'), code: r.u16('vendor error code') };
  } else if (e.type === OFPET_EXPERIMENTER && version >= OFP12) {
    e = { vendor: r.u32('experimenter'), type: e.code, code: 0 };
  }
  return { type: 'error', name: errorName(e, version), data: Buffer.from(r.bytes(r.remaining)) };
}

/** Message types a bundle may hold (OVS's ofputil_is_bundlable, less what TVS does not bundle). */
const BUNDLABLE = new Set<OfMessage['type']>(['flow_mod', 'group_mod', 'port_mod', 'packet_out']);
/** A bundled message whose type cannot be read is OFPBFC_MSG_UNSUP, as OVS answers. */
const UNREADABLE_TYPE = new Set(['OFPBRC_BAD_TYPE', 'OFPBRC_BAD_SUBTYPE', 'OFPBRC_BAD_VENDOR', 'OFPBRC_BAD_STAT', 'OFPBRC_BAD_VERSION']);

function decodeBundled(r: OfReader, s: Session, xid: number): MessageOf<'bundle_add'> {
  const { bundleId, flags, inner } = decodeBundleAdd(r, s.version, xid);
  let msg: OfMessage;
  try {
    msg = decodeMessage(inner, s).msg;
  } catch (e) {
    if (e instanceof OfDecodeError && UNREADABLE_TYPE.has(e.name)) throw new OfDecodeError('OFPBFC_MSG_UNSUP', `the bundled message cannot be read: ${e.message}`);
    throw e;
  }
  if (!BUNDLABLE.has(msg.type)) throw new OfDecodeError('OFPBFC_MSG_UNSUP', `${msg.type} cannot be bundled (only flow_mod, group_mod, port_mod and packet_out)`);
  return { type: 'bundle_add', bundleId, flags, msg };
}

function decodeRoleStatus(r: OfReader): MessageOf<'role_status'> {
  const role = ROLES_OF12[r.u32('role')];
  if (!role) throw new OfDecodeError('OFPRRFC_BAD_ROLE', 'role status role is not nochange, equal, master or slave');
  const reason = ROLE_STATUS_REASONS[r.u8('reason')];
  if (!reason) throw new OfDecodeError('OFPBRC_BAD_TYPE', 'role status reason is not master_request (0), config (1) or experimenter (2)');
  r.skip(3);
  const generationId = r.u64('generation_id');
  // Properties (OFPRPT_EXPERIMENTER) are not modelled; OVS sends none.
  r.skip(r.remaining);
  return { type: 'role_status', role, reason, generationId };
}

function decodeVendor(r: OfReader, s: Session, xid: number): OfMessage {
  const vendor = r.u32('vendor');
  if (vendor === ONF_VENDOR_ID && s.version === OFP13) {
    const expType = r.u32('ONF experimenter type');
    if (expType === ONFT_BUNDLE_CONTROL) return decodeBundleControl(r);
    if (expType === ONFT_BUNDLE_ADD_MESSAGE) return decodeBundled(r, s, xid);
    if (expType === ONFT_ROLE_STATUS) return decodeRoleStatus(r);
    if (expType === ONFT_FLOW_MONITOR_CANCEL) return { type: 'flow_monitor_cancel', id: r.u32('monitor id') };
    if (expType === ONFT_FLOW_MONITOR_PAUSED) return { type: 'flow_monitor_paused' };
    if (expType === ONFT_FLOW_MONITOR_RESUMED) return { type: 'flow_monitor_resumed' };
    throw new OfDecodeError('OFPBRC_BAD_SUBTYPE', `ONF experimenter type ${expType} is not supported (only bundles, 2300 and 2301, role status, 1911, and flow monitors, 1870-1872)`);
  }
  if (vendor !== NX_VENDOR_ID) throw new OfDecodeError('OFPBRC_BAD_VENDOR', `vendor 0x${vendor.toString(16).padStart(8, '0')} is not supported (only Nicira, 0x00002320)`);
  const subtype = r.u32('Nicira subtype');
  switch (subtype) {
    case NXT.role_request:
    case NXT.role_reply: {
      const role = ROLES_NX[r.u32('role')];
      if (!role) throw new OfDecodeError('OFPRRFC_BAD_ROLE', 'Nicira role is not other, master or slave');
      return { type: subtype === NXT.role_request ? 'role_request' : 'role_reply', role, generationId: 0n };
    }
    case NXT.set_flow_format: {
      const n = r.u32('flow format');
      const format = (Object.keys(FLOW_FORMATS) as FlowFormat[]).find((f) => FLOW_FORMATS[f] === n);
      if (!format) throw new OfDecodeError('OFPBRC_EPERM', `flow format ${n} is neither openflow10 (0) nor nxm (2)`);
      return { type: 'nx_set_flow_format', format };
    }
    case NXT.flow_mod:
      return { type: 'flow_mod', mod: decodeFlowMod(r, s, 'nx') };
    case NXT.flow_removed:
      return decodeFlowRemoved(r, s, 'nx');
    case NXT.flow_mod_table_id: {
      const enable = r.u8('set') !== 0;
      r.skip(7);
      return { type: 'nx_flow_mod_table_id', enable };
    }
    case NXT.set_packet_in_format: {
      const format = PACKET_IN_FORMATS[r.u32('packet-in format')];
      if (!format) throw new OfDecodeError('OFPBRC_EPERM', 'packet-in format is not standard (0), nxt_packet_in (1) or nxt_packet_in2 (2)');
      return { type: 'nx_set_packet_in_format', format };
    }
    case NXT.packet_in:
      return decodePacketIn(r, s, 'nx');
    case NXT.packet_in2:
      return decodePacketIn(r, s, 'nx2');
    case NXT.resume:
      return { type: 'nx_resume', packetIn: decodePacketIn(r, s, 'nx2') };
    case NXT.set_async_config:
      return { type: 'set_async', config: readAsyncMasks(r, s.version) };
    case NXT.tlv_table_mod:
      return decodeTlvTableMod(r, TUN_METADATA_FIELDS);
    case NXT.tlv_table_request:
      return { type: 'nx_tlv_table_request' };
    case NXT.tlv_table_reply:
      return decodeTlvTableReply(r);
    case NXT.set_async_config2:
      if (s.version < OFP14) return { type: 'set_async', config: readAsyncProperties(r, s.version, true) };
      break;
    case NXT.set_controller_id:
      r.skip(6);
      return { type: 'nx_set_controller_id', controllerId: r.u16('controller_id') };
    case NXT.group_mod:
      if (s.version === OFP10) return { type: 'group_mod', mod: decodeGroupMod(r, s) };
      break;
    case NXT.flow_monitor_cancel:
      if (s.version <= OFP12) return { type: 'flow_monitor_cancel', id: r.u32('monitor id') };
      break;
    case NXT.flow_monitor_paused:
      if (s.version <= OFP12) return { type: 'flow_monitor_paused' };
      break;
    case NXT.flow_monitor_resumed:
      if (s.version <= OFP12) return { type: 'flow_monitor_resumed' };
      break;
  }
  throw new OfDecodeError('OFPBRC_BAD_SUBTYPE', `Nicira message subtype ${subtype} is not supported in ${versionName(s.version)}`);
}

function decodeMultipart(r: OfReader, s: Session, xid: number, request: boolean): Decoded {
  const statType = r.u16('multipart type');
  const flags = r.u16('multipart flags');
  if (s.version !== OFP10) r.skip(4);
  let n: StatNumber = { number: statType };
  if (statType === OFPST_VENDOR) {
    const vendor = r.u32('vendor');
    if (vendor === ONF_VENDOR_ID && s.version === OFP13) n = { vendor: 'onf', number: r.u32('ONF experimenter multipart type') };
    else if (vendor === NX_VENDOR_ID) {
      n = { vendor: 'nicira', number: r.u32('Nicira stats subtype') };
      if (s.version === OFP10) r.skip(4);
    } else {
      throw new OfDecodeError('OFPBRC_BAD_VENDOR', `vendor statistics of 0x${vendor.toString(16).padStart(8, '0')} are not supported (only Nicira, 0x00002320, and ONF's flow monitor on OpenFlow 1.3)`);
    }
  }
  const kind = statKind(n, s);
  const more = (flags & OFPMPF_MORE) !== 0;
  if (request) return { xid, msg: { type: 'multipart_request', request: decodeRequestBody(kind, r, s) }, more };
  return { xid, msg: { type: 'multipart_reply', reply: decodeReplyBody(kind, r, s) }, more };
}

