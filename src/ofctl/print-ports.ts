/**
 * The switch and its ports as ovs-ofctl prints them: `show` (features reply, port
 * descriptions, switch config), `dump-ports-desc`, `dump-ports` and `queue-stats`. Formats follow
 * OVS's lib/ofp-switch.c, lib/ofp-port.c and lib/ofp-queue.c; the code is ours.
 */
import { formatMac } from '../lib/addr.js';
import { OFP10, type MessageOf, type PortDesc, type PortStats, type QueueConfig, type QueueStats } from '../openflow/messages.js';
import { bitNames, counter, formatDuration, formatPortNo, title } from './print-common.js';

const CAPABILITIES_OF10: Readonly<Record<number, string>> = {
  0x1: 'FLOW_STATS',
  0x2: 'TABLE_STATS',
  0x4: 'PORT_STATS',
  0x8: 'STP',
  0x20: 'IP_REASM',
  0x40: 'QUEUE_STATS',
  0x80: 'ARP_MATCH_IP',
};
const CAPABILITIES_OF11: Readonly<Record<number, string>> = {
  0x1: 'FLOW_STATS',
  0x2: 'TABLE_STATS',
  0x4: 'PORT_STATS',
  0x8: 'GROUP_STATS',
  0x20: 'IP_REASM',
  0x40: 'QUEUE_STATS',
  0x100: 'PORT_BLOCKED',
};

/** OpenFlow 1.0's action bits (bit n = action type n), in the order ovs-ofctl lists them. */
const ACTIONS_OF10: ReadonlyArray<readonly [bit: number, name: string]> = [
  [0, 'output'],
  [11, 'enqueue'],
  [1, 'set_vlan_vid'],
  [2, 'set_vlan_pcp'],
  [3, 'strip_vlan'],
  [4, 'mod_dl_src'],
  [5, 'mod_dl_dst'],
  [6, 'mod_nw_src'],
  [7, 'mod_nw_dst'],
  [8, 'mod_nw_tos'],
  [9, 'mod_tp_src'],
  [10, 'mod_tp_dst'],
];

const PORT_CONFIG: Readonly<Record<number, string>> = {
  0x1: 'PORT_DOWN',
  0x2: 'NO_STP',
  0x4: 'NO_RECV',
  0x8: 'NO_RECV_STP',
  0x10: 'NO_FLOOD',
  0x20: 'NO_FWD',
  0x40: 'NO_PACKET_IN',
};
const PORT_STATE: Readonly<Record<number, string>> = { 0x1: 'LINK_DOWN', 0x2: 'BLOCKED', 0x4: 'LIVE' };

/** Port feature bits in OpenFlow 1.1+'s layout (OFPPF_*), named as OVS names them. */
const PORT_FEATURES: Readonly<Record<number, string>> = {
  0x1: '10MB-HD',
  0x2: '10MB-FD',
  0x4: '100MB-HD',
  0x8: '100MB-FD',
  0x10: '1GB-HD',
  0x20: '1GB-FD',
  0x40: '10GB-FD',
  0x80: '40GB-FD',
  0x100: '100GB-FD',
  0x200: '1TB-FD',
  0x400: 'OTHER',
  0x800: 'COPPER',
  0x1000: 'FIBER',
  0x2000: 'AUTO_NEG',
  0x4000: 'AUTO_PAUSE',
  0x8000: 'AUTO_PAUSE_ASYM',
};

function formatActionBits(bits: number): string {
  const names = ACTIONS_OF10.filter(([bit]) => bits & (1 << bit)).map(([, name]) => name);
  return names.length ? names.join(' ') : '<none>';
}

/** One port as `show` and `dump-ports-desc` print it: five lines or more, each ending in a newline. */
export function formatPortDesc(p: PortDesc): string {
  let s = ` ${formatPortNo(p.portNo)}(${p.name}): addr:${formatMac(p.hwAddr)}\n`;
  s += `     config:     ${bitNames(p.config, PORT_CONFIG)}\n`;
  s += `     state:      ${bitNames(p.state, PORT_STATE)}\n`;
  if (p.curr) s += `     current:    ${bitNames(p.curr, PORT_FEATURES)}\n`;
  if (p.advertised) s += `     advertised: ${bitNames(p.advertised, PORT_FEATURES)}\n`;
  if (p.supported) s += `     supported:  ${bitNames(p.supported, PORT_FEATURES)}\n`;
  if (p.peer) s += `     peer:       ${bitNames(p.peer, PORT_FEATURES)}\n`;
  s += `     speed: ${Math.floor(p.currSpeed / 1000)} Mbps now, ${Math.floor(p.maxSpeed / 1000)} Mbps max\n`;
  return s;
}

/**
 * Ports in the order ovs-ofctl prints them: by number, with the reserved ones (LOCAL) after
 * the others, as their 16-bit numbers sort.
 */
function sortedPorts<T extends { portNo: number }>(ports: readonly T[]): T[] {
  return [...ports].sort((a, b) => a.portNo - b.portNo);
}

/** `OFPT_FEATURES_REPLY (xid=0x2): dpid:...` and, up to OpenFlow 1.2, the ports it carries. */
export function formatFeaturesReply(m: MessageOf<'features_reply'>, version: number, xid: number): string {
  let s = `${title('OFPT_FEATURES_REPLY', version, xid)} dpid:${m.datapathId.toString(16).padStart(16, '0')}\n`;
  s += `n_tables:${m.nTables}, n_buffers:${m.nBuffers}`;
  if (m.auxiliaryId) s += `, auxiliary_id:${m.auxiliaryId}`;
  s += '\n';
  s += `capabilities: ${bitNames(m.capabilities, version === OFP10 ? CAPABILITIES_OF10 : CAPABILITIES_OF11)}\n`;
  if (version === OFP10) s += `actions: ${formatActionBits(m.actions)}\n`;
  for (const p of sortedPorts(m.ports)) s += formatPortDesc(p);
  return s;
}

/** `OFPST_PORT_DESC reply (OF1.3) (xid=0x3):` and each port. */
export function formatPortDescReply(ports: readonly PortDesc[], version: number, xid: number): string {
  return `${title('OFPST_PORT_DESC reply', version, xid)}\n${sortedPorts(ports).map(formatPortDesc).join('')}`;
}

const FRAG_NAMES = ['normal', 'drop', 'reassemble', 'nx-match'];

/** `OFPT_GET_CONFIG_REPLY (xid=0x4): frags=normal miss_send_len=0`. */
export function formatGetConfigReply(m: { flags: number; missSendLen: number }, version: number, xid: number): string {
  const frag = FRAG_NAMES[m.flags & 3] ?? 'normal';
  return `${title('OFPT_GET_CONFIG_REPLY', version, xid)} frags=${frag} miss_send_len=${m.missSendLen}\n`;
}

function formatPortStats(p: PortStats, version: number): string {
  let s = `  port ${p.portNo < 10 ? ' ' : ''}${formatPortNo(p.portNo)}: rx `;
  s += `pkts=${counter(p.rxPackets)}, bytes=${counter(p.rxBytes)}, drop=${counter(p.rxDropped)}, errs=${counter(p.rxErrors)}, `;
  s += `frame=${counter(p.rxFrameErr)}, over=${counter(p.rxOverErr)}, crc=${counter(p.rxCrcErr)}\n`;
  s += `           tx pkts=${counter(p.txPackets)}, bytes=${counter(p.txBytes)}, drop=${counter(p.txDropped)}, `;
  s += `errs=${counter(p.txErrors)}, coll=${counter(p.collisions)}\n`;
  // OpenFlow 1.0-1.2 port stats carry no duration.
  if (version >= 0x04) s += `           duration=${formatDuration(p.durationMs)}\n`;
  return s;
}

/** `OFPST_PORT reply (xid=0x2): 3 ports` and each port's counters, in the switch's order. */
export function formatPortStatsReply(ports: readonly PortStats[], version: number, xid: number): string {
  return `${title('OFPST_PORT reply', version, xid)} ${ports.length} ports\n${ports.map((p) => formatPortStats(p, version)).join('')}`;
}

/** `OFPST_QUEUE reply (xid=0x2): 3 queues` and each queue's counters. */
export function formatQueueStatsReply(queues: readonly QueueStats[], version: number, xid: number): string {
  let s = `${title('OFPST_QUEUE reply', version, xid)} ${queues.length} queues\n`;
  for (const q of queues) {
    const duration = version >= 0x04 ? formatDuration(q.durationMs) : '?';
    s += `  port ${formatPortNo(q.portNo)} queue ${q.queueId}: bytes=${counter(q.txBytes)}, pkts=${counter(q.txPackets)}, `;
    s += `errors=${counter(q.txErrors)}, duration=${duration}\n`;
  }
  return s;
}

/** ` min_rate:50.0%`: a rate in tenths of a percent, `(disabled)` above 100%, nothing when the queue has none. */
function queueRate(name: string, rate: number | undefined): string {
  if (rate === undefined || rate === 0xffff) return '';
  return rate <= 1000 ? ` ${name}:${Math.floor(rate / 10)}.${rate % 10}%` : ` ${name}:(disabled)`;
}

/**
 * A queue_get_config reply or queue_desc reply (`name`): its queues by port, then queue id, each
 * port named once before its queues (ofputil_queue_get_config_reply_format). No queues, no ports.
 */
export function formatQueueConfigReply(name: string, queues: readonly QueueConfig[], version: number, xid: number): string {
  const sorted = [...queues].sort((a, b) => a.portNo - b.portNo || a.queueId - b.queueId);
  let s = '';
  let port = 0;
  for (const q of sorted) {
    if (q.portNo !== port) {
      port = q.portNo;
      s += `port=${formatPortNo(port)}\n`;
    }
    s += `queue ${q.queueId}:${queueRate('min_rate', q.minRate)}${queueRate('max_rate', q.maxRate)}\n`;
  }
  return `${title(name, version, xid)}${s ? ` ${s}` : '\n'}`;
}
