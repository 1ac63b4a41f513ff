/**
 * The switch's description, its tables and its flows as ovs-ofctl prints them: `dump-desc`,
 * `dump-tables`, `dump-aggregate` and the lines of `dump-flows`. Formats follow OVS's
 * lib/ofp-print.c, lib/ofp-table.c and lib/ofp-flow.c; a flow's match and actions are ofproto's
 * printer's (src/ofproto/print.ts).
 */
import { OFP10, type FlowStats, type SwitchDesc, type TableStats } from '../openflow/messages.js';
import { formatFlow, type FormattableFlow } from '../ofproto/print.js';
import { counter, title } from './print-common.js';

/** `OFPST_DESC reply (xid=0x2):` and the five strings. */
export function formatDescReply(d: SwitchDesc, version: number, xid: number): string {
  return (
    `${title('OFPST_DESC reply', version, xid)}\n` +
    `Manufacturer: ${d.mfr}\nHardware: ${d.hw}\nSoftware: ${d.sw}\nSerial Num: ${d.serial}\nDP Description: ${d.dp}\n`
  );
}

/** The title of a flow or aggregate reply: Nicira's when the connection uses NXM on OpenFlow 1.0. */
function flowReplyName(kind: 'FLOW' | 'AGGREGATE', nicira: boolean): string {
  return `${nicira ? 'NXST' : 'OFPST'}_${kind} reply`;
}

/** `NXST_AGGREGATE reply (xid=0x4): packet_count=0 byte_count=0 flow_count=3`. */
export function formatAggregateReply(a: { packetCount: bigint; byteCount: bigint; flowCount: number }, version: number, xid: number, nicira: boolean): string {
  return `${title(flowReplyName('AGGREGATE', nicira), version, xid)} packet_count=${a.packetCount} byte_count=${a.byteCount} flow_count=${a.flowCount}\n`;
}

/**
 * What an OpenFlow 1.0 switch's table stats say it matches: OVS derives it from the OFPFW10
 * wildcards, which are all of them for every switch that can wildcard each field.
 */
const OF10_TABLE_MATCHING =
  '    matching:\n      exact match or wildcard: in_port eth_{src,dst,type} vlan_{vid,pcp} ip_{src,dst} nw_{proto,tos} tcp_{src,dst}\n';

/**
 * `OFPST_TABLE reply (xid=0x2):` and each table, a run of tables whose counters equal the one
 * before them folded into `tables 3...253: ditto` (ofputil_table_features_format).
 */
export function formatTableStatsReply(tables: readonly TableStats[], version: number, xid: number): string {
  // Each table starts on a new line after a blank one; the title's line has none after it.
  let s = title('OFPST_TABLE reply', version, xid);
  let dittoFrom = -1;
  let dittoTo = -1;
  const flushDitto = () => {
    if (dittoFrom < 0) return;
    s += dittoFrom === dittoTo ? `\n  table ${dittoFrom}: ditto\n` : `\n  tables ${dittoFrom}...${dittoTo}: ditto\n`;
    dittoFrom = -1;
  };
  let prev: TableStats | undefined;
  for (const t of tables) {
    const sameStats = prev !== undefined && prev.activeCount === t.activeCount && prev.lookupCount === t.lookupCount && prev.matchedCount === t.matchedCount;
    // Only OpenFlow 1.0's table stats carry features (max_entries, wildcards); they are the same for every table.
    const sameFeatures = prev !== undefined && (version !== OFP10 || prev.maxEntries === t.maxEntries);
    if (sameStats && sameFeatures && !t.name) {
      if (dittoFrom < 0) dittoFrom = t.tableId;
      dittoTo = t.tableId;
      prev = t;
      continue;
    }
    flushDitto();
    s += `\n  table ${t.tableId}${t.name ? ` ("${t.name}")` : ''}:`;
    if (sameStats && sameFeatures) {
      s += ' ditto';
      prev = t;
      continue;
    }
    s += `\n    active=${t.activeCount}, lookup=${t.lookupCount}, matched=${t.matchedCount}\n`;
    if (version === OFP10) {
      if (sameFeatures) s += '    (same features)\n';
      else s += `    max_entries=${t.maxEntries}\n${OF10_TABLE_MATCHING}`;
    }
    prev = t;
  }
  flushDitto();
  return s.endsWith('\n') ? s : `${s}\n`;
}

/**
 * One `dump-flows` line. With `stats`, it starts with a space and carries cookie, duration,
 * table and counters; `ages` adds the ages the reply carried: idle_age (Nicira and OpenFlow 1.5)
 * and hard_age (Nicira only, and only when it differs from the duration).
 */
export function formatFlowStatsLine(f: FlowStats, opts: { stats: boolean; ages: 'idle' | 'idle+hard' | false }): string {
  const flow: FormattableFlow = f;
  if (!opts.stats) return formatFlow(flow);
  const line = formatFlow(flow, { stats: { durationMs: f.durationMs, nPackets: f.packetCount, nBytes: f.byteCount } });
  const s = line.replace(/n_packets=\d+, n_bytes=\d+, /, `n_packets=${counter(f.packetCount)}, n_bytes=${counter(f.byteCount)}, `);
  if (!opts.ages) return s;
  // The ages go after the timeouts, flags and importance, just before the match: the tail
  // without them is the line of the same flow with none of those set.
  const tail = formatFlow({ ...flow, cookie: 0n, tableId: 0, idleTimeout: 0, hardTimeout: 0, importance: 0, flags: {} });
  const head = s.slice(0, s.length - tail.length);
  const durationSec = Math.floor(f.durationMs / 1000);
  const hardAge = Math.floor(f.hardAgeMs / 1000);
  const ages = `idle_age=${Math.floor(f.idleAgeMs / 1000)}, ${opts.ages === 'idle+hard' && hardAge !== durationSec ? `hard_age=${hardAge}, ` : ''}`;
  return head + ages + tail;
}

/** The title and lines of a flow stats reply, as `dump-flows` prints it with stats. */
export function formatFlowStatsReply(flows: readonly FlowStats[], version: number, xid: number, nicira: boolean): string {
  const ages = nicira ? 'idle+hard' : version >= 0x06 ? 'idle' : false;
  return `${title(flowReplyName('FLOW', nicira), version, xid)}\n${flows.map((f) => `${formatFlowStatsLine(f, { stats: true, ages })}\n`).join('')}`;
}

