/**
 * OpenFlow 1.5's OXS statistics (struct ofp_oxs_stat): a length-prefixed list of TLVs of class
 * OFPXSC_OPENFLOW_BASIC (0x8002), padded to 8 bytes. OpenFlow 1.5 flow and aggregate statistics
 * carry their counters this way instead of in fixed fields.
 */
import { OfDecodeError, type OfReader, type OfWriter } from './buffer.js';

const OFPXSC_OPENFLOW_BASIC = 0x8002;

/** The statistics an OXS list may hold; absent ones are not sent. */
export interface OxsStats {
  /** Time since the flow was added, ms. */
  durationMs?: number;
  /** Time since the flow last matched, ms. */
  idleMs?: number;
  flowCount?: number;
  packetCount?: bigint;
  byteCount?: bigint;
}

/** OFPXST_OFB_* field numbers. */
const FIELD = { duration: 0, idle: 1, flowCount: 3, packetCount: 4, byteCount: 5 } as const;

function header(field: number, length: number): number {
  return ((OFPXSC_OPENFLOW_BASIC << 16) | (field << 9) | length) >>> 0;
}

/** Seconds in the high 32 bits, nanoseconds in the low 32, as OpenFlow 1.5 times are. */
function time(ms: number): bigint {
  const whole = Math.max(0, Math.floor(ms));
  return (BigInt(Math.floor(whole / 1000)) << 32n) | BigInt((whole % 1000) * 1_000_000);
}

function ms(t: bigint): number {
  return Number(t >> 32n) * 1000 + Math.floor(Number(t & 0xffffffffn) / 1_000_000);
}

/** Writes the statistics in OVS's order (duration, idle, packets, bytes, flows), padded to 8 bytes. */
export function writeOxsStats(w: OfWriter, s: OxsStats): void {
  const start = w.length;
  w.u16(0).u16(0);
  if (s.durationMs !== undefined) w.u32(header(FIELD.duration, 8)).u64(time(s.durationMs));
  if (s.idleMs !== undefined) w.u32(header(FIELD.idle, 8)).u64(time(s.idleMs));
  if (s.packetCount !== undefined) w.u32(header(FIELD.packetCount, 8)).u64(s.packetCount);
  if (s.byteCount !== undefined) w.u32(header(FIELD.byteCount, 8)).u64(s.byteCount);
  if (s.flowCount !== undefined) w.u32(header(FIELD.flowCount, 4)).u32(s.flowCount);
  w.patchU16(start + 2, w.length - start);
  w.zeros((8 - ((w.length - start) % 8)) % 8);
}

/** Reads one OXS statistics list and its padding; unknown statistics are skipped. */
export function readOxsStats(r: OfReader): OxsStats {
  r.skip(2, 'ofp_oxs_stat reserved');
  const length = r.u16('ofp_oxs_stat length');
  if (length < 4) throw new OfDecodeError('OFPBMC_BAD_LEN', `OXS statistics of ${length} bytes are shorter than their header`);
  const list = r.sub(length - 4, 'OXS statistics');
  r.skip(Math.min((8 - (length % 8)) % 8, r.remaining));
  const stats: OxsStats = {};
  while (list.remaining > 0) {
    const h = list.u32('OXS header');
    const len = h & 0xff;
    const value = list.sub(len, 'OXS value');
    if (h >>> 16 !== OFPXSC_OPENFLOW_BASIC) continue;
    const field = (h >>> 9) & 0x7f;
    if (field === FIELD.flowCount && len === 4) stats.flowCount = value.u32();
    else if (len !== 8) continue;
    else if (field === FIELD.duration) stats.durationMs = ms(value.u64());
    else if (field === FIELD.idle) stats.idleMs = ms(value.u64());
    else if (field === FIELD.packetCount) stats.packetCount = value.u64();
    else if (field === FIELD.byteCount) stats.byteCount = value.u64();
  }
  return stats;
}
