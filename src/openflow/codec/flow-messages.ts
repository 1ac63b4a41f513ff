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
import type { FlowMod } from '../../ofproto/flow-table.js';
import type { GroupMod } from '../../ofproto/groups.js';
import type { MeterConfig, MeterMod } from '../../ofproto/meters.js';
import type { FlowStats, MessageOf, MultipartRequest, Session } from '../messages.js';
import type { OfReader } from './buffer.js';

export type BodyWire = 'ofp' | 'nx';
export type FlowStatsRequest = Extract<MultipartRequest, { kind: 'flow' | 'aggregate' }>;

function notYet(what: string): never {
  throw new Error(`${what}: not implemented yet`);
}

export function encodeFlowMod(_mod: FlowMod, _s: Session, _wire: BodyWire): Buffer {
  return notYet('flow_mod');
}
export function decodeFlowMod(_r: OfReader, _s: Session, _wire: BodyWire): FlowMod {
  return notYet('flow_mod');
}

export function encodeFlowRemoved(_m: MessageOf<'flow_removed'>, _s: Session, _wire: BodyWire): Buffer {
  return notYet('flow_removed');
}
export function decodeFlowRemoved(_r: OfReader, _s: Session, _wire: BodyWire): MessageOf<'flow_removed'> {
  return notYet('flow_removed');
}

export function encodePacketIn(_m: MessageOf<'packet_in'>, _s: Session, _wire: BodyWire | 'nx2'): Buffer {
  return notYet('packet_in');
}
export function decodePacketIn(_r: OfReader, _s: Session, _wire: BodyWire | 'nx2'): MessageOf<'packet_in'> {
  return notYet('packet_in');
}

export function encodePacketOut(_m: MessageOf<'packet_out'>, _s: Session): Buffer {
  return notYet('packet_out');
}
export function decodePacketOut(_r: OfReader, _s: Session): MessageOf<'packet_out'> {
  return notYet('packet_out');
}

export function encodeGroupMod(_mod: GroupMod, _s: Session): Buffer {
  return notYet('group_mod');
}
export function decodeGroupMod(_r: OfReader, _s: Session): GroupMod {
  return notYet('group_mod');
}

export function encodeMeterMod(_mod: MeterMod, _s: Session): Buffer {
  return notYet('meter_mod');
}
export function decodeMeterMod(_r: OfReader, _s: Session): MeterMod {
  return notYet('meter_mod');
}

/** The body of a flow or aggregate stats request (both have the same layout). */
export function encodeFlowStatsRequest(_req: FlowStatsRequest, _s: Session, _wire: BodyWire): Buffer {
  return notYet('flow stats request');
}
export function decodeFlowStatsRequest(_r: OfReader, _s: Session, _wire: BodyWire, _kind: FlowStatsRequest['kind']): FlowStatsRequest {
  return notYet('flow stats request');
}

/** One entry of a flow stats reply; the dispatcher packs entries into as many messages as it needs. */
export function encodeFlowStats(_f: FlowStats, _s: Session, _wire: BodyWire): Buffer {
  return notYet('flow stats');
}
/** Reads one entry, advancing `r` past it. */
export function decodeFlowStats(_r: OfReader, _s: Session, _wire: BodyWire): FlowStats {
  return notYet('flow stats');
}

export function encodeGroupDesc(_g: Extract<import('../messages.js').MultipartReply, { kind: 'group_desc' }>['groups'][number], _s: Session): Buffer {
  return notYet('group desc');
}
export function decodeGroupDesc(_r: OfReader, _s: Session): Extract<import('../messages.js').MultipartReply, { kind: 'group_desc' }>['groups'][number] {
  return notYet('group desc');
}

export function encodeMeterConfig(_m: MeterConfig, _s: Session): Buffer {
  return notYet('meter config');
}
export function decodeMeterConfig(_r: OfReader, _s: Session): MeterConfig {
  return notYet('meter config');
}
