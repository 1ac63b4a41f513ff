/**
 * The bodies of multipart (OpenFlow 1.0: stats) requests and replies, after their headers.
 *
 * Which number a kind has depends on the version: OpenFlow 1.0 has no groups or meters of its
 * own, so OVS carries group statistics there as Nicira vendor stats (NXST_*), and with the NXM
 * flow format flow and aggregate statistics are NXST_FLOW / NXST_AGGREGATE. A reply is a list of
 * entries that the dispatcher packs into as many messages as it needs, so the encoders here
 * return one buffer per entry; the decoders read a whole part.
 *
 * Bodies that hold matches and actions (flow stats, group_desc, meter_config and the flow request)
 * come from ./flow-messages.ts.
 */
import type { GroupType } from '../../ofproto/groups.js';
import type { MeterBand } from '../../ofproto/meters.js';
import { OFP10, OFP11, OFP12, OFP13, OFP14, OFP15, type MultipartReply, type MultipartRequest, type Session } from '../messages.js';
import { OfDecodeError, OfReader, OfWriter } from './buffer.js';
import {
  decodeFlowStats,
  decodeFlowStatsRequest,
  decodeGroupDesc,
  decodeMeterConfig,
  encodeFlowStatsRequest,
  encodeGroupDesc,
  encodeMeterConfig,
  putFlowStats,
  type BodyWire,
} from './flow-messages.js';
import { decodeFlowUpdates, decodeMonitorRequests, encodeFlowUpdate, encodeMonitorRequests, ONFST_FLOW_MONITOR } from './monitor.js';
import { readOxsStats, writeOxsStats } from './oxs.js';
import { decodeQueueDesc, encodeQueueDesc } from './queues.js';
import { decodeTableDesc, decodeTableFeatures, encodeTableDesc, encodeTableFeatures } from './table-features.js';
import { portToOf11, readPort, readPortDesc, writePort, writePortDesc } from './ports.js';

type Kind = MultipartRequest['kind'];

/** A multipart type as it appears on the wire: an OFPMP_* number, or a vendor's (Nicira's NXST_*, ONF's ONFST_*) experimenter type. */
export interface StatNumber {
  vendor?: 'nicira' | 'onf';
  number: number;
}

/** OFPMP_* numbers and the first version each exists in (port_desc is OVS's extension back to 1.0). */
const OFPMP: Record<Kind, { number: number; since: number }> = {
  desc: { number: 0, since: OFP10 },
  flow: { number: 1, since: OFP10 },
  aggregate: { number: 2, since: OFP10 },
  table: { number: 3, since: OFP10 },
  port: { number: 4, since: OFP10 },
  queue: { number: 5, since: OFP10 },
  group: { number: 6, since: OFP11 },
  group_desc: { number: 7, since: OFP11 },
  group_features: { number: 8, since: OFP12 },
  meter: { number: 9, since: OFP13 },
  meter_config: { number: 10, since: OFP13 },
  meter_features: { number: 11, since: OFP13 },
  table_features: { number: 12, since: OFP13 },
  port_desc: { number: 13, since: OFP10 },
  table_desc: { number: 14, since: OFP14 },
  queue_desc: { number: 15, since: OFP14 },
  flow_monitor: { number: 16, since: OFP14 },
};

/** Nicira stats subtypes and the versions OVS uses them on (where the standard has no equivalent). */
const NXST: Partial<Record<Kind, { number: number; until: number }>> = {
  flow: { number: 0, until: OFP10 },
  aggregate: { number: 1, until: OFP10 },
  group: { number: 7, until: OFP10 },
  group_desc: { number: 8, until: OFP10 },
  group_features: { number: 9, until: OFP11 },
  flow_monitor: { number: 2, until: OFP12 },
};

/** ONF's experimenter multipart types: OVS's flow monitors on OpenFlow 1.3 (only). */
const ONFST: Partial<Record<Kind, number>> = {
  flow_monitor: ONFST_FLOW_MONITOR,
};

/** Whether flow and aggregate statistics travel as NXST_FLOW / NXST_AGGREGATE on this session. */
export function flowWire(s: Session): BodyWire {
  return s.version === OFP10 && s.flowFormat === 'nxm' ? 'nx' : 'ofp';
}

/** The wire number of `kind` on this session, or undefined when the version cannot carry it. */
export function statNumber(kind: Kind, s: Session): StatNumber | undefined {
  const nx = NXST[kind];
  const onf = ONFST[kind];
  if ((kind === 'flow' || kind === 'aggregate') && flowWire(s) === 'ofp') return { number: OFPMP[kind].number };
  if (nx && s.version <= nx.until) return { vendor: 'nicira', number: nx.number };
  if (onf !== undefined && s.version === OFP13) return { vendor: 'onf', number: onf };
  return s.version >= OFPMP[kind].since ? { number: OFPMP[kind].number } : undefined;
}

/** The kind a wire number means on this session; unknown numbers are OFPBRC_BAD_STAT (OpenFlow 1.3's BAD_MULTIPART). */
export function statKind(n: StatNumber, s: Session): Kind {
  if (n.vendor === 'onf') {
    const kind = (Object.keys(ONFST) as Kind[]).find((k) => ONFST[k] === n.number);
    if (kind && s.version === OFP13) return kind;
  }
  const table = n.vendor === 'nicira' ? NXST : n.vendor === undefined ? OFPMP : {};
  for (const [kind, entry] of Object.entries(table) as Array<[Kind, { number: number; since?: number; until?: number }]>) {
    if (entry.number !== n.number) continue;
    if (n.vendor ? s.version <= (entry.until ?? 0) : s.version >= (entry.since ?? 0xff)) return kind;
  }
  const what = n.vendor === 'nicira' ? `Nicira stats subtype ${n.number}` : n.vendor === 'onf' ? `ONF experimenter multipart type ${n.number}` : `multipart type ${n.number}`;
  throw new OfDecodeError(n.vendor ? 'OFPBRC_BAD_SUBTYPE' : 'OFPBRC_BAD_STAT', `${what} is not supported in OpenFlow 1.${s.version - 1}`);
}

const OFPG_ALL = 0xfffffffc;

// ---- requests ----

export function encodeRequestBody(req: MultipartRequest, s: Session): Buffer {
  const w = new OfWriter();
  switch (req.kind) {
    case 'desc':
    case 'table':
    case 'table_features':
    case 'table_desc':
    case 'group_features':
    case 'meter_features':
      break;
    case 'flow':
    case 'aggregate':
      return encodeFlowStatsRequest(req, s, flowWire(s));
    case 'port':
      writePort(w, req.portNo, s.version);
      w.zeros(s.version === OFP10 ? 6 : 4);
      break;
    case 'port_desc':
      // OpenFlow 1.5 asks for one port or all (OFPP_ANY).
      if (s.version >= OFP15) w.u32(0xffffffff).zeros(4);
      break;
    case 'queue':
      writePort(w, req.portNo, s.version);
      if (s.version === OFP10) w.zeros(2);
      w.u32(req.queueId);
      break;
    case 'queue_desc':
      writePort(w, req.portNo, s.version);
      w.u32(req.queueId);
      break;
    case 'group':
      w.u32(req.groupId).zeros(4);
      break;
    case 'group_desc':
      // NXST_GROUP_DESC and OpenFlow 1.5 name a group; TVS always asks for all of them.
      if (s.version === OFP10 || s.version >= OFP15) w.u32(OFPG_ALL).zeros(4);
      break;
    case 'meter':
    case 'meter_config':
      w.u32(req.meterId).zeros(4);
      break;
    case 'flow_monitor':
      return encodeMonitorRequests(req.monitors, s);
  }
  return w.finish();
}

/** Refuses bytes left over after a fixed-size structure: OVS checks every length exactly. */
function end(r: OfReader, what: string): void {
  if (r.remaining !== 0) throw new OfDecodeError('OFPBRC_BAD_LEN', `${what} has ${r.remaining} bytes more than its structure`);
}

export function decodeRequestBody(kind: Kind, r: OfReader, s: Session): MultipartRequest {
  let req: MultipartRequest;
  switch (kind) {
    case 'desc':
    case 'table':
    case 'table_desc':
    case 'group_features':
    case 'meter_features':
      req = { kind };
      break;
    case 'table_features':
      // A request with a body would set the tables' features; TVS answers it with the features it has.
      r.skip(r.remaining);
      req = { kind };
      break;
    case 'flow':
    case 'aggregate':
      return decodeFlowStatsRequest(r, s, flowWire(s), kind);
    case 'port':
      req = { kind, portNo: readPort(r, s.version) };
      r.skip(s.version === OFP10 ? 6 : 4);
      break;
    case 'port_desc':
      if (s.version >= OFP15) r.skip(8, 'port_desc request');
      req = { kind };
      break;
    case 'queue': {
      const portNo = readPort(r, s.version);
      if (s.version === OFP10) r.skip(2);
      req = { kind, portNo, queueId: r.u32('queue_id') };
      break;
    }
    case 'queue_desc':
      req = { kind, portNo: readPort(r, s.version), queueId: r.u32('queue_id') };
      break;
    case 'group':
      req = { kind, groupId: r.u32('group_id') };
      r.skip(4);
      break;
    case 'group_desc':
      if (s.version === OFP10 || s.version >= OFP15) r.skip(8, 'group_desc request');
      req = { kind };
      break;
    case 'meter':
    case 'meter_config':
      req = { kind, meterId: r.u32('meter_id') };
      r.skip(4);
      break;
    case 'flow_monitor':
      return { kind, monitors: decodeMonitorRequests(r, s) };
  }
  end(r, `${kind} request`);
  return req;
}

// ---- replies ----

function durationParts(w: OfWriter, ms: number): void {
  const whole = Math.max(0, Math.floor(ms));
  w.u32(Math.floor(whole / 1000)).u32((whole % 1000) * 1_000_000);
}

function readDuration(r: OfReader): number {
  const sec = r.u32('duration_sec');
  const nsec = r.u32('duration_nsec');
  return sec * 1000 + Math.floor(nsec / 1_000_000);
}

const GROUP_TYPES: GroupType[] = ['all', 'select', 'indirect', 'ff'];
const BAND_TYPES: Record<MeterBand['type'], number> = { drop: 1, dscp_remark: 2 };
/** OpenFlow 1.0 table stats: every ofp_match field is wildcardable (OFPFW10_ALL). */
const OFPFW10_ALL = 0x3fffff;

function entry(fill: (w: OfWriter) => void): Buffer {
  const w = new OfWriter();
  fill(w);
  return w.finish();
}

/** An entry whose first field is its own 16-bit length, filled in once the entry is written. */
function sizedEntry(fill: (w: OfWriter) => void): Buffer {
  const w = new OfWriter();
  fill(w);
  w.patchU16(0, w.length);
  return w.finish();
}

/** The reply's entries, each one buffer; a reply that is one structure is one entry. */
export function encodeReplyEntries(reply: MultipartReply, s: Session): Buffer[] {
  const v = s.version;
  switch (reply.kind) {
    case 'desc':
      return [entry((w) => w.str(reply.desc.mfr, 256).str(reply.desc.hw, 256).str(reply.desc.sw, 256).str(reply.desc.serial, 32).str(reply.desc.dp, 256))];
    case 'flow': {
      // Every entry into one writer, then views of it: a dump of many flows is one growing
      // buffer rather than two allocations per flow.
      const w = new OfWriter();
      const wire = flowWire(s);
      const ends = reply.flows.map((f) => {
        putFlowStats(w, f, s, wire);
        return w.length;
      });
      const all = w.finish();
      return ends.map((end, i) => all.subarray(ends[i - 1] ?? 0, end));
    }
    case 'flow_monitor':
      return reply.updates.map((u) => encodeFlowUpdate(u, s));
    case 'aggregate':
      if (v >= OFP15) return [entry((w) => writeOxsStats(w, { packetCount: reply.packetCount, byteCount: reply.byteCount, flowCount: reply.flowCount }))];
      return [entry((w) => w.u64(reply.packetCount).u64(reply.byteCount).u32(reply.flowCount).zeros(4))];
    case 'table':
      return reply.tables.map((t) =>
        entry((w) => {
          if (v === OFP10) {
            w.u8(t.tableId).zeros(3).str(t.name, 32).u32(OFPFW10_ALL).u32(t.maxEntries).u32(t.activeCount).u64(t.lookupCount).u64(t.matchedCount);
          } else if (v >= OFP13) {
            w.u8(t.tableId).zeros(3).u32(t.activeCount).u64(t.lookupCount).u64(t.matchedCount);
          } else {
            // OpenFlow 1.1 and 1.2 also list the fields, actions and instructions a table supports,
            // which the model does not carry: they are sent as none.
            w.u8(t.tableId).zeros(7).str(t.name, 32).zeros(v === OFP11 ? 24 : 64).u32(t.maxEntries).u32(t.activeCount);
            w.u64(t.lookupCount).u64(t.matchedCount);
          }
        }),
      );
    case 'table_features':
      return reply.tables.map((t) => encodeTableFeatures(t, v));
    case 'table_desc':
      return reply.tables.map(encodeTableDesc);
    case 'queue_desc':
      return reply.queues.map((q) => encodeQueueDesc(q, v));
    case 'port':
      return reply.ports.map((p) =>
        entry((w) => {
          const counters = [p.rxPackets, p.txPackets, p.rxBytes, p.txBytes, p.rxDropped, p.txDropped, p.rxErrors, p.txErrors];
          const ethernet = [p.rxFrameErr, p.rxOverErr, p.rxCrcErr, p.collisions];
          if (v >= OFP14) {
            w.u16(120).zeros(2).u32(portToOf11(p.portNo));
            durationParts(w, p.durationMs);
            for (const c of counters) w.u64(c);
            w.u16(0).u16(40).zeros(4);
            for (const c of ethernet) w.u64(c);
            return;
          }
          writePort(w, p.portNo, v);
          w.zeros(v === OFP10 ? 6 : 4);
          for (const c of [...counters, ...ethernet]) w.u64(c);
          if (v === OFP13) durationParts(w, p.durationMs);
        }),
      );
    case 'port_desc':
      return reply.ports.map((p) => entry((w) => writePortDesc(w, p, v)));
    case 'queue':
      return reply.queues.map((q) =>
        entry((w) => {
          if (v >= OFP14) w.u16(48).zeros(6);
          writePort(w, q.portNo, v);
          if (v === OFP10) w.zeros(2);
          w.u32(q.queueId).u64(q.txBytes).u64(q.txPackets).u64(q.txErrors);
          if (v >= OFP13) durationParts(w, q.durationMs);
        }),
      );
    case 'group':
      return reply.groups.map((g) =>
        sizedEntry((w) => {
          w.u16(0).zeros(2).u32(g.groupId).u32(g.refCount).zeros(4).u64(g.packetCount).u64(g.byteCount);
          // NXST_GROUP (OpenFlow 1.0) has OpenFlow 1.3's layout; 1.1 and 1.2 have no duration.
          if (v === OFP10 || v >= OFP13) durationParts(w, g.durationMs);
          for (const b of g.buckets) w.u64(b.packetCount).u64(b.byteCount);
        }),
      );
    case 'group_desc':
      return reply.groups.map((g) => encodeGroupDesc(g, s));
    case 'group_features':
      return [
        entry((w) => {
          w.u32(reply.types.reduce((bits, t) => bits | (1 << GROUP_TYPES.indexOf(t)), 0)).u32(reply.capabilities);
          for (const t of GROUP_TYPES) w.u32(reply.maxGroups[t]);
          for (const t of GROUP_TYPES) w.u32(reply.actions[t]);
        }),
      ];
    case 'meter':
      return reply.meters.map((m) =>
        entry((w) => {
          w.u32(m.meterId).u16(40 + 16 * m.bands.length).zeros(6).u32(m.flowCount).u64(m.packetInCount).u64(m.byteInCount);
          durationParts(w, m.durationMs);
          for (const b of m.bands) w.u64(b.packetCount).u64(b.byteCount);
        }),
      );
    case 'meter_config':
      return reply.meters.map((m) => encodeMeterConfig(m, s));
    case 'meter_features':
      return [
        entry((w) => {
          const bands = reply.bandTypes.reduce((bits, t) => bits | (1 << BAND_TYPES[t]), 0);
          w.u32(reply.maxMeters).u32(bands).u32(reply.capabilities).u8(reply.maxBands).u8(reply.maxColor).zeros(2);
        }),
      ];
  }
}

/** A sub-reader over an entry that starts with its own 16-bit length (at `lengthAt`), at least `min` bytes. */
function sizedSub(r: OfReader, lengthAt: number, min: number, what: string): OfReader {
  if (r.remaining < lengthAt + 2) throw new OfDecodeError('OFPBRC_BAD_LEN', `${what} is truncated before its length`);
  const len = r.buf.readUInt16BE(r.offset + lengthAt);
  if (len < min) throw new OfDecodeError('OFPBRC_BAD_LEN', `${what} says it has ${len} bytes, less than its ${min}-byte structure`);
  return r.sub(len, what);
}

/** Every entry of one part of a reply. */
function entries<T>(r: OfReader, read: (r: OfReader) => T): T[] {
  const out: T[] = [];
  while (r.remaining > 0) out.push(read(r));
  return out;
}

export function decodeReplyBody(kind: Kind, r: OfReader, s: Session): MultipartReply {
  const v = s.version;
  let reply: MultipartReply;
  switch (kind) {
    case 'desc':
      reply = { kind, desc: { mfr: r.str(256), hw: r.str(256), sw: r.str(256), serial: r.str(32), dp: r.str(256) } };
      break;
    case 'flow':
      return { kind, flows: entries(r, (e) => decodeFlowStats(e, s, flowWire(s))) };
    case 'flow_monitor':
      return { kind, updates: decodeFlowUpdates(r, s) };
    case 'aggregate':
      if (v >= OFP15) {
        const oxs = readOxsStats(r);
        reply = { kind, packetCount: oxs.packetCount ?? 0n, byteCount: oxs.byteCount ?? 0n, flowCount: oxs.flowCount ?? 0 };
        break;
      }
      reply = { kind, packetCount: r.u64('packet_count'), byteCount: r.u64('byte_count'), flowCount: r.u32('flow_count') };
      r.skip(4);
      break;
    case 'table':
      return {
        kind,
        tables: entries(r, (e) => {
          const tableId = e.u8('table_id');
          e.skip(3);
          if (v === OFP10) {
            const name = e.str(32, 'table name');
            e.skip(4, 'wildcards');
            const maxEntries = e.u32('max_entries');
            return { tableId, name, maxEntries, activeCount: e.u32('active_count'), lookupCount: e.u64('lookup_count'), matchedCount: e.u64('matched_count') };
          }
          if (v < OFP13) {
            e.skip(4);
            const name = e.str(32, 'table name');
            e.skip(v === OFP11 ? 24 : 64, 'table capabilities');
            const maxEntries = e.u32('max_entries');
            return { tableId, name, maxEntries, activeCount: e.u32('active_count'), lookupCount: e.u64('lookup_count'), matchedCount: e.u64('matched_count') };
          }
          return { tableId, name: '', maxEntries: 0, activeCount: e.u32('active_count'), lookupCount: e.u64('lookup_count'), matchedCount: e.u64('matched_count') };
        }),
      };
    case 'table_features':
      return { kind, tables: entries(r, (e) => decodeTableFeatures(e, v)) };
    case 'table_desc':
      return { kind, tables: entries(r, decodeTableDesc) };
    case 'queue_desc':
      return { kind, queues: entries(r, (e) => decodeQueueDesc(e, v)) };
    case 'port':
      return { kind, ports: entries(r, (e) => readPortStats(e, v)) };
    case 'port_desc':
      return { kind, ports: entries(r, (e) => readPortDesc(e, v)) };
    case 'queue':
      return {
        kind,
        queues: entries(r, (e) => {
          const q = v >= OFP14 ? sizedSub(e, 0, 48, 'queue stats') : e;
          if (v >= OFP14) q.skip(8);
          const portNo = readPort(q, v);
          if (v === OFP10) q.skip(2);
          const queueId = q.u32('queue_id');
          const txBytes = q.u64('tx_bytes');
          const txPackets = q.u64('tx_packets');
          const txErrors = q.u64('tx_errors');
          return { portNo, queueId, txBytes, txPackets, txErrors, durationMs: v >= OFP13 ? readDuration(q) : 0 };
        }),
      };
    case 'group':
      return {
        kind,
        groups: entries(r, (e) => {
          const withDuration = v === OFP10 || v >= OFP13;
          const g = sizedSub(e, 0, withDuration ? 40 : 32, 'group stats');
          g.skip(4);
          const groupId = g.u32('group_id');
          const refCount = g.u32('ref_count');
          g.skip(4);
          const packetCount = g.u64('packet_count');
          const byteCount = g.u64('byte_count');
          const durationMs = withDuration ? readDuration(g) : 0;
          if (g.remaining % 16 !== 0) throw new OfDecodeError('OFPBRC_BAD_LEN', 'group stats: bucket counters are not a multiple of 16 bytes');
          const buckets = entries(g, (b) => ({ packetCount: b.u64('bucket packet_count'), byteCount: b.u64('bucket byte_count') }));
          return { groupId, refCount, packetCount, byteCount, durationMs, buckets };
        }),
      };
    case 'group_desc':
      return { kind, groups: entries(r, (e) => decodeGroupDesc(e, s)) };
    case 'group_features': {
      const typeBits = r.u32('types');
      const capabilities = r.u32('capabilities');
      const read4 = (): Record<GroupType, number> => ({ all: r.u32(), select: r.u32(), indirect: r.u32(), ff: r.u32() });
      const maxGroups = read4();
      reply = { kind, types: GROUP_TYPES.filter((_, i) => typeBits & (1 << i)), capabilities, maxGroups, actions: read4() };
      break;
    }
    case 'meter':
      return {
        kind,
        meters: entries(r, (e) => {
          const meterId = e.u32('meter_id');
          const len = e.u16('meter stats len');
          if (len < 40 || (len - 40) % 16 !== 0) throw new OfDecodeError('OFPBRC_BAD_LEN', `meter stats of ${len} bytes is not 40 bytes plus 16 per band`);
          const m = e.sub(len - 6, 'meter stats');
          m.skip(6);
          const flowCount = m.u32('flow_count');
          const packetInCount = m.u64('packet_in_count');
          const byteInCount = m.u64('byte_in_count');
          const durationMs = readDuration(m);
          const bands = entries(m, (b) => ({ packetCount: b.u64('band packet_count'), byteCount: b.u64('band byte_count') }));
          return { meterId, flowCount, packetInCount, byteInCount, durationMs, bands };
        }),
      };
    case 'meter_config':
      return { kind, meters: entries(r, (e) => decodeMeterConfig(e, s)) };
    case 'meter_features': {
      const maxMeters = r.u32('max_meter');
      const bandBits = r.u32('band_types');
      const capabilities = r.u32('capabilities');
      const maxBands = r.u8('max_bands');
      const maxColor = r.u8('max_color');
      r.skip(2);
      const bandTypes = (Object.keys(BAND_TYPES) as Array<MeterBand['type']>).filter((t) => bandBits & (1 << BAND_TYPES[t]));
      reply = { kind, maxMeters, bandTypes, capabilities, maxBands, maxColor };
      break;
    }
  }
  end(r, `${kind} reply`);
  return reply;
}

function readPortStats(part: OfReader, v: number): Extract<MultipartReply, { kind: 'port' }>['ports'][number] {
  const r = v >= OFP14 ? sizedSub(part, 0, 80, 'port stats') : part;
  if (v >= OFP14) r.skip(4);
  const portNo = readPort(r, v);
  let durationMs = 0;
  if (v >= OFP14) durationMs = readDuration(r);
  else r.skip(v === OFP10 ? 6 : 4);
  const c = () => r.u64('port counter');
  const p = { portNo, rxPackets: c(), txPackets: c(), rxBytes: c(), txBytes: c(), rxDropped: c(), txDropped: c(), rxErrors: c(), txErrors: c(), rxFrameErr: 0n, rxOverErr: 0n, rxCrcErr: 0n, collisions: 0n, durationMs };
  if (v >= OFP14) {
    // Properties: the Ethernet one (type 0) carries the remaining four counters.
    while (r.remaining > 0) {
      const type = r.u16('property type');
      const len = r.u16('property length');
      if (len < 4) throw new OfDecodeError('OFPBPC_BAD_LEN', `port stats property of ${len} bytes is shorter than its header`);
      const prop = r.sub(len - 4, 'port stats property');
      r.skip(Math.min((8 - (len % 8)) % 8, r.remaining));
      if (type === 0 && len >= 40) {
        prop.skip(4);
        const e = () => prop.u64('port counter');
        [p.rxFrameErr, p.rxOverErr, p.rxCrcErr, p.collisions] = [e(), e(), e(), e()];
      }
    }
    return p;
  }
  [p.rxFrameErr, p.rxOverErr, p.rxCrcErr, p.collisions] = [c(), c(), c(), c()];
  if (v === OFP13) p.durationMs = readDuration(r);
  return p;
}

