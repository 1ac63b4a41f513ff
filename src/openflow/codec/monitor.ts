/**
 * Bodies of flow monitor requests and replies, in each version's own format (OVS's
 * lib/ofp-monitor.c):
 * - OpenFlow 1.0-1.2, Nicira's NXST_FLOW_MONITOR: nx_flow_monitor_request and nx_flow_update_full /
 *   _abbrev, with NXM matches and the version's actions;
 * - OpenFlow 1.3, ONF's ONFST_FLOW_MONITOR (experimenter multipart 1870): the same structures
 *   with 32-bit ports, OXM matches and instructions;
 * - OpenFlow 1.4+, OFPMP_FLOW_MONITOR: ofp14_flow_monitor_request (with a command: add, modify,
 *   delete) and ofp_flow_update_full / _abbrev / _paused, whose events number INITIAL first.
 *
 * Flags travel as Nicira numbers them (NXFMF_*) inside TVS; OpenFlow 1.4's differ only in the
 * "own changes in full" bit, which OVS reads as OFPFMF_ONLY_OWN.
 */
import { OFPG, OFPP } from '../../ofproto/actions.js';
import type { FlowRemovedReason } from '../../ofproto/flow-table.js';
import { OFP13, OFP14, NXFMF, type FlowMonitorCommand, type FlowMonitorRequest, type FlowUpdate, type Session } from '../messages.js';
import { OfDecodeError, type OfReader, OfWriter } from './buffer.js';
import { pullActions, pullInstructions, putActions, putInstructions } from './actions.js';
import { pullNxMatch, pullOxmMatch, putNxMatch, putOxmMatch } from './match.js';
import { readPort, writePort } from './ports.js';

/** ONF's experimenter message types of flow monitors on OpenFlow 1.3 (and its multipart type). */
export const ONFT_FLOW_MONITOR_CANCEL = 1870;
export const ONFT_FLOW_MONITOR_PAUSED = 1871;
export const ONFT_FLOW_MONITOR_RESUMED = 1872;
export const ONFST_FLOW_MONITOR = 1870;

/** NXFME_* (also ONFFME_*) in wire order; an initial rule is reported as added. */
const NX_EVENTS = ['added', 'deleted', 'modified', 'abbrev'] as const;
/** OFPFME_* (OpenFlow 1.4+) in wire order. */
const OF14_EVENTS = ['initial', 'added', 'deleted', 'modified', 'abbrev', 'paused', 'resumed'] as const;
/** OFPRR_* in wire order. */
const REASONS: readonly FlowRemovedReason[] = ['idle_timeout', 'hard_timeout', 'delete', 'group_delete', 'meter_delete'];
/** OFPFMC_* in wire order. */
const COMMANDS: readonly FlowMonitorCommand[] = ['add', 'modify', 'delete'];
const FLOW_UPDATE_FULL_LEN = 24;
const FLOW_MONITOR_REQUEST_LEN = 16;
const ALL_NX_FLAGS = 0x3f;
const EVENT_FLAGS = NXFMF.ADD | NXFMF.DELETE | NXFMF.MODIFY;
/** OpenFlow 1.4's OFPFMF_NO_ABBREV and OFPFMF_ONLY_OWN: either asks for this connection's own changes in full. */
const OFPFMF_NO_ABBREV = 0x20;
const OFPFMF_ONLY_OWN = 0x40;
const ALL_OF14_FLAGS = 0x7f;

type Wire = 'nx' | 'onf' | 'of14';

function wireOf(s: Session): Wire {
  if (s.version >= OFP14) return 'of14';
  return s.version === OFP13 ? 'onf' : 'nx';
}

const pad8 = (n: number) => (8 - (n % 8)) % 8;

// ---- requests ----

export function encodeMonitorRequests(monitors: readonly FlowMonitorRequest[], s: Session): Buffer {
  const w = new OfWriter();
  const wire = wireOf(s);
  for (const m of monitors) {
    if (wire === 'of14') {
      const flags = (m.flags & ~NXFMF.OWN) | (m.flags & NXFMF.OWN ? OFPFMF_ONLY_OWN : 0);
      w.u32(m.id);
      writePort(w, m.outPort, s.version);
      w.u32(m.outGroup).u16(flags).u8(m.tableId).u8(COMMANDS.indexOf(m.command));
      putOxmMatch(w, m.match, s.version);
      continue;
    }
    if (m.command !== 'add') throw new Error(`flow monitor ${m.id}: OpenFlow 1.${s.version - 1} can only add a monitor (cancel one with flow_monitor_cancel)`);
    if (wire === 'onf') {
      w.u32(m.id).u16(m.flags);
      const matchLenAt = w.length;
      w.u16(0);
      writePort(w, m.outPort, s.version);
      w.u8(m.tableId).zeros(3);
      w.patchU16(matchLenAt, putOxmMatch(w, m.match, s.version));
      continue;
    }
    w.u32(m.id).u16(m.flags).u16(m.outPort);
    const matchLenAt = w.length;
    w.u16(0).u8(m.tableId).zeros(5);
    const matchLen = putNxMatch(w, m.match, 0);
    w.patchU16(matchLenAt, matchLen);
    w.zeros(pad8(matchLen));
  }
  return w.finish();
}

function checkFlags(id: number, flags: number, all: number): void {
  if (!(flags & EVENT_FLAGS) || flags & ~all) {
    throw new OfDecodeError('OFPMOFC_BAD_FLAGS', `flow monitor ${id} has flags 0x${flags.toString(16)}: it needs add, delete or modify, and no bits beyond 0x${all.toString(16)}`);
  }
}

export function decodeMonitorRequests(r: OfReader, s: Session): FlowMonitorRequest[] {
  const monitors: FlowMonitorRequest[] = [];
  const wire = wireOf(s);
  while (r.remaining > 0) {
    if (r.remaining < FLOW_MONITOR_REQUEST_LEN) throw new OfDecodeError('OFPBRC_BAD_LEN', `a flow monitor request needs ${FLOW_MONITOR_REQUEST_LEN} bytes, ${r.remaining} are left`);
    if (wire === 'of14') monitors.push(decodeOf14Request(r, s));
    else if (wire === 'onf') {
      const id = r.u32('monitor id');
      const flags = r.u16('monitor flags');
      r.skip(2, 'match_len');
      const outPort = readPort(r, s.version);
      const tableId = r.u8('table_id');
      const zeros = r.bytes(3);
      checkFlags(id, flags, ALL_NX_FLAGS);
      if (zeros.some((b) => b !== 0)) throw new OfDecodeError('NXBRC_MUST_BE_ZERO', `flow monitor ${id} has nonzero padding`);
      monitors.push({ id, command: 'add', flags, outPort, outGroup: OFPG.ANY, tableId, match: pullOxmMatch(r) });
    } else {
      const id = r.u32('monitor id');
      const flags = r.u16('monitor flags');
      const outPort = r.u16('out_port');
      const matchLen = r.u16('match_len');
      const tableId = r.u8('table_id');
      const zeros = r.bytes(5);
      checkFlags(id, flags, ALL_NX_FLAGS);
      if (zeros.some((b) => b !== 0)) throw new OfDecodeError('NXBRC_MUST_BE_ZERO', `flow monitor ${id} has nonzero padding`);
      const match = pullNxMatch(r.sub(matchLen, 'monitor match')).match;
      r.skip(pad8(matchLen));
      monitors.push({ id, command: 'add', flags, outPort, outGroup: OFPG.ANY, tableId, match });
    }
  }
  return monitors;
}

function decodeOf14Request(r: OfReader, s: Session): FlowMonitorRequest {
  const id = r.u32('monitor_id');
  const outPort = readPort(r, s.version);
  const outGroup = r.u32('out_group');
  const wireFlags = r.u16('monitor flags');
  const tableId = r.u8('table_id');
  const commandNumber = r.u8('command');
  const command = COMMANDS[commandNumber];
  if (!command) throw new OfDecodeError('OFPMOFC_BAD_COMMAND', `flow monitor ${id} has command ${commandNumber}, not add (0), modify (1) or delete (2)`);
  const match = pullOxmMatch(r);
  // A delete names only the monitor: OVS reads nothing else of it.
  if (command === 'delete') return { id, command, flags: 0, outPort: OFPP.ANY, outGroup: OFPG.ANY, tableId: 0xff, match };
  checkFlags(id, wireFlags, ALL_OF14_FLAGS);
  const flags = (wireFlags & ALL_NX_FLAGS & ~NXFMF.OWN) | (wireFlags & (OFPFMF_NO_ABBREV | OFPFMF_ONLY_OWN) ? NXFMF.OWN : 0);
  return { id, command, flags, outPort, outGroup, tableId, match };
}

// ---- updates ----

/** One update as one reply entry. */
export function encodeFlowUpdate(u: FlowUpdate, s: Session): Buffer {
  const wire = wireOf(s);
  const w = new OfWriter();
  if (u.event === 'paused' || u.event === 'resumed') {
    if (wire !== 'of14') throw new Error(`a ${u.event} flow update exists only in OpenFlow 1.4+ (older versions send flow_monitor_${u.event})`);
    w.u16(8).u16(OF14_EVENTS.indexOf(u.event)).zeros(4);
    return w.finish();
  }
  const eventNumber = wire === 'of14' ? OF14_EVENTS.indexOf(u.event) : NX_EVENTS.indexOf(u.event === 'initial' ? 'added' : u.event);
  if (u.event === 'abbrev') {
    w.u16(8).u16(eventNumber).u32(u.xid);
    return w.finish();
  }
  const reason = u.event === 'deleted' && u.reason ? REASONS.indexOf(u.reason) : 0;
  w.u16(0).u16(eventNumber);
  if (wire === 'of14') {
    w.u8(u.tableId).u8(reason).u16(u.idleTimeout).u16(u.hardTimeout).u16(u.priority).zeros(4).u64(u.cookie);
    putOxmMatch(w, u.match, s.version);
  } else {
    w.u16(reason).u16(u.priority).u16(u.idleTimeout).u16(u.hardTimeout);
    const matchLenAt = w.length;
    w.u16(0).u8(u.tableId).zeros(1).u64(u.cookie);
    if (wire === 'onf') w.patchU16(matchLenAt, putOxmMatch(w, u.match, s.version));
    else {
      const matchLen = putNxMatch(w, u.match, 0);
      w.patchU16(matchLenAt, matchLen);
      w.zeros(pad8(matchLen));
    }
  }
  if (u.actions) {
    if (wire === 'nx') putActions(w, u.actions.apply, { version: s.version, match: u.match });
    else putInstructions(w, u.actions, { version: s.version, match: u.match });
  }
  w.patchU16(0, w.length);
  return w.finish();
}

export function decodeFlowUpdates(r: OfReader, s: Session): FlowUpdate[] {
  const wire = wireOf(s);
  const updates: FlowUpdate[] = [];
  while (r.remaining > 0) {
    const length = r.u16('flow update length');
    const eventNumber = r.u16('flow update event');
    const event = wire === 'of14' ? OF14_EVENTS[eventNumber] : NX_EVENTS[eventNumber];
    if (!event) throw new OfDecodeError('NXBRC_FM_BAD_EVENT', `flow update event ${eventNumber} is not one of ${(wire === 'of14' ? OF14_EVENTS : NX_EVENTS).join(', ')}`);
    if (length < 8 || length % 8) throw new OfDecodeError('OFPBRC_BAD_LEN', `a flow update of ${length} bytes is not a multiple of 8 of at least 8`);
    const body = r.sub(length - 4, 'flow update');
    if (event === 'abbrev') {
      updates.push({ event, xid: body.u32('abbrev xid') });
      continue;
    }
    if (event === 'paused' || event === 'resumed') {
      updates.push({ event });
      continue;
    }
    if (length < FLOW_UPDATE_FULL_LEN) throw new OfDecodeError('OFPBRC_BAD_LEN', `a flow update of ${length} bytes is shorter than a full one (${FLOW_UPDATE_FULL_LEN})`);
    let tableId: number, reasonNumber: number, idleTimeout: number, hardTimeout: number, priority: number;
    /** NXM's length is in the structure; OXM's match has its own header. */
    let nxMatchLen = 0;
    if (wire === 'of14') {
      tableId = body.u8('table_id');
      reasonNumber = body.u8('reason');
      idleTimeout = body.u16('idle_timeout');
      hardTimeout = body.u16('hard_timeout');
      priority = body.u16('priority');
      body.skip(4);
    } else {
      reasonNumber = body.u16('reason');
      priority = body.u16('priority');
      idleTimeout = body.u16('idle_timeout');
      hardTimeout = body.u16('hard_timeout');
      nxMatchLen = body.u16('match_len');
      tableId = body.u8('table_id');
      body.skip(1);
    }
    const cookie = body.u64('cookie');
    let match;
    if (wire === 'nx') {
      match = pullNxMatch(body.sub(nxMatchLen, 'flow update match')).match;
      body.skip(pad8(nxMatchLen));
    } else match = pullOxmMatch(body);
    const actions = body.remaining === 0 ? undefined : wire === 'nx' ? { apply: pullActions(body, s.version), clearActions: false } : pullInstructions(body, s.version);
    const reason = REASONS[reasonNumber];
    updates.push({
      event,
      ...(event === 'deleted' && reason ? { reason } : {}),
      tableId,
      idleTimeout,
      hardTimeout,
      priority,
      cookie,
      match,
      ...(actions ? { actions } : {}),
    });
  }
  return updates;
}
