/**
 * The bodies of the messages that carry matches and actions: flow_mod, flow_removed,
 * packet_in, packet_out, group_mod, meter_mod, and the flow, aggregate, group_desc and
 * meter_config multipart bodies, in OpenFlow 1.0 (ofp_match), Nicira (NXM) and OpenFlow 1.2+
 * (OXM) encodings.
 *
 * The dispatcher (./index.ts) writes and reads the OpenFlow header, the vendor header of Nicira
 * messages and the multipart header; the functions here see only the body after those. `wire`
 * says which message carries the body: 'ofp' the standard message of the session's version,
 * 'nx' the Nicira one (NXT_FLOW_MOD, NXT_FLOW_REMOVED, NXT_PACKET_IN, NXST_FLOW,
 * NXST_AGGREGATE), 'nx2' NXT_PACKET_IN2 / NXT_RESUME.
 *
 * Decoders throw OfDecodeError with the OpenFlow error to answer (OFPBMC_*, OFPBAC_*, OFPBIC_*).
 */
import { OFPG, OFPP } from '../../ofproto/actions.js';
import type { FlowMod, FlowModCommand, FlowModFlags, FlowRemovedReason } from '../../ofproto/flow-table.js';
import type { Bucket, GroupMod, GroupType } from '../../ofproto/groups.js';
import { Match } from '../../ofproto/match.js';
import type { MeterBand, MeterConfig, MeterFlags, MeterMod } from '../../ofproto/meters.js';
import { OFP10, OFP11, OFP12, OFP13, OFP14, OFP15, type FlowStats, type MessageOf, type MultipartReply, type MultipartRequest, type PacketInReason, type Session } from '../messages.js';
import { pullActions, pullInstructions, putActions, putInstructions } from './actions.js';
import { OfDecodeError, OfEncodeError, OfWriter, type OfReader } from './buffer.js';
import { portFromOf11, portToOf11, pullNxMatch, pullOf10Match, pullOxmMatch, putNxMatch, putOf10Match, putOxmMatch } from './match.js';

export type BodyWire = 'ofp' | 'nx';
export type FlowStatsRequest = Extract<MultipartRequest, { kind: 'flow' | 'aggregate' }>;
type GroupDesc = Extract<MultipartReply, { kind: 'group_desc' }>['groups'][number];

const NO_BUFFER = 0xffffffff;
/** OpenFlow 1.0's wildcard bits (OFPFW10_ALL). */
const OFPFW10_ALL = (1 << 22) - 1;
const ALL_ONES_64 = 0xffffffffffffffffn;

function fail(name: string, detail: string): never {
  throw new OfDecodeError(name, detail);
}

/** NXM match then padding to 8 bytes; returns the unpadded match length. */
function putPaddedNxMatch(w: OfWriter, m: Match, cookie?: { value: bigint; mask: bigint }): number {
  const len = putNxMatch(w, m, 0, cookie);
  w.zeros((8 - (len % 8)) % 8);
  return len;
}

/** Reads `len` bytes of NXM match and its padding to 8 bytes. */
function pullPaddedNxMatch(r: OfReader, len: number, allowCookie: boolean): ReturnType<typeof pullNxMatch> {
  const padded = (len + 7) & ~7;
  if (padded > r.remaining) fail('OFPBMC_BAD_LEN', `match length ${len} does not fit the message`);
  const m = pullNxMatch(r.sub(len, 'match'), allowCookie);
  r.skip(padded - len);
  return m;
}

/** The 32-bit port of a 1.1+ message in ofproto's 16-bit numbering. */
function of11PortIn(port: number, error: string, what: string): number {
  const p = portFromOf11(port);
  if (p === undefined) fail(error, `${what} 0x${port.toString(16)} is not a port`);
  return p;
}

function durationMs(sec: number, nsec: number): number {
  return sec * 1000 + Math.floor(nsec / 1e6);
}

function putDuration(w: OfWriter, ms: number): void {
  const t = Math.max(0, Math.floor(ms));
  w.u32(Math.floor(t / 1000)).u32((t % 1000) * 1e6);
}

// ---------------------------------------------------------------------------------------------
// flow_mod

const COMMANDS: readonly FlowModCommand[] = ['add', 'modify', 'modify_strict', 'delete', 'delete_strict'];

function commandNumber(c: FlowModCommand): number {
  return COMMANDS.indexOf(c);
}

function commandOf(n: number): FlowModCommand {
  const c = COMMANDS[n];
  if (!c) fail('OFPFMFC_BAD_COMMAND', `unknown flow_mod command ${n}`);
  return c;
}

/** OFPFF_* bits per version: OpenFlow 1.0 and NX have send_flow_rem and check_overlap only (4 is emergency). */
function encodeFlags(f: FlowModFlags, version: number, nx: boolean): number {
  let v = (f.sendFlowRem ? 1 : 0) | (f.checkOverlap ? 2 : 0);
  if (version >= OFP12 && !nx) v |= f.resetCounts ? 4 : 0;
  if (version >= OFP13 && !nx) v |= (f.noPacketCounts ? 8 : 0) | (f.noByteCounts ? 16 : 0);
  return v;
}

function decodeFlags(v: number, version: number, nx: boolean): FlowModFlags {
  const f: FlowModFlags = {};
  if (v & 1) f.sendFlowRem = true;
  if (v & 2) f.checkOverlap = true;
  if (version === OFP10 || nx) {
    if (v & 4) fail('OFPFMFC_BAD_FLAGS', 'emergency flows (OFPFF_EMERG) are not supported');
    if (v & ~7) fail('OFPFMFC_BAD_FLAGS', `unknown flow_mod flags 0x${v.toString(16)}`);
    return f;
  }
  if (v & 4 && version >= OFP12) f.resetCounts = true;
  if (v & 8 && version >= OFP13) f.noPacketCounts = true;
  if (v & 16 && version >= OFP13) f.noByteCounts = true;
  const known = version >= OFP13 ? 31 : version >= OFP12 ? 7 : 3;
  if (v & ~known) fail('OFPFMFC_BAD_FLAGS', `unknown flow_mod flags 0x${v.toString(16)}`);
  return f;
}

/**
 * The cookie an OpenFlow 1.0 or Nicira flow_mod carries in its cookie field (OVS's "new cookie"):
 * a modify without one sets 0, as ovs-ofctl sends it; all-ones would mean "keep the cookie".
 */
function legacyCookie(mod: FlowMod): bigint {
  if (mod.command === 'add') return mod.cookie;
  if (mod.command === 'modify' || mod.command === 'modify_strict') return mod.newCookie ?? 0n;
  return 0n;
}

function checkFlowModCookie(mod: FlowMod, nx: boolean): void {
  if (!nx && mod.cookieMask) throw new OfEncodeError('OpenFlow 1.0 flow_mods cannot select rules by cookie: use the NXM flow format or OpenFlow 1.1+');
}

export function encodeFlowMod(mod: FlowMod, s: Session, wire: BodyWire): Buffer {
  const w = new OfWriter();
  const ctx = { version: s.version, match: mod.match };
  if (s.version === OFP10 || wire === 'nx') {
    const nx = wire === 'nx';
    checkFlowModCookie(mod, nx);
    const tableByte = s.flowModTableId ? mod.tableId << 8 : 0;
    if (!nx) putOf10Match(w, mod.match);
    w.u64(legacyCookie(mod)).u16(tableByte | commandNumber(mod.command)).u16(mod.idleTimeout).u16(mod.hardTimeout).u16(mod.priority);
    w.u32(NO_BUFFER).u16(mod.outPort).u16(encodeFlags(mod.flags, OFP10, true));
    if (nx) {
      const lenAt = w.length;
      w.u16(0).zeros(6);
      const cookie = mod.command === 'add' ? undefined : { value: mod.cookie, mask: mod.cookieMask };
      w.patchU16(lenAt, putPaddedNxMatch(w, mod.match, cookie));
    }
    putInstructions(w, mod.instructions, { ...ctx, version: OFP10 });
    return w.finish();
  }
  const add = mod.command === 'add';
  const isDelete = mod.command === 'delete' || mod.command === 'delete_strict';
  w.u64(add ? mod.cookie : mod.cookie & mod.cookieMask).u64(add ? 0n : mod.cookieMask);
  // OpenFlow 1.1+ allows "all tables" only in deletes; ovs-ofctl sends a modify of every table as table 0.
  w.u8(!isDelete && mod.tableId === 0xff ? 0 : mod.tableId).u8(commandNumber(mod.command)).u16(mod.idleTimeout).u16(mod.hardTimeout).u16(mod.priority);
  w.u32(NO_BUFFER).u32(portToOf11(mod.outPort)).u32(mod.outGroup).u16(encodeFlags(mod.flags, s.version, false));
  w.u16(s.version >= OFP14 ? mod.importance : 0);
  putOxmMatch(w, mod.match, s.version);
  putInstructions(w, mod.instructions, ctx);
  return w.finish();
}

function checkBuffer(id: number): void {
  if (id !== NO_BUFFER) fail('OFPBRC_BUFFER_UNKNOWN', `buffer ${id}: TVS buffers no packets (use buffer_id 0xffffffff)`);
}

export function decodeFlowMod(r: OfReader, s: Session, wire: BodyWire): FlowMod {
  if (s.version === OFP10 || wire === 'nx') {
    const nx = wire === 'nx';
    // An OpenFlow 1.0 match without wildcards is an exact-match flow, above every priority (as in OVS).
    const exactOf10 = !nx && r.remaining >= 4 && (r.buf.readUInt32BE(r.offset) & OFPFW10_ALL) === 0;
    const of10Match = nx ? undefined : pullOf10Match(r);
    const cookieField = r.u64();
    const rawCommand = r.u16();
    const command = commandOf(rawCommand & 0xff);
    // Table 255 in an add means "unspecified", which OVS (and TVS) take as table 0.
    const tableByte = s.flowModTableId ? rawCommand >> 8 : 0xff;
    const tableId = command === 'add' && tableByte === 0xff ? 0 : tableByte;
    if (!s.flowModTableId && rawCommand >> 8) fail('OFPFMFC_BAD_COMMAND', `flow_mod command 0x${rawCommand.toString(16)} carries a table id, but NXT_FLOW_MOD_TABLE_ID is not enabled`);
    const idleTimeout = r.u16();
    const hardTimeout = r.u16();
    const wirePriority = r.u16();
    const priority = exactOf10 ? 0xffff : wirePriority;
    checkBuffer(r.u32());
    const outPort = r.u16();
    const flags = decodeFlags(r.u16(), OFP10, nx);
    let match = of10Match ?? Match.catchAll();
    let cookie = 0n;
    let cookieMask = 0n;
    if (nx) {
      const len = r.u16();
      r.skip(6);
      const pulled = pullPaddedNxMatch(r, len, true);
      match = pulled.match;
      if (pulled.cookie) {
        cookie = pulled.cookie.value;
        cookieMask = pulled.cookie.mask;
      }
    }
    const instructions = { apply: [], clearActions: false } as FlowMod['instructions'];
    instructions.apply = pullActions(r, OFP10, instructions);
    const mod: FlowMod = { command, tableId, match, priority, cookie, cookieMask, idleTimeout, hardTimeout, importance: 0, flags, outPort, outGroup: OFPG.ANY, instructions };
    if (command === 'add') mod.cookie = cookieField;
    else if ((command === 'modify' || command === 'modify_strict') && cookieField !== ALL_ONES_64) {
      mod.newCookie = cookieField;
      if (!cookieMask) mod.cookie = cookieField;
    }
    return mod;
  }
  const cookie = r.u64();
  const cookieMask = r.u64();
  const tableId = r.u8();
  const command = commandOf(r.u8());
  const idleTimeout = r.u16();
  const hardTimeout = r.u16();
  const priority = r.u16();
  const bufferId = r.u32();
  if (command !== 'delete' && command !== 'delete_strict') checkBuffer(bufferId);
  const outPort = of11PortIn(r.u32(), 'OFPBAC_BAD_OUT_PORT', 'out_port');
  const outGroup = r.u32();
  const flags = decodeFlags(r.u16(), s.version, false);
  const importance = r.u16();
  const match = pullOxmMatch(r);
  const instructions = pullInstructions(r, s.version);
  const add = command === 'add';
  if (add && tableId === 0xff) fail('OFPFMFC_BAD_TABLE_ID', 'flow_mod add to table 255: add to one table, 0..254');
  return {
    command, tableId, match, priority, cookie: add ? cookie : cookie & cookieMask, cookieMask: add ? 0n : cookieMask,
    idleTimeout, hardTimeout, importance: s.version >= OFP14 ? importance : 0, flags, outPort, outGroup, instructions,
  };
}

// ---------------------------------------------------------------------------------------------
// flow_removed

/** OFPRR_*, by number; OFPRR_METER_DELETE is OpenFlow 1.4's. */
const REMOVED_REASONS: readonly FlowRemovedReason[] = ['idle_timeout', 'hard_timeout', 'delete', 'group_delete', 'meter_delete'];

function removedReasonOf(n: number): FlowRemovedReason {
  const r = REMOVED_REASONS[n];
  if (!r) fail('OFPBRC_BAD_TYPE', `unknown flow_removed reason ${n}`);
  return r;
}

/** OpenFlow 1.5's ofp_stats: OXS entries, class OFPXSC_OPENFLOW_BASIC. */
const OXS = { DURATION: 0, IDLE_TIME: 1, FLOW_COUNT: 3, PACKET_COUNT: 4, BYTE_COUNT: 5 } as const;

interface OxsStats {
  durationMs?: number;
  idleAgeMs?: number;
  packetCount?: bigint;
  byteCount?: bigint;
  flowCount?: number;
}

function putOxsStats(w: OfWriter, st: OxsStats): void {
  const start = w.length;
  w.u16(0).u16(0);
  const hdr = (field: number, len: number) => w.u32((0x8002 << 16) | (field << 9) | len);
  if (st.durationMs !== undefined) {
    hdr(OXS.DURATION, 8);
    putDuration(w, st.durationMs);
  }
  if (st.idleAgeMs !== undefined) {
    hdr(OXS.IDLE_TIME, 8);
    w.u32(Math.floor(st.idleAgeMs / 1000)).u32(0);
  }
  if (st.packetCount !== undefined) hdr(OXS.PACKET_COUNT, 8).u64(st.packetCount);
  if (st.byteCount !== undefined) hdr(OXS.BYTE_COUNT, 8).u64(st.byteCount);
  if (st.flowCount !== undefined) hdr(OXS.FLOW_COUNT, 4).u32(st.flowCount);
  const len = w.length - start;
  w.patchU16(start + 2, len);
  w.zeros((8 - (len % 8)) % 8);
}

function pullOxsStats(r: OfReader): OxsStats {
  r.skip(2);
  const len = r.u16();
  const padded = (len + 7) & ~7;
  if (len < 4 || padded - 4 > r.remaining) fail('OFPBRC_BAD_LEN', `ofp_stats length ${len} does not fit the message`);
  const b = r.sub(len - 4, 'stats');
  r.skip(padded - len);
  const st: OxsStats = {};
  while (b.remaining > 0) {
    const h = b.u32();
    const cls = h >>> 16;
    const field = (h >>> 9) & 0x7f;
    const n = h & 0xff;
    const body = b.sub(n, 'stat');
    if (cls !== 0x8002) continue;
    const need = (want: number) => {
      if (n !== want) fail('OFPBRC_BAD_LEN', `OXS field ${field} has length ${n}, not ${want}`);
    };
    if (field === OXS.DURATION) {
      need(8);
      st.durationMs = durationMs(body.u32(), body.u32());
    } else if (field === OXS.IDLE_TIME) {
      need(8);
      st.idleAgeMs = body.u32() * 1000;
    } else if (field === OXS.PACKET_COUNT) {
      need(8);
      st.packetCount = body.u64();
    } else if (field === OXS.BYTE_COUNT) {
      need(8);
      st.byteCount = body.u64();
    } else if (field === OXS.FLOW_COUNT) {
      need(4);
      st.flowCount = body.u32();
    }
  }
  return st;
}

export function encodeFlowRemoved(m: MessageOf<'flow_removed'>, s: Session, wire: BodyWire): Buffer {
  const w = new OfWriter();
  // Before 1.4 a rule removed with its meter is reported as deleted, as OVS reports it.
  const reason = REMOVED_REASONS.indexOf(m.reason === 'meter_delete' && (wire === 'nx' || s.version < OFP14) ? 'delete' : m.reason);
  if (wire === 'nx') {
    w.u64(m.cookie).u16(m.priority).u8(reason).u8(m.tableId + 1);
    putDuration(w, m.durationMs);
    const lenAt = w.length + 2;
    w.u16(m.idleTimeout).u16(0).u64(m.packetCount).u64(m.byteCount);
    w.patchU16(lenAt, putPaddedNxMatch(w, m.match));
    return w.finish();
  }
  if (s.version === OFP10) {
    putOf10Match(w, m.match);
    w.u64(m.cookie).u16(m.priority).u8(reason).zeros(1);
    putDuration(w, m.durationMs);
    w.u16(m.idleTimeout).zeros(2).u64(m.packetCount).u64(m.byteCount);
    return w.finish();
  }
  if (s.version >= OFP15) {
    w.u8(m.tableId).u8(reason).u16(m.priority).u16(m.idleTimeout).u16(m.hardTimeout).u64(m.cookie);
    putOxmMatch(w, m.match, s.version);
    putOxsStats(w, { durationMs: m.durationMs, packetCount: m.packetCount, byteCount: m.byteCount });
    return w.finish();
  }
  w.u64(m.cookie).u16(m.priority).u8(reason).u8(m.tableId);
  putDuration(w, m.durationMs);
  w.u16(m.idleTimeout).u16(m.hardTimeout).u64(m.packetCount).u64(m.byteCount);
  putOxmMatch(w, m.match, s.version);
  return w.finish();
}

export function decodeFlowRemoved(r: OfReader, s: Session, wire: BodyWire): MessageOf<'flow_removed'> {
  if (wire === 'nx') {
    const cookie = r.u64();
    const priority = r.u16();
    const reason = removedReasonOf(r.u8());
    const tableId = Math.max(0, r.u8() - 1);
    const duration = durationMs(r.u32(), r.u32());
    const idleTimeout = r.u16();
    const len = r.u16();
    const packetCount = r.u64();
    const byteCount = r.u64();
    const { match } = pullPaddedNxMatch(r, len, false);
    return { type: 'flow_removed', cookie, priority, reason, tableId, durationMs: duration, idleTimeout, hardTimeout: 0, packetCount, byteCount, match };
  }
  if (s.version === OFP10) {
    const match = pullOf10Match(r);
    const cookie = r.u64();
    const priority = r.u16();
    const reason = removedReasonOf(r.u8());
    r.skip(1);
    const duration = durationMs(r.u32(), r.u32());
    const idleTimeout = r.u16();
    r.skip(2);
    return { type: 'flow_removed', cookie, priority, reason, tableId: 0, durationMs: duration, idleTimeout, hardTimeout: 0, packetCount: r.u64(), byteCount: r.u64(), match };
  }
  if (s.version >= OFP15) {
    const tableId = r.u8();
    const reason = removedReasonOf(r.u8());
    const priority = r.u16();
    const idleTimeout = r.u16();
    const hardTimeout = r.u16();
    const cookie = r.u64();
    const match = pullOxmMatch(r);
    const st = pullOxsStats(r);
    return { type: 'flow_removed', cookie, priority, reason, tableId, durationMs: st.durationMs ?? 0, idleTimeout, hardTimeout, packetCount: st.packetCount ?? 0n, byteCount: st.byteCount ?? 0n, match };
  }
  const cookie = r.u64();
  const priority = r.u16();
  const reason = removedReasonOf(r.u8());
  const tableId = r.u8();
  const duration = durationMs(r.u32(), r.u32());
  const idleTimeout = r.u16();
  const hardTimeout = r.u16();
  const packetCount = r.u64();
  const byteCount = r.u64();
  const match = pullOxmMatch(r);
  return { type: 'flow_removed', cookie, priority, reason, tableId, durationMs: duration, idleTimeout, hardTimeout, packetCount, byteCount, match };
}

// ---------------------------------------------------------------------------------------------
// packet_in

const PIN_REASONS: readonly PacketInReason[] = ['no_match', 'action', 'invalid_ttl', 'action_set', 'group', 'packet_out'];

function pinReasonOf(n: number): PacketInReason {
  const r = PIN_REASONS[n];
  if (!r) fail('OFPBRC_BAD_TYPE', `unknown packet_in reason ${n}`);
  return r;
}

/** NXT_PACKET_IN2 property types. */
const NXPINT = { PACKET: 0, FULL_LEN: 1, BUFFER_ID: 2, TABLE_ID: 3, COOKIE: 4, REASON: 5, METADATA: 6, USERDATA: 7, CONTINUATION: 8 } as const;

function putProp(w: OfWriter, type: number, body: (w: OfWriter) => void): void {
  const at = w.length;
  w.u16(type).u16(0);
  body(w);
  w.patchU16(at + 2, w.length - at);
  w.pad(8);
}

/** The in_port of a packet-in match (OFPP_NONE when it has none). */
function pinInPort(m: Match): number {
  return m.wc.has('in_port') ? Number(m.flow.get('in_port')) : OFPP.ANY;
}

export function encodePacketIn(m: MessageOf<'packet_in'>, s: Session, wire: BodyWire | 'nx2'): Buffer {
  const w = new OfWriter();
  const reason = PIN_REASONS.indexOf(m.reason);
  if (wire === 'nx2') {
    putProp(w, NXPINT.PACKET, (b) => b.bytes(m.data));
    if (m.totalLen !== m.data.length) putProp(w, NXPINT.FULL_LEN, (b) => b.u32(m.totalLen));
    if (m.bufferId !== NO_BUFFER) putProp(w, NXPINT.BUFFER_ID, (b) => b.u32(m.bufferId));
    putProp(w, NXPINT.TABLE_ID, (b) => b.u8(m.tableId));
    if (m.cookie !== ALL_ONES_64) putProp(w, NXPINT.COOKIE, (b) => b.zeros(4).u64(m.cookie));
    putProp(w, NXPINT.REASON, (b) => b.u8(reason));
    putProp(w, NXPINT.METADATA, (b) => putNxMatch(b, m.match, s.version === OFP10 ? 0 : s.version));
    // In OVS's order: the continuation, then the userdata (which NXT_RESUME does not carry).
    const { userdata, continuation } = m;
    if (continuation) putProp(w, NXPINT.CONTINUATION, (b) => b.zeros(4).bytes(continuation));
    if (userdata) putProp(w, NXPINT.USERDATA, (b) => b.bytes(userdata));
    return w.finish();
  }
  if (wire === 'nx') {
    w.u32(m.bufferId).u16(m.totalLen).u8(reason).u8(m.tableId).u64(m.cookie);
    const lenAt = w.length;
    w.u16(0).zeros(6);
    w.patchU16(lenAt, putPaddedNxMatch(w, m.match));
    w.zeros(2).bytes(m.data);
    return w.finish();
  }
  if (s.version === OFP10) {
    w.u32(m.bufferId).u16(m.totalLen).u16(pinInPort(m.match)).u8(reason).zeros(1).bytes(m.data);
    return w.finish();
  }
  if (s.version === OFP11) {
    const port = portToOf11(pinInPort(m.match));
    w.u32(m.bufferId).u32(port).u32(port).u16(m.totalLen).u8(reason).u8(m.tableId).bytes(m.data);
    return w.finish();
  }
  w.u32(m.bufferId).u16(m.totalLen).u8(reason).u8(m.tableId);
  if (s.version >= OFP13) w.u64(m.cookie);
  putOxmMatch(w, m.match, s.version);
  w.zeros(2).bytes(m.data);
  return w.finish();
}

/** NXT_PACKET_IN2's properties; each is at most once. */
function decodePacketIn2(r: OfReader): MessageOf<'packet_in'> {
  const pin: MessageOf<'packet_in'> = { type: 'packet_in', bufferId: NO_BUFFER, totalLen: 0, reason: 'action', tableId: 0, cookie: ALL_ONES_64, match: new Match(), data: Buffer.alloc(0) };
  let fullLen: number | undefined;
  let sawPacket = false;
  const seen = new Set<number>();
  while (r.remaining > 0) {
    const type = r.u16();
    const len = r.u16();
    if (len < 4 || len - 4 > r.remaining) fail('OFPBPC_BAD_LEN', `property ${type} has length ${len}`);
    const b = r.sub(len - 4, 'property');
    r.skip(Math.min(r.remaining, (8 - (len % 8)) % 8));
    if (seen.has(type)) fail('OFPBPC_DUP_TYPE', `property ${type} appears twice`);
    seen.add(type);
    const exact = (n: number) => {
      if (b.remaining !== n) fail('OFPBPC_BAD_LEN', `property ${type} has ${b.remaining} bytes, not ${n}`);
    };
    switch (type) {
      case NXPINT.PACKET:
        pin.data = Buffer.from(b.bytes(b.remaining));
        sawPacket = true;
        break;
      case NXPINT.FULL_LEN:
        exact(4);
        fullLen = b.u32();
        break;
      case NXPINT.BUFFER_ID:
        exact(4);
        pin.bufferId = b.u32();
        break;
      case NXPINT.TABLE_ID:
        exact(1);
        pin.tableId = b.u8();
        break;
      case NXPINT.COOKIE:
        exact(12);
        b.skip(4);
        pin.cookie = b.u64();
        break;
      case NXPINT.REASON:
        exact(1);
        pin.reason = pinReasonOf(b.u8());
        break;
      case NXPINT.METADATA:
        pin.match = pullNxMatch(b).match;
        break;
      case NXPINT.USERDATA:
        pin.userdata = Buffer.from(b.bytes(b.remaining));
        break;
      case NXPINT.CONTINUATION:
        if (b.remaining < 4) fail('OFPBPC_BAD_LEN', 'continuation property too short');
        b.skip(4);
        pin.continuation = Buffer.from(b.bytes(b.remaining));
        break;
      default:
        if (type & 0x8000) break; // OVS: properties with the top bit set may be ignored.
        fail('OFPBPC_BAD_TYPE', `unknown packet-in property ${type}`);
    }
  }
  if (!sawPacket) fail('OFPBRC_BAD_LEN', 'NXT_PACKET_IN2 without its packet');
  pin.totalLen = fullLen ?? pin.data.length;
  return pin;
}

export function decodePacketIn(r: OfReader, s: Session, wire: BodyWire | 'nx2'): MessageOf<'packet_in'> {
  if (wire === 'nx2') return decodePacketIn2(r);
  if (wire === 'nx') {
    const bufferId = r.u32();
    const totalLen = r.u16();
    const reason = pinReasonOf(r.u8());
    const tableId = r.u8();
    const cookie = r.u64();
    const len = r.u16();
    r.skip(6);
    const { match } = pullPaddedNxMatch(r, len, false);
    r.skip(2);
    return { type: 'packet_in', bufferId, totalLen, reason, tableId, cookie, match, data: Buffer.from(r.bytes(r.remaining)) };
  }
  if (s.version === OFP10) {
    const bufferId = r.u32();
    const totalLen = r.u16();
    const inPort = r.u16();
    const reason = pinReasonOf(r.u8());
    r.skip(1);
    return { type: 'packet_in', bufferId, totalLen, reason, tableId: 0, cookie: ALL_ONES_64, match: Match.of({ in_port: inPort }), data: Buffer.from(r.bytes(r.remaining)) };
  }
  if (s.version === OFP11) {
    const bufferId = r.u32();
    const inPort = of11PortIn(r.u32(), 'OFPBRC_BAD_PORT', 'in_port');
    r.skip(4);
    const totalLen = r.u16();
    const reason = pinReasonOf(r.u8());
    const tableId = r.u8();
    return { type: 'packet_in', bufferId, totalLen, reason, tableId, cookie: ALL_ONES_64, match: Match.of({ in_port: inPort }), data: Buffer.from(r.bytes(r.remaining)) };
  }
  const bufferId = r.u32();
  const totalLen = r.u16();
  const reason = pinReasonOf(r.u8());
  const tableId = r.u8();
  const cookie = s.version >= OFP13 ? r.u64() : ALL_ONES_64;
  const match = pullOxmMatch(r);
  r.skip(2);
  return { type: 'packet_in', bufferId, totalLen, reason, tableId, cookie, match, data: Buffer.from(r.bytes(r.remaining)) };
}

// ---------------------------------------------------------------------------------------------
// packet_out

/** A packet_out's in_port: a port, LOCAL, CONTROLLER or NONE (OFPP_ANY). */
function checkPacketOutPort(port: number): number {
  if (port < OFPP.MAX || port === OFPP.LOCAL || port === OFPP.CONTROLLER || port === OFPP.ANY) return port;
  return fail('OFPBRC_BAD_PORT', `packet_out in_port 0x${port.toString(16)} is not a port`);
}

export function encodePacketOut(m: MessageOf<'packet_out'>, s: Session): Buffer {
  const w = new OfWriter();
  const ctx = { version: s.version };
  let lenAt: number;
  if (s.version === OFP10) {
    w.u32(m.bufferId).u16(m.inPort);
    lenAt = w.length;
    w.u16(0);
  } else if (s.version < OFP15) {
    w.u32(m.bufferId).u32(portToOf11(m.inPort));
    lenAt = w.length;
    w.u16(0).zeros(6);
  } else {
    w.u32(m.bufferId);
    lenAt = w.length;
    w.u16(0).zeros(2);
    putOxmMatch(w, Match.of({ in_port: m.inPort }), s.version);
  }
  const start = w.length;
  putActions(w, m.actions, ctx);
  w.patchU16(lenAt, w.length - start);
  w.bytes(m.data);
  return w.finish();
}

export function decodePacketOut(r: OfReader, s: Session): MessageOf<'packet_out'> {
  const bufferId = r.u32();
  let inPort: number;
  let actionsLen: number;
  if (s.version === OFP10) {
    inPort = r.u16();
    actionsLen = r.u16();
  } else if (s.version < OFP15) {
    inPort = of11PortIn(r.u32(), 'OFPBRC_BAD_PORT', 'packet_out in_port');
    actionsLen = r.u16();
    r.skip(6);
  } else {
    actionsLen = r.u16();
    r.skip(2);
    const match = pullOxmMatch(r);
    const other = match.wc.fields().find((f) => f !== 'in_port' && f !== 'metadata' && f !== 'tun_id' && !f.startsWith('reg'));
    if (other) fail('OFPBRC_BAD_PORT', `packet_out match may hold only pipeline fields, not ${other}`);
    inPort = match.wc.has('in_port') ? Number(match.flow.get('in_port')) : OFPP.ANY;
  }
  checkPacketOutPort(inPort);
  if (actionsLen > r.remaining) fail('OFPBRC_BAD_LEN', `packet_out actions_len ${actionsLen} exceeds the message`);
  const actions = pullActions(r.sub(actionsLen, 'actions'), s.version);
  return { type: 'packet_out', bufferId, inPort, actions, data: Buffer.from(r.bytes(r.remaining)) };
}

// ---------------------------------------------------------------------------------------------
// Groups

const GROUP_TYPES: readonly GroupType[] = ['all', 'select', 'indirect', 'ff'];
const GROUP_COMMANDS: ReadonlyArray<GroupMod['command']> = ['add', 'modify', 'delete'];
/** OpenFlow 1.5 bucket properties. */
const OFPGBPT15 = { WEIGHT: 0, WATCH_PORT: 1, WATCH_GROUP: 2 } as const;
const OFPG15_BUCKET_ALL = 0xffffffff;

function groupTypeOf(n: number): GroupType {
  const t = GROUP_TYPES[n];
  if (!t) fail('OFPGMFC_BAD_TYPE', `unknown group type ${n}`);
  return t;
}

function requireGroups(s: Session): void {
  if (s.version < OFP11) throw new OfEncodeError('groups need OpenFlow 1.1 or later');
}

/** Buckets; OpenFlow 1.5 gives them ids (their index) and a weight property in select groups, as OVS does. */
function putBuckets(w: OfWriter, buckets: readonly Bucket[], type: GroupType, s: Session): void {
  const ctx = { version: s.version };
  buckets.forEach((b, i) => {
    const at = w.length;
    if (s.version >= OFP15) {
      w.u16(0).u16(0).u32(i);
      const actStart = w.length;
      putActions(w, b.actions, ctx);
      w.patchU16(at + 2, w.length - actStart);
      if (type === 'select') putProp(w, OFPGBPT15.WEIGHT, (p) => p.u16(b.weight).zeros(2));
      if (b.watchPort !== OFPP.ANY) putProp(w, OFPGBPT15.WATCH_PORT, (p) => p.u32(portToOf11(b.watchPort)));
      if (b.watchGroup !== OFPG.ANY) putProp(w, OFPGBPT15.WATCH_GROUP, (p) => p.u32(b.watchGroup));
    } else {
      w.u16(0).u16(b.weight).u32(portToOf11(b.watchPort)).u32(b.watchGroup).zeros(4);
      putActions(w, b.actions, ctx);
    }
    w.patchU16(at, w.length - at);
  });
}

function pullBuckets(r: OfReader, s: Session): Bucket[] {
  const out: Bucket[] = [];
  while (r.remaining > 0) {
    if (r.remaining < 16) fail('OFPGMFC_BAD_BUCKET', `${r.remaining} bytes left where a bucket needs 16`);
    const len = r.u16();
    if (len < 16 || len % 8 || len - 2 > r.remaining) fail('OFPGMFC_BAD_BUCKET', `bucket length ${len}`);
    const b = r.sub(len - 2, 'bucket');
    if (s.version >= OFP15) {
      const actionsLen = b.u16();
      b.skip(4);
      if (actionsLen > b.remaining) fail('OFPGMFC_BAD_BUCKET', `bucket actions length ${actionsLen} exceeds the bucket`);
      const actions = pullActions(b.sub(actionsLen, 'bucket actions'), s.version);
      const bucket: Bucket = { weight: 0, watchPort: OFPP.ANY, watchGroup: OFPG.ANY, actions };
      while (b.remaining > 0) {
        const type = b.u16();
        const plen = b.u16();
        if (plen < 4 || plen - 4 > b.remaining) fail('OFPBPC_BAD_LEN', `bucket property ${type} has length ${plen}`);
        const p = b.sub(plen - 4, 'property');
        b.skip(Math.min(b.remaining, (8 - (plen % 8)) % 8));
        if (type === OFPGBPT15.WEIGHT && p.remaining >= 2) bucket.weight = p.u16();
        else if (type === OFPGBPT15.WATCH_PORT && p.remaining === 4) bucket.watchPort = of11PortIn(p.u32(), 'OFPGMFC_BAD_WATCH', 'watch_port');
        else if (type === OFPGBPT15.WATCH_GROUP && p.remaining === 4) bucket.watchGroup = p.u32();
        else fail('OFPBPC_BAD_TYPE', `bucket property ${type} is not supported`);
      }
      out.push(bucket);
    } else {
      const weight = b.u16();
      const watchPort = of11PortIn(b.u32(), 'OFPGMFC_BAD_WATCH', 'watch_port');
      const watchGroup = b.u32();
      b.skip(4);
      out.push({ weight, watchPort, watchGroup, actions: pullActions(b, s.version) });
    }
  }
  return out;
}

export function encodeGroupMod(mod: GroupMod, s: Session): Buffer {
  requireGroups(s);
  const w = new OfWriter();
  w.u16(GROUP_COMMANDS.indexOf(mod.command)).u8(GROUP_TYPES.indexOf(mod.type)).zeros(1).u32(mod.groupId);
  if (s.version >= OFP15) {
    const lenAt = w.length;
    w.u16(0).zeros(2).u32(OFPG15_BUCKET_ALL);
    const start = w.length;
    putBuckets(w, mod.buckets, mod.type, s);
    w.patchU16(lenAt, w.length - start);
  } else {
    putBuckets(w, mod.buckets, mod.type, s);
  }
  return w.finish();
}

export function decodeGroupMod(r: OfReader, s: Session): GroupMod {
  if (s.version < OFP11) fail('OFPBRC_BAD_TYPE', 'group_mod is an OpenFlow 1.1+ message');
  const cmd = r.u16();
  const command = GROUP_COMMANDS[cmd];
  if (!command) fail('OFPGMFC_BAD_COMMAND', `group_mod command ${cmd} is not supported`);
  const type = groupTypeOf(r.u8());
  r.skip(1);
  const groupId = r.u32();
  if (s.version >= OFP15) {
    const bucketsLen = r.u16();
    r.skip(2);
    const bucketId = r.u32();
    if (bucketId !== OFPG15_BUCKET_ALL) fail('OFPGMFC_BAD_BUCKET', `command_bucket_id 0x${bucketId.toString(16)}: only OFPG_BUCKET_ALL is supported`);
    if (bucketsLen > r.remaining) fail('OFPGMFC_BAD_BUCKET', `bucket array length ${bucketsLen} exceeds the message`);
    const buckets = pullBuckets(r.sub(bucketsLen, 'buckets'), s);
    return { command, groupId, type, buckets };
  }
  return { command, groupId, type, buckets: pullBuckets(r, s) };
}

export function encodeGroupDesc(g: GroupDesc, s: Session): Buffer {
  requireGroups(s);
  const w = new OfWriter();
  w.u16(0).u8(GROUP_TYPES.indexOf(g.type)).zeros(1).u32(g.groupId);
  if (s.version >= OFP15) {
    w.u16(0).zeros(6);
    const start = w.length;
    putBuckets(w, g.buckets, g.type, s);
    w.patchU16(8, w.length - start);
  } else {
    putBuckets(w, g.buckets, g.type, s);
  }
  w.patchU16(0, w.length);
  return w.finish();
}

export function decodeGroupDesc(r: OfReader, s: Session): GroupDesc {
  const len = r.u16();
  if (len < 8 || len - 2 > r.remaining) fail('OFPBRC_BAD_LEN', `group_desc entry length ${len}`);
  const b = r.sub(len - 2, 'group_desc');
  const type = groupTypeOf(b.u8());
  b.skip(1);
  const groupId = b.u32();
  if (s.version >= OFP15) {
    const bucketsLen = b.u16();
    b.skip(6);
    if (bucketsLen > b.remaining) fail('OFPBRC_BAD_LEN', `bucket list length ${bucketsLen} exceeds the entry`);
    return { groupId, type, buckets: pullBuckets(b.sub(bucketsLen, 'buckets'), s) };
  }
  return { groupId, type, buckets: pullBuckets(b, s) };
}

// ---------------------------------------------------------------------------------------------
// Meters

const METER_COMMANDS: ReadonlyArray<MeterMod['command']> = ['add', 'modify', 'delete'];
const OFPMBT = { DROP: 1, DSCP_REMARK: 2 } as const;

function requireMeters(s: Session): void {
  if (s.version < OFP13) throw new OfEncodeError('meters need OpenFlow 1.3 or later');
}

function meterFlagsNumber(f: MeterFlags): number {
  return (f.kbps ? 1 : 0) | (f.pktps ? 2 : 0) | (f.burst ? 4 : 0) | (f.stats ? 8 : 0);
}

function meterFlagsOf(v: number): MeterFlags {
  if (v & ~15) fail('OFPMMFC_BAD_FLAGS', `unknown meter flags 0x${v.toString(16)}`);
  if (v & 1 && v & 2) fail('OFPMMFC_BAD_FLAGS', 'a meter is either kbps or pktps, not both');
  const f: MeterFlags = {};
  if (v & 1) f.kbps = true;
  if (v & 2) f.pktps = true;
  if (v & 4) f.burst = true;
  if (v & 8) f.stats = true;
  return f;
}

function putBands(w: OfWriter, bands: readonly MeterBand[]): void {
  for (const b of bands) {
    w.u16(b.type === 'drop' ? OFPMBT.DROP : OFPMBT.DSCP_REMARK).u16(16).u32(b.rate).u32(b.burstSize);
    if (b.type === 'dscp_remark') w.u8(b.precLevel).zeros(3);
    else w.zeros(4);
  }
}

function pullBands(r: OfReader): MeterBand[] {
  const out: MeterBand[] = [];
  while (r.remaining > 0) {
    if (r.remaining < 16) fail('OFPMMFC_BAD_BAND', `${r.remaining} bytes left where a meter band needs 16`);
    const type = r.u16();
    const len = r.u16();
    if (len < 16 || len % 8 || len - 4 > r.remaining) fail('OFPMMFC_BAD_BAND', `meter band length ${len}`);
    const b = r.sub(len - 4, 'band');
    const rate = b.u32();
    const burstSize = b.u32();
    if (rate === 0) fail('OFPMMFC_BAD_RATE', 'a meter band needs a rate above 0');
    if (type === OFPMBT.DROP) out.push({ type: 'drop', rate, burstSize });
    else if (type === OFPMBT.DSCP_REMARK) out.push({ type: 'dscp_remark', rate, burstSize, precLevel: b.u8() });
    else fail('OFPMMFC_BAD_BAND', `meter band type ${type} is not supported: use drop or dscp_remark`);
  }
  return out;
}

export function encodeMeterMod(mod: MeterMod, s: Session): Buffer {
  requireMeters(s);
  const w = new OfWriter();
  w.u16(METER_COMMANDS.indexOf(mod.command)).u16(meterFlagsNumber(mod.flags)).u32(mod.meterId);
  putBands(w, mod.bands);
  return w.finish();
}

export function decodeMeterMod(r: OfReader, s: Session): MeterMod {
  if (s.version < OFP13) fail('OFPBRC_BAD_TYPE', 'meter_mod is an OpenFlow 1.3+ message');
  const cmd = r.u16();
  const command = METER_COMMANDS[cmd];
  if (!command) fail('OFPMMFC_BAD_COMMAND', `meter_mod command ${cmd} is not supported`);
  const flags = meterFlagsOf(r.u16());
  const meterId = r.u32();
  return { command, meterId, flags, bands: pullBands(r) };
}

export function encodeMeterConfig(m: MeterConfig, s: Session): Buffer {
  requireMeters(s);
  const w = new OfWriter();
  w.u16(0).u16(meterFlagsNumber(m.flags)).u32(m.meterId);
  putBands(w, m.bands);
  w.patchU16(0, w.length);
  return w.finish();
}

export function decodeMeterConfig(r: OfReader, s: Session): MeterConfig {
  if (s.version < OFP13) fail('OFPBRC_BAD_TYPE', 'meter_config is an OpenFlow 1.3+ reply');
  const len = r.u16();
  if (len < 8 || len - 2 > r.remaining) fail('OFPBRC_BAD_LEN', `meter_config entry length ${len}`);
  const b = r.sub(len - 2, 'meter_config');
  const flags = meterFlagsOf(b.u16());
  const meterId = b.u32();
  return { meterId, flags, bands: pullBands(b) };
}

// ---------------------------------------------------------------------------------------------
// Flow and aggregate stats

/** The body of a flow or aggregate stats request (both have the same layout). */
export function encodeFlowStatsRequest(req: FlowStatsRequest, s: Session, wire: BodyWire): Buffer {
  const w = new OfWriter();
  if (wire === 'nx') {
    w.u16(req.outPort);
    const lenAt = w.length;
    w.u16(0).u8(req.tableId).zeros(3);
    w.patchU16(lenAt, putPaddedNxMatch(w, req.match, { value: req.cookie, mask: req.cookieMask }));
    return w.finish();
  }
  if (s.version === OFP10) {
    if (req.cookieMask) throw new OfEncodeError('OpenFlow 1.0 stats requests cannot filter by cookie: use NXST_FLOW or OpenFlow 1.1+');
    putOf10Match(w, req.match);
    w.u8(req.tableId).zeros(1).u16(req.outPort);
    return w.finish();
  }
  w.u8(req.tableId).zeros(3).u32(portToOf11(req.outPort)).u32(req.outGroup).zeros(4).u64(req.cookie & req.cookieMask).u64(req.cookieMask);
  putOxmMatch(w, req.match, s.version);
  return w.finish();
}

export function decodeFlowStatsRequest(r: OfReader, s: Session, wire: BodyWire, kind: FlowStatsRequest['kind']): FlowStatsRequest {
  if (wire === 'nx') {
    const outPort = r.u16();
    const len = r.u16();
    const tableId = r.u8();
    r.skip(3);
    const { match, cookie } = pullPaddedNxMatch(r, len, true);
    return { kind, tableId, match, outPort, outGroup: OFPG.ANY, cookie: cookie?.value ?? 0n, cookieMask: cookie?.mask ?? 0n };
  }
  if (s.version === OFP10) {
    const match = pullOf10Match(r);
    const tableId = r.u8();
    r.skip(1);
    return { kind, tableId, match, outPort: r.u16(), outGroup: OFPG.ANY, cookie: 0n, cookieMask: 0n };
  }
  const tableId = r.u8();
  r.skip(3);
  const outPort = of11PortIn(r.u32(), 'OFPBRC_BAD_PORT', 'out_port');
  const outGroup = r.u32();
  r.skip(4);
  const cookie = r.u64();
  const cookieMask = r.u64();
  const match = pullOxmMatch(r);
  return { kind, tableId, match, outPort, outGroup, cookie: cookie & cookieMask, cookieMask };
}

/** NXST_FLOW's ages: seconds plus one, 0 meaning unknown. */
function nxAge(ms: number): number {
  return Math.min(0xffff, Math.floor(ms / 1000) + 1);
}

/** One entry of a flow stats reply; the dispatcher packs entries into as many messages as it needs. */
export function encodeFlowStats(f: FlowStats, s: Session, wire: BodyWire): Buffer {
  const w = new OfWriter();
  putFlowStats(w, f, s, wire);
  return w.finish();
}

/** Appends one flow stats entry to `w` (a dump writes all of its entries into one writer). */
export function putFlowStats(w: OfWriter, f: FlowStats, s: Session, wire: BodyWire): void {
  const start = w.length;
  const ctx = { version: s.version, match: f.match };
  if (wire === 'nx') {
    w.u16(0).u8(f.tableId).zeros(1);
    putDuration(w, f.durationMs);
    w.u16(f.priority).u16(f.idleTimeout).u16(f.hardTimeout);
    const lenAt = w.length;
    w.u16(0).u16(nxAge(f.idleAgeMs)).u16(nxAge(f.hardAgeMs)).u64(f.cookie).u64(f.packetCount).u64(f.byteCount);
    w.patchU16(lenAt, putPaddedNxMatch(w, f.match));
    putInstructions(w, f.instructions, { ...ctx, version: OFP10 });
  } else if (s.version === OFP10) {
    w.u16(0).u8(f.tableId).zeros(1);
    putOf10Match(w, f.match);
    putDuration(w, f.durationMs);
    w.u16(f.priority).u16(f.idleTimeout).u16(f.hardTimeout).zeros(6).u64(f.cookie).u64(f.packetCount).u64(f.byteCount);
    putInstructions(w, f.instructions, ctx);
  } else if (s.version >= OFP15) {
    w.u16(0).zeros(2).u8(f.tableId).zeros(1).u16(f.priority).u16(f.idleTimeout).u16(f.hardTimeout);
    w.u16(encodeFlags(f.flags, s.version, false)).u16(f.importance).u64(f.cookie);
    putOxmMatch(w, f.match, s.version);
    putOxsStats(w, { durationMs: f.durationMs, idleAgeMs: f.idleAgeMs, packetCount: f.packetCount, byteCount: f.byteCount });
    putInstructions(w, f.instructions, ctx);
  } else {
    w.u16(0).u8(f.tableId).zeros(1);
    putDuration(w, f.durationMs);
    w.u16(f.priority).u16(f.idleTimeout).u16(f.hardTimeout);
    w.u16(s.version >= OFP13 ? encodeFlags(f.flags, s.version, false) : 0).u16(s.version >= OFP14 ? f.importance : 0).zeros(2);
    w.u64(f.cookie).u64(f.packetCount).u64(f.byteCount);
    putOxmMatch(w, f.match, s.version);
    putInstructions(w, f.instructions, ctx);
  }
  w.patchU16(start, w.length - start);
}

/** Reads one entry, advancing `r` past it. */
export function decodeFlowStats(r: OfReader, s: Session, wire: BodyWire): FlowStats {
  const len = r.u16();
  if (len < 8 || len - 2 > r.remaining) fail('OFPBRC_BAD_LEN', `flow stats entry length ${len}`);
  const b = r.sub(len - 2, 'flow stats');
  const base = { flags: {}, importance: 0, idleAgeMs: 0, hardAgeMs: 0 };
  if (wire === 'nx') {
    const tableId = b.u8();
    b.skip(1);
    const duration = durationMs(b.u32(), b.u32());
    const priority = b.u16();
    const idleTimeout = b.u16();
    const hardTimeout = b.u16();
    const matchLen = b.u16();
    const idleAge = b.u16();
    const hardAge = b.u16();
    const cookie = b.u64();
    const packetCount = b.u64();
    const byteCount = b.u64();
    const { match } = pullPaddedNxMatch(b, matchLen, false);
    const instructions = { apply: [], clearActions: false } as FlowStats['instructions'];
    instructions.apply = pullActions(b, OFP10, instructions);
    return { ...base, tableId, durationMs: duration, priority, idleTimeout, hardTimeout, cookie, packetCount, byteCount, idleAgeMs: idleAge ? (idleAge - 1) * 1000 : 0, hardAgeMs: hardAge ? (hardAge - 1) * 1000 : 0, match, instructions };
  }
  if (s.version === OFP10) {
    const tableId = b.u8();
    b.skip(1);
    const match = pullOf10Match(b);
    const duration = durationMs(b.u32(), b.u32());
    const priority = b.u16();
    const idleTimeout = b.u16();
    const hardTimeout = b.u16();
    b.skip(6);
    const cookie = b.u64();
    const packetCount = b.u64();
    const byteCount = b.u64();
    return { ...base, tableId, durationMs: duration, priority, idleTimeout, hardTimeout, cookie, packetCount, byteCount, match, instructions: { apply: pullActions(b, OFP10), clearActions: false } };
  }
  if (s.version >= OFP15) {
    b.skip(2);
    const tableId = b.u8();
    b.skip(1);
    const priority = b.u16();
    const idleTimeout = b.u16();
    const hardTimeout = b.u16();
    const flags = decodeFlags(b.u16(), s.version, false);
    const importance = b.u16();
    const cookie = b.u64();
    const match = pullOxmMatch(b);
    const st = pullOxsStats(b);
    const instructions = pullInstructions(b, s.version);
    return {
      ...base, tableId, durationMs: st.durationMs ?? 0, priority, idleTimeout, hardTimeout, flags, importance, cookie,
      packetCount: st.packetCount ?? 0n, byteCount: st.byteCount ?? 0n, idleAgeMs: st.idleAgeMs ?? 0, match, instructions,
    };
  }
  const tableId = b.u8();
  b.skip(1);
  const duration = durationMs(b.u32(), b.u32());
  const priority = b.u16();
  const idleTimeout = b.u16();
  const hardTimeout = b.u16();
  const rawFlags = b.u16();
  const importance = b.u16();
  b.skip(2);
  const cookie = b.u64();
  const packetCount = b.u64();
  const byteCount = b.u64();
  const match = pullOxmMatch(b);
  const instructions = pullInstructions(b, s.version);
  return {
    ...base, tableId, durationMs: duration, priority, idleTimeout, hardTimeout, flags: s.version >= OFP13 ? decodeFlags(rawFlags, s.version, false) : {},
    importance: s.version >= OFP14 ? importance : 0, cookie, packetCount, byteCount, match, instructions,
  };
}

