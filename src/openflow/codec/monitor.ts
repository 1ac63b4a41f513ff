/**
 * Bodies of Nicira's flow monitor statistics (NXST_FLOW_MONITOR, OpenFlow 1.0-1.2 as OVS uses
 * it): the request is a list of nx_flow_monitor_request, the reply a list of flow updates
 * (nx_flow_update_full for added/deleted/modified, nx_flow_update_abbrev for a change of the
 * monitoring connection's own). Matches are NXM; actions are the version's actions.
 *
 * OVS's OpenFlow 1.3 (ONFST_FLOW_MONITOR) and 1.4 (OFPMP_FLOW_MONITOR) variants are not
 * implemented: a monitor on those versions is refused as an unknown statistics type.
 */
import type { FlowRemovedReason } from '../../ofproto/flow-table.js';
import type { FlowMonitorRequest, FlowUpdate, Session } from '../messages.js';
import { OfDecodeError, type OfReader, OfWriter } from './buffer.js';
import { pullActions, putActions } from './actions.js';
import { pullNxMatch, putNxMatch } from './match.js';

/** NXFME_* in wire order. */
const EVENTS = ['added', 'deleted', 'modified', 'abbrev'] as const;
/** OFPRR_* in wire order. */
const REASONS: readonly FlowRemovedReason[] = ['idle_timeout', 'hard_timeout', 'delete', 'group_delete', 'meter_delete'];
const NX_FLOW_UPDATE_FULL_LEN = 24;
const NX_FLOW_MONITOR_REQUEST_LEN = 16;
/** Every NXFMF_* flag (initial, add, delete, modify, actions, own); one of add/delete/modify is required. */
const ALL_FLAGS = 0x3f;
const EVENT_FLAGS = 0x2 | 0x4 | 0x8;

const pad8 = (n: number) => (8 - (n % 8)) % 8;

export function encodeMonitorRequests(monitors: readonly FlowMonitorRequest[]): Buffer {
  const w = new OfWriter();
  for (const m of monitors) {
    w.u32(m.id).u16(m.flags).u16(m.outPort);
    const matchLenAt = w.length;
    w.u16(0).u8(m.tableId).zeros(5);
    const matchLen = putNxMatch(w, m.match, 0);
    w.patchU16(matchLenAt, matchLen);
    w.zeros(pad8(matchLen));
  }
  return w.finish();
}

export function decodeMonitorRequests(r: OfReader): FlowMonitorRequest[] {
  const monitors: FlowMonitorRequest[] = [];
  while (r.remaining > 0) {
    if (r.remaining < NX_FLOW_MONITOR_REQUEST_LEN) throw new OfDecodeError('OFPBRC_BAD_LEN', `a flow monitor request needs ${NX_FLOW_MONITOR_REQUEST_LEN} bytes, ${r.remaining} are left`);
    const id = r.u32('monitor id');
    const flags = r.u16('monitor flags');
    const outPort = r.u16('out_port');
    const matchLen = r.u16('match_len');
    const tableId = r.u8('table_id');
    const zeros = r.bytes(5);
    if (!(flags & EVENT_FLAGS) || flags & ~ALL_FLAGS) {
      throw new OfDecodeError('OFPMOFC_BAD_FLAGS', `flow monitor ${id} has flags 0x${flags.toString(16)}: it needs add, delete or modify, and no bits beyond 0x3f`);
    }
    if (zeros.some((b) => b !== 0)) throw new OfDecodeError('NXBRC_MUST_BE_ZERO', `flow monitor ${id} has nonzero padding`);
    const match = pullNxMatch(r.sub(matchLen, 'monitor match')).match;
    r.skip(pad8(matchLen));
    monitors.push({ id, flags, outPort, tableId, match });
  }
  return monitors;
}

/** One update as one reply entry. */
export function encodeFlowUpdate(u: FlowUpdate, s: Session): Buffer {
  const w = new OfWriter();
  if (u.event === 'abbrev') {
    w.u16(8).u16(EVENTS.indexOf('abbrev')).u32(u.xid);
    return w.finish();
  }
  w.u16(0).u16(EVENTS.indexOf(u.event));
  w.u16(u.event === 'deleted' && u.reason ? REASONS.indexOf(u.reason) : 0);
  w.u16(u.priority).u16(u.idleTimeout).u16(u.hardTimeout);
  const matchLenAt = w.length;
  w.u16(0).u8(u.tableId).zeros(1).u64(u.cookie);
  const matchLen = putNxMatch(w, u.match, 0);
  w.patchU16(matchLenAt, matchLen);
  w.zeros(pad8(matchLen));
  if (u.actions) putActions(w, u.actions.apply, { version: s.version, match: u.match });
  w.patchU16(0, w.length);
  return w.finish();
}

export function decodeFlowUpdates(r: OfReader, s: Session): FlowUpdate[] {
  const updates: FlowUpdate[] = [];
  while (r.remaining > 0) {
    const length = r.u16('flow update length');
    const eventNumber = r.u16('flow update event');
    const event = EVENTS[eventNumber];
    if (!event) throw new OfDecodeError('NXBRC_FM_BAD_EVENT', `flow update event ${eventNumber} is not added, deleted, modified or abbrev`);
    const body = r.sub(length - 4, 'flow update');
    if (event === 'abbrev') {
      updates.push({ event, xid: body.u32('abbrev xid') });
      continue;
    }
    if (length < NX_FLOW_UPDATE_FULL_LEN) throw new OfDecodeError('OFPBRC_BAD_LEN', `a flow update of ${length} bytes is shorter than nx_flow_update_full`);
    const reason = REASONS[body.u16('reason')];
    const priority = body.u16('priority');
    const idleTimeout = body.u16('idle_timeout');
    const hardTimeout = body.u16('hard_timeout');
    const matchLen = body.u16('match_len');
    const tableId = body.u8('table_id');
    body.skip(1);
    const cookie = body.u64('cookie');
    const match = pullNxMatch(body.sub(matchLen, 'flow update match')).match;
    body.skip(pad8(matchLen));
    const apply = body.remaining > 0 ? pullActions(body, s.version) : undefined;
    updates.push({
      event,
      ...(event === 'deleted' && reason ? { reason } : {}),
      tableId,
      idleTimeout,
      hardTimeout,
      priority,
      cookie,
      match,
      ...(apply ? { actions: { apply, clearActions: false } } : {}),
    });
  }
  return updates;
}
