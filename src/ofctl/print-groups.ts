/**
 * Groups and meters as ovs-ofctl prints them: `dump-groups`, `dump-group-stats`, `dump-meters`
 * and `meter-stats`. Formats follow OVS's lib/ofp-group.c and lib/ofp-meter.c; a group's
 * buckets are ofproto's printer's (src/ofproto/print.ts).
 */
import type { GroupStats, MultipartReply } from '../openflow/messages.js';
import { OFP10, OFP15 } from '../openflow/messages.js';
import type { MeterBand, MeterConfig, MeterFlags, MeterStats } from '../ofproto/meters.js';
import { formatGroup } from '../ofproto/print.js';
import { formatDuration, title } from './print-common.js';

type GroupDesc = Extract<MultipartReply, { kind: 'group_desc' }>['groups'][number];

/** OpenFlow 1.0 has no groups: OVS's Nicira extension carries them, and names its replies so. */
function groupReplyName(kind: 'GROUP' | 'GROUP_DESC', version: number): string {
  return `${version === OFP10 ? 'NXST' : 'OFPST'}_${kind} reply`;
}

/**
 * One group as `dump-groups` prints it. OpenFlow 1.5 and Nicira's 1.0 group messages number
 * their buckets, and ovs-ofctl then shows each bucket's id.
 */
function formatGroupDesc(g: GroupDesc, version: number): string {
  const text = formatGroup(g);
  if (version !== OFP10 && version < OFP15) return text;
  let i = 0;
  return text.replace(/,bucket=/g, () => `,bucket=bucket_id:${i++},`);
}

export function formatGroupDescReply(groups: readonly GroupDesc[], version: number, xid: number): string {
  return `${title(groupReplyName('GROUP_DESC', version), version, xid)}\n${groups.map((g) => ` ${formatGroupDesc(g, version)}\n`).join('')}`;
}

function formatGroupStats(g: GroupStats): string {
  let s = ` group_id=${g.groupId},duration=${formatDuration(g.durationMs)},ref_count=${g.refCount},packet_count=${g.packetCount},byte_count=${g.byteCount}`;
  g.buckets.forEach((b, i) => {
    s += `,bucket${i}:packet_count=${b.packetCount},byte_count=${b.byteCount}`;
  });
  return `${s}\n`;
}

export function formatGroupStatsReply(groups: readonly GroupStats[], version: number, xid: number): string {
  return `${title(groupReplyName('GROUP', version), version, xid)}\n${groups.map(formatGroupStats).join('')}`;
}

const OFPM_MAX = 0xffff0000;
const RESERVED_METERS: Readonly<Record<number, string>> = { 0xfffffffd: 'slowpath', 0xfffffffe: 'controller', 0xffffffff: 'all' };

function formatMeterId(id: number, sep: string): string {
  return `meter${sep}${id <= OFPM_MAX ? String(id) : (RESERVED_METERS[id] ?? 'unknown')}`;
}

function formatMeterFlags(f: MeterFlags): string {
  return `${f.kbps ? 'kbps ' : ''}${f.pktps ? 'pktps ' : ''}${f.burst ? 'burst ' : ''}${f.stats ? 'stats ' : ''}`;
}

function formatBand(b: MeterBand, flags: MeterFlags): string {
  let s = `\ntype=${b.type} rate=${b.rate}`;
  if (flags.burst) s += ` burst_size=${b.burstSize}`;
  if (b.type === 'dscp_remark') s += ` prec_level=${b.precLevel}`;
  return s;
}

/** `meter=1 kbps burst stats bands=` and a line per band. */
export function formatMeterConfig(m: MeterConfig): string {
  return `${formatMeterId(m.meterId, '=')} ${formatMeterFlags(m.flags)}bands=${m.bands.map((b) => formatBand(b, m.flags)).join('')}\n`;
}

export function formatMeterConfigReply(meters: readonly MeterConfig[], version: number, xid: number): string {
  return `${title('OFPST_METER_CONFIG reply', version, xid)}\n${meters.map(formatMeterConfig).join('')}`;
}

function formatMeterStats(m: MeterStats): string {
  let s = `${formatMeterId(m.meterId, ':')} flow_count:${m.flowCount} packet_in_count:${m.packetInCount} byte_in_count:${m.byteInCount} `;
  s += `duration:${formatDuration(m.durationMs)} bands:\n`;
  m.bands.forEach((b, i) => {
    s += `${i}: packet_count:${b.packetCount} byte_count:${b.byteCount}\n`;
  });
  return s;
}

export function formatMeterStatsReply(meters: readonly MeterStats[], version: number, xid: number): string {
  return `${title('OFPST_METER reply', version, xid)}\n${meters.map(formatMeterStats).join('')}`;
}
