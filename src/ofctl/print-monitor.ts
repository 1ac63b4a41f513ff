/**
 * Flow monitor replies and messages as ovs-ofctl prints them (ofputil_flow_update_format): under
 * the reply's title (NXST_FLOW_MONITOR on OpenFlow 1.0-1.2, ONFST_ on 1.3, OFPST_ on 1.4+), one
 * ` event=ADDED table=0 cookie=0 in_port=1 actions=output:2` line per update. The match prints
 * without its priority, as OVS's does, and a rule with no actions shows none.
 */
import { OFP13, OFP14, type FlowUpdate } from '../openflow/messages.js';
import { formatActionList, formatMatch } from '../ofproto/print.js';
import { title } from './print-common.js';

/** OFPRR_* as ofp_flow_removed_reason_to_string names them. */
const REASONS = { idle_timeout: 'idle', hard_timeout: 'hard', delete: 'delete', group_delete: 'group_delete', meter_delete: 'meter_delete' } as const;

function formatFlowUpdate(u: FlowUpdate): string {
  if (u.event === 'abbrev') return ` event=ABBREV xid=0x${u.xid.toString(16)}`;
  if (u.event === 'paused' || u.event === 'resumed') return ` event=${u.event.toUpperCase()}`;
  let s = ` event=${u.event === 'deleted' ? `DELETED reason=${REASONS[u.reason ?? 'delete']}` : u.event.toUpperCase()} table=${u.tableId}`;
  if (u.idleTimeout) s += ` idle_timeout=${u.idleTimeout}`;
  if (u.hardTimeout) s += ` hard_timeout=${u.hardTimeout}`;
  s += ` cookie=${u.cookie ? `0x${u.cookie.toString(16)}` : '0'} ${formatMatch(u.match)}`;
  if (u.actions?.apply.length) s += `${s.endsWith(' ') ? '' : ' '}actions=${formatActionList(u.actions.apply)}`;
  return s;
}

/** The vendor prefix of a flow monitor message's name on `version`: Nicira's, ONF's (1.3) or the standard's (1.4+). */
function prefix(version: number, kind: 'ST' | 'T'): string {
  if (version >= OFP14) return `OFP${kind}`;
  return version === OFP13 ? `ONF${kind}` : `NX${kind}`;
}

/** `NXST_FLOW_MONITOR reply (xid=0x0):` and its updates, one a line. */
export function formatFlowMonitorReply(updates: readonly FlowUpdate[], version: number, xid: number): string {
  return `${title(`${prefix(version, 'ST')}_FLOW_MONITOR reply`, version, xid)}\n${updates.map((u) => `${formatFlowUpdate(u)}\n`).join('')}`;
}

/** `NXT_FLOW_MONITOR_PAUSED (xid=0x0):` (ONFT_ on OpenFlow 1.3; 1.4 sends these inside a reply). */
export function formatFlowMonitorPause(event: 'PAUSED' | 'RESUMED', version: number, xid: number): string {
  return `${title(`${prefix(version, 'T')}_FLOW_MONITOR_${event}`, version, xid)}\n`;
}
