/**
 * An error reply as ovs-ofctl prints it: `OFPT_ERROR (xid=0x6): OFPBAC_BAD_OUT_GROUP`, then the
 * refused request (the switch echoes it; we print the one we sent), for the requests a user
 * most often gets refused: flow_mod, group_mod and meter_mod. Formats follow OVS's ofputil_flow_mod_format
 * and ofputil_group_mod_format.
 */
import { formatTlvTableMod } from './tlv-map.js';
import type { OfMessage } from '../openflow/messages.js';
import { OFP10, OFP11, OFP14, OFPBF_ATOMIC, OFPBF_ORDERED } from '../openflow/messages.js';
import type { FlowMod } from '../ofproto/flow-table.js';
import { OFP_DEFAULT_PRIORITY } from '../ofproto/flow-table.js';
import { OFPP } from '../ofproto/actions.js';
import { Match } from '../ofproto/match.js';
import { formatFlow, formatGroup, formatMatch } from '../ofproto/print.js';
import { formatPortNo, title } from './print-common.js';
import { formatMeterConfig } from './print-groups.js';
import type { RemoteError } from './channel.js';

/** Every queue of a port. */
const OFPQ_ALL = 0xffffffff;

const FLOW_MOD_COMMANDS: Record<FlowMod['command'], string> = {
  add: 'ADD',
  modify: 'MOD',
  modify_strict: 'MOD_STRICT',
  delete: 'DEL',
  delete_strict: 'DEL_STRICT',
};

/** ` ADD table:1 priority=5,ip idle:10 actions=drop` (ofputil_flow_mod_format). */
function formatFlowModBody(m: FlowMod, version: number): string {
  let s = ` ${FLOW_MOD_COMMANDS[m.command]}`;
  if (m.tableId !== 0) s += ` table:${m.tableId}`;
  s += ' ';
  const match = formatMatch(m.match, m.priority);
  if (match) s += `${match} `;
  if (m.newCookie !== undefined && m.newCookie !== 0n && m.newCookie !== 0xffff_ffff_ffff_ffffn) s += `cookie:0x${m.newCookie.toString(16)} `;
  else if (m.command === 'add' && m.cookie !== 0n) s += `cookie:0x${m.cookie.toString(16)} `;
  if (m.cookieMask !== 0n) s += `cookie:0x${m.cookie.toString(16)}/0x${m.cookieMask.toString(16)} `;
  if (m.idleTimeout) s += `idle:${m.idleTimeout} `;
  if (m.hardTimeout) s += `hard:${m.hardTimeout} `;
  if (m.importance) s += `importance:${m.importance} `;
  if (m.outPort !== OFPP.ANY) s += `out_port:${formatPortNo(m.outPort)} `;
  // OpenFlow 1.0 and 1.1 have no reset_counts flag: ovs-ofctl leaves it out there.
  const flags = version === OFP10 || version === OFP11 ? { ...m.flags, resetCounts: false } : m.flags;
  // A rule with nothing but flags and instructions prints as `FLAGS actions=...`, the words a
  // flow_mod uses for them too.
  const bare = { ...m, match: Match.catchAll(), priority: OFP_DEFAULT_PRIORITY, cookie: 0n, tableId: 0, idleTimeout: 0, hardTimeout: 0, importance: 0, flags };
  return s + formatFlow(bare);
}

/** ovs_hex_dump: offset, 16 bytes with a dash after the 8th, and the printable ones. */
function hexDump(data: Buffer): string {
  let s = '';
  for (let at = 0; at < data.length; at += 16) {
    const row = data.subarray(at, at + 16);
    let hexes = '';
    for (let i = 0; i < 16; i++) hexes += (i === 8 ? '-' : i ? ' ' : '') + (i < row.length ? row[i]!.toString(16).padStart(2, '0') : '  ');
    const text = [...row].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    s += `${at.toString(16).padStart(8, '0')}  ${hexes} |${text}|\n`;
  }
  return s;
}

/** The request's name as ovs-ofctl prints it: OFPT_FLOW_MOD, or NXT_FLOW_MOD when it went as NXM. */
function requestName(msg: OfMessage, data: Buffer): string {
  // A Nicira message is an OpenFlow 1.0 vendor message (type 4).
  const nicira = data.length >= 2 && data[0] === OFP10 && data[1] === 4;
  if (msg.type === 'flow_mod') return nicira ? 'NXT_FLOW_MOD' : 'OFPT_FLOW_MOD';
  if (msg.type === 'group_mod') return nicira ? 'NXT_GROUP_MOD' : 'OFPT_GROUP_MOD';
  if (msg.type === 'nx_tlv_table_mod') return 'NXT_TLV_TABLE_MOD';
  if (msg.type === 'multipart_request' && msg.request.kind === 'queue_desc') return 'OFPST_QUEUE_DESC request';
  return `OFPT_${msg.type.toUpperCase()}`;
}

/**
 * The request ovs-ofctl prints under an error: decoded if the switch echoed all of it (or `data`
 * is undefined: the request is known whole), else the bytes it did.
 */
function formatRequest(msg: OfMessage, data: Buffer | undefined, version: number, xid: number): string {
  const head = title(requestName(msg, data ?? Buffer.alloc(0)), version, xid);
  const fullLength = data && data.length >= 4 ? data.readUInt16BE(2) : 0;
  if (data && data.length < fullLength) return `${head}\n(***truncated to ${data.length} bytes from ${fullLength}***)\n${hexDump(data)}`;
  switch (msg.type) {
    case 'flow_mod':
      return `${head}${formatFlowModBody(msg.mod, version)}\n`;
    case 'group_mod': {
      const cmd = { add: 'ADD', modify: 'MOD', delete: 'DEL' }[msg.mod.command];
      const body = msg.mod.command === 'delete' ? `group_id=${msg.mod.groupId}` : formatGroup(msg.mod);
      return `${head}\n ${cmd} ${body}\n`;
    }
    case 'meter_mod': {
      const cmd = { add: 'ADD', modify: 'MOD', delete: 'DEL' }[msg.mod.command];
      return `${head} ${cmd} ${formatMeterConfig(msg.mod)}`;
    }
    case 'nx_tlv_table_mod':
      return formatTlvTableMod(msg, head, () => hexDump(data ?? Buffer.alloc(0)));
    case 'queue_get_config_request':
      // ovs-ofctl cannot decode a request for a port it would refuse (LOCAL, or ANY on 1.0): it dumps it.
      if (msg.portNo >= OFPP.MAX && (msg.portNo !== OFPP.ANY || version === OFP10)) return `${head} ***decode error: OFPQOFC_BAD_PORT***\n${hexDump(data ?? Buffer.alloc(0))}`;
      return `${head} port=${formatPortNo(msg.portNo)}\n`;
    case 'multipart_request':
      if (msg.request.kind === 'queue_desc') {
        const queue = msg.request.queueId === OFPQ_ALL ? '' : ` queue=${msg.request.queueId}`;
        return `${head} port=${formatPortNo(msg.request.portNo)}${queue}\n`;
      }
      return `${head}\n`;
    default:
      return `${head}\n`;
  }
}

/** OFPBCT_* as ovs-ofctl prints a bundle_control's type. */
function formatBundleControl(msg: Extract<OfMessage, { type: 'bundle_control' }>): string {
  const flags = [msg.flags & OFPBF_ATOMIC ? ' atomic' : '', msg.flags & OFPBF_ORDERED ? ' ordered' : ''].join('');
  return ` bundle_id=${msg.bundleId ? `0x${msg.bundleId.toString(16)}` : '0'} type=${msg.control.toUpperCase()}${flags ? ` flags=${flags.trimStart()}` : ''}`;
}

/**
 * An error of a bundle transaction as ovs-ofctl prints it (bundle_print_errors): `Error NAME for: `
 * and the message it refers to, a bundled message as it was sent (not its bundle_add).
 */
export function formatBundleError(e: RemoteError): string {
  const request = e.request?.type === 'bundle_add' ? e.request.msg : e.request;
  if (request?.type === 'bundle_control') {
    const name = e.version >= OFP14 ? 'OFPT_BUNDLE_CONTROL' : 'ONFT_BUNDLE_CONTROL';
    return `Error ${e.errorName} for: ${title(name, e.version, e.xid)}\n${formatBundleControl(request)}\n`;
  }
  return `Error ${e.errorName} for: ${request ? formatRequest(request, undefined, e.version, e.xid) : `${title('OFPT_ERROR', e.version, e.xid)}\n`}`;
}

/** `OFPT_ERROR (xid=0x6): OFPBAC_BAD_OUT_GROUP` and the refused request. */
export function formatRemoteError(e: RemoteError): string {
  const version = e.version;
  return `${title('OFPT_ERROR', version, e.xid)} ${e.errorName}\n${e.request ? formatRequest(e.request, e.data, version, e.xid) : ''}`;
}
