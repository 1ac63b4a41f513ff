/**
 * Actions and instructions on the wire: OpenFlow 1.0 actions, OpenFlow 1.1+ actions and
 * instructions, and the Nicira actions (vendor 0x00002320) OVS's tools and OVN use.
 *
 * Encoding follows OVS's choices per version, so `ovs-ofctl` reads back what it would have sent:
 * OpenFlow 1.0/1.1 use the legacy set-actions, 1.2+ use set_field; a set_field of part of a field
 * is NXAST_REG_LOAD before 1.5 and a masked set_field from 1.5; move is NXAST_REG_MOVE before 1.5
 * and copy_field from 1.5. Which of the fields sharing ofproto storage an action names (ip_src or
 * arp_spa, tcp_src or udp_src) is decided from the rule's match, as OVS decides it.
 *
 * Decoders refuse anything TVS cannot execute with the error OVS answers for a malformed or
 * unknown action (OFPBAC_BAD_TYPE, OFPBAC_BAD_LEN, OFPBAC_BAD_VENDOR_TYPE, ...).
 */
import { CONTROLLER_REASONS, OFPP, type Action, type Instructions, type Subfield } from '../../ofproto/actions.js';
import { ETH_TYPE, FIELDS, IP_PROTO, fieldMax, type FieldId } from '../../ofproto/flow.js';
import type { Match } from '../../ofproto/match.js';
import { fieldByName, recordedName } from '../../ofproto/names.js';
import { OFP10, OFP11, OFP12, OFP13, OFP15 } from '../messages.js';
import { OfDecodeError, OfEncodeError, OfWriter, type OfReader } from './buffer.js';
import { WIRE_FIELDS, fromModel, headerFor, toModel, variableValue, wireField, wireFieldOf, wireMax, writable, type WireField, type WireHeader } from './fields.js';
import { portFromOf11, portToOf11, pullEntry, putEntry } from './match.js';
import { NXAST_SAMPLE, pullSample, putSampleBody, sampleSubtype } from './sample.js';

const NX_VENDOR_ID = 0x00002320;

/** OpenFlow 1.0 action types. */
const OFPAT10 = { OUTPUT: 0, SET_VLAN_VID: 1, SET_VLAN_PCP: 2, STRIP_VLAN: 3, SET_DL_SRC: 4, SET_DL_DST: 5, SET_NW_SRC: 6, SET_NW_DST: 7, SET_NW_TOS: 8, SET_TP_SRC: 9, SET_TP_DST: 10 } as const;
/** OpenFlow 1.1+ action types. */
const OFPAT11 = {
  OUTPUT: 0, SET_VLAN_VID: 1, SET_VLAN_PCP: 2, SET_DL_SRC: 3, SET_DL_DST: 4, SET_NW_SRC: 5, SET_NW_DST: 6, SET_NW_TOS: 7, SET_NW_ECN: 8,
  SET_TP_SRC: 9, SET_TP_DST: 10, PUSH_VLAN: 17, POP_VLAN: 18, GROUP: 22, SET_NW_TTL: 23, DEC_NW_TTL: 24, SET_FIELD: 25, COPY_FIELD: 28, METER: 29,
} as const;
const OFPAT_VENDOR = 0xffff;
/** Nicira action subtypes. */
const NXAST = {
  RESUBMIT: 1, SET_TUNNEL: 2, REG_MOVE: 6, REG_LOAD: 7, SET_TUNNEL64: 9, RESUBMIT_TABLE: 14, OUTPUT_REG: 15, DEC_TTL: 18, CONTROLLER: 20, WRITE_METADATA: 22,
  STACK_PUSH: 27, STACK_POP: 28, OUTPUT_REG2: 32, REG_LOAD2: 33, CONTROLLER2: 37, GROUP: 40,
} as const;
/** OpenFlow 1.1+ instruction types. */
const OFPIT = { GOTO_TABLE: 1, WRITE_METADATA: 2, WRITE_ACTIONS: 3, APPLY_ACTIONS: 4, CLEAR_ACTIONS: 5, METER: 6, EXPERIMENTER: 0xffff } as const;
const OFPR_ACTION = 1;

/** The OpenFlow action types pullActions accepts in `version` (Nicira actions aside): what a table or group bucket may hold. */
export function parsedActionTypes(version: number): number[] {
  if (version === OFP10) return Object.values(OFPAT10);
  const since = (t: number): number => (t === OFPAT11.SET_FIELD ? OFP12 : t === OFPAT11.COPY_FIELD || t === OFPAT11.METER ? OFP15 : OFP11);
  return Object.values(OFPAT11).filter((t) => version >= since(t));
}

/** The instruction types pullInstructions accepts in `version`. */
export function parsedInstructionTypes(version: number): number[] {
  return Object.values(OFPIT).filter((t) => t !== OFPIT.EXPERIMENTER && (t !== OFPIT.METER || version >= OFP13));
}

/** What encoding an action list needs besides the actions: the version and the rule's match. */
export interface ActionContext {
  version: number;
  /** The rule's match (none for packet_out and group buckets): picks ip_src vs arp_spa etc. */
  match?: Match;
}

/** The context as an action list is written: also whether the packet has a VLAN tag by now. */
interface EncodeState extends ActionContext {
  hasVlan: boolean;
}

function fail(name: string, detail: string): never {
  throw new OfDecodeError(name, detail);
}

// ---------------------------------------------------------------------------------------------
// Choosing the wire field for an ofproto field

function exactIs(m: Match | undefined, f: FieldId, v: number): boolean {
  return m !== undefined && m.isExact(f) && m.flow.get(f) === BigInt(v);
}

/**
 * The wire field that names bits `bits` of ofproto field `f` in an action, given the rule's
 * match: the field itself when it has one wire name, else the one the match's protocol implies.
 */
function wireFieldFor(f: FieldId, bits: bigint, ctx: ActionContext, preferParts: boolean, name?: string): WireField {
  // The name the action was written with (arp_spa, udp_src) is the wire field OVS names too.
  const named = name === undefined ? undefined : WIRE_FIELDS.find((x) => x.field === f && x.partMask === undefined && x.name === name);
  if (named) return named;
  const m = ctx.match;
  const arp = exactIs(m, 'dl_type', ETH_TYPE.ARP) || exactIs(m, 'dl_type', ETH_TYPE.RARP);
  const proto = m?.isExact('nw_proto') ? Number(m.flow.get('nw_proto')) : -1;
  const icmp6 = exactIs(m, 'dl_type', ETH_TYPE.IPV6) && proto === IP_PROTO.ICMPV6;
  switch (f) {
    case 'in_port':
      // OVS names in_port by its 16-bit NXM header in actions of every version.
      return wireField('in_port');
    case 'nw_src':
      return wireField(arp ? 'arp_spa' : 'ip_src');
    case 'nw_dst':
      return wireField(arp ? 'arp_tpa' : 'ip_dst');
    case 'nw_proto':
      return wireField(arp ? 'arp_op' : 'ip_proto');
    case 'tp_src':
    case 'tp_dst': {
      const end = f === 'tp_src' ? 'src' : 'dst';
      if (proto === IP_PROTO.UDP) return wireField(`udp_${end}`);
      if (proto === IP_PROTO.SCTP) return wireField(`sctp_${end}`);
      if (proto === IP_PROTO.ICMP) return wireField(f === 'tp_src' ? 'icmp_type' : 'icmp_code');
      if (proto === IP_PROTO.ICMPV6) return wireField(f === 'tp_src' ? 'icmpv6_type' : 'icmpv6_code');
      return wireField(`tcp_${end}`);
    }
    case 'arp_sha':
      return wireField(icmp6 ? 'nd_sll' : 'arp_sha');
    case 'arp_tha':
      return wireField(icmp6 ? 'nd_tll' : 'arp_tha');
    case 'vlan_tci':
      if (preferParts && bits === 0x1fffn) return wireField('vlan_vid');
      if (preferParts && bits === 0xe000n) return wireField('vlan_pcp');
      return wireField('vlan_tci');
    case 'nw_tos':
      if (bits === 3n) return wireField('ip_ecn');
      return wireField(preferParts ? 'ip_dscp' : 'nw_tos');
    default: {
      const w = WIRE_FIELDS.find((x) => x.field === f && x.partMask === undefined);
      if (!w) throw new OfEncodeError(`field ${f} has no OpenFlow encoding`);
      return w;
    }
  }
}

/** The width in bits of a wire field's value. */
function wireBits(f: WireField): number {
  return f.name === 'in_port_oxm' ? 32 : f.bytes * 8;
}

// ---------------------------------------------------------------------------------------------
// Encoding

/** Starts an action of `type`; returns a function that patches its length (padded to 8). */
function begin(w: OfWriter, type: number): () => void {
  const at = w.length;
  w.u16(type).u16(0);
  return () => {
    const pad = (8 - ((w.length - at) % 8)) % 8;
    w.zeros(pad);
    w.patchU16(at + 2, w.length - at);
  };
}

function nx(w: OfWriter, subtype: number): () => void {
  const end = begin(w, OFPAT_VENDOR);
  w.u32(NX_VENDOR_ID).u16(subtype);
  return end;
}

function putHeaderOnly(w: OfWriter, h: WireHeader, bytes: number): void {
  const exp = h.experimenter === undefined ? 0 : 4;
  w.u32(((h.cls << 16) | (h.field << 9) | (exp + bytes)) >>> 0);
  if (exp) w.u32(h.experimenter ?? 0);
}

function putMac(w: OfWriter, mac: bigint): void {
  w.u16(Number(mac >> 32n)).u32(Number(mac & 0xffffffffn));
}

function putOutput(w: OfWriter, a: Extract<Action, { type: 'output' }>, version: number): void {
  const end = begin(w, OFPAT10.OUTPUT);
  if (version === OFP10) w.u16(a.port).u16(a.maxLen);
  else w.u32(portToOf11(a.port)).u16(a.maxLen).zeros(6);
  end();
}

/** NXAST_REG_LOAD of `nBits` bits at `ofs` of wire field `f`. */
function putRegLoad(w: OfWriter, f: WireField, ofs: number, nBits: number, value: bigint): void {
  const end = nx(w, NXAST.REG_LOAD);
  w.u16(ofsNbits(ofs, nBits));
  putHeaderOnly(w, headerFor(f, 0), f.bytes);
  w.u64(value);
  end();
}

/** A masked write as NXAST_REG_LOADs, one per run of contiguous mask bits (at most 64 each), as OVS does. */
function putRegLoads(w: OfWriter, f: WireField, value: bigint, mask: bigint): void {
  const bits = wireBits(f);
  let ofs = 0;
  while (ofs < bits) {
    if (!((mask >> BigInt(ofs)) & 1n)) {
      ofs++;
      continue;
    }
    let n = 0;
    while (ofs + n < bits && n < 64 && (mask >> BigInt(ofs + n)) & 1n) n++;
    putRegLoad(w, f, ofs, n, (value >> BigInt(ofs)) & ((1n << BigInt(n)) - 1n));
    ofs += n;
  }
}

/** OFPAT_SET_FIELD (1.2+) with value and, from 1.5, a mask. */
function putSetField(w: OfWriter, f: WireField, version: number, value: bigint, mask?: bigint): void {
  const end = begin(w, OFPAT11.SET_FIELD);
  putEntry(w, headerFor(f, version), f.bytes, value, mask);
  end();
}

/** The wire value of ofproto value `v` for field `f` (in_port in 32-bit numbering for OXM). */
function wireValue(f: WireField, v: bigint): bigint {
  return f.name === 'in_port_oxm' ? BigInt(portToOf11(Number(v))) : fromModel(f, v);
}

function putSetFieldAction(w: OfWriter, a: Extract<Action, { type: 'set_field' }>, ctx: EncodeState): void {
  const { version } = ctx;
  const f = wireFieldFor(a.field, a.mask, ctx, true, a.name);
  const whole = f.partMask ?? fieldMax(f.field);
  const mask = fromModel(f, a.mask);
  const value = wireValue(f, a.value);
  const full = (a.mask & whole) === whole && mask === (f.name === 'in_port_oxm' ? wireMax(f) : fromModel(f, whole));
  if (f.variable) return putVariableSetField(w, f, version, value, full ? undefined : mask);
  if (version >= OFP15) return putSetField(w, f, version, value, full ? undefined : mask);
  if (!full) return putRegLoadsOf(w, a, ctx);
  if (version >= OFP12) return putSetField(w, f, version, value);
  // OpenFlow 1.0 and 1.1 have no set_field: the legacy action for the field, else NXAST_REG_LOAD.
  const legacy = version === OFP10 ? OFPAT10 : OFPAT11;
  switch (f.name) {
    case 'vlan_vid':
      return put16(w, legacy.SET_VLAN_VID, Number(value & 0xfffn));
    case 'vlan_pcp':
      return put8(w, legacy.SET_VLAN_PCP, Number(value));
    case 'vlan_tci':
      if (value & 0x1000n) {
        if (version !== OFP10 && !ctx.hasVlan) put16(w, OFPAT11.PUSH_VLAN, ETH_TYPE.VLAN);
        put16(w, legacy.SET_VLAN_VID, Number(value & 0xfffn));
        return put8(w, legacy.SET_VLAN_PCP, Number(value >> 13n));
      }
      return putVoid(w, version === OFP10 ? OFPAT10.STRIP_VLAN : OFPAT11.POP_VLAN);
    case 'eth_src':
    case 'eth_dst':
      return putMacAction(w, f.name === 'eth_src' ? legacy.SET_DL_SRC : legacy.SET_DL_DST, value);
    case 'ip_src':
    case 'ip_dst':
      return put32(w, f.name === 'ip_src' ? legacy.SET_NW_SRC : legacy.SET_NW_DST, Number(value));
    case 'ip_dscp':
      return put8(w, legacy.SET_NW_TOS, Number(value << 2n));
    case 'tcp_src':
    case 'udp_src':
      return put16(w, legacy.SET_TP_SRC, Number(value));
    case 'tcp_dst':
    case 'udp_dst':
      return put16(w, legacy.SET_TP_DST, Number(value));
  }
  return putRegLoadsOf(w, a, ctx);
}

/**
 * A set_field of a variable-length field (tun_metadataN) in the fewest bytes its value and mask
 * need, as OVS's nx_put_entry writes it (a switch refuses one longer than the mapped option):
 * OFPAT_SET_FIELD from 1.2 when unmasked (1.5: masked too), else NXAST_REG_LOAD2.
 */
function putVariableSetField(w: OfWriter, f: WireField, version: number, value: bigint, mask?: bigint): void {
  let bytes = 1;
  while ((value | (mask ?? 0n)) >> BigInt(8 * bytes) !== 0n) bytes++;
  const end = version >= OFP15 || (version >= OFP12 && mask === undefined) ? begin(w, OFPAT11.SET_FIELD) : nx(w, NXAST.REG_LOAD2);
  putEntry(w, headerFor(f, version >= OFP12 ? version : 0), bytes, value, mask);
  end();
}

/** A set_field as NXAST_REG_LOADs of the field's NXM name (what OVS sends for a partial one before 1.5). */
function putRegLoadsOf(w: OfWriter, a: Extract<Action, { type: 'set_field' }>, ctx: ActionContext): void {
  const f = nxmField(a.field, a.mask, ctx, a.name);
  const mask = fromModel(f, a.mask) & (f.loadMask ?? wireMax(f));
  putRegLoads(w, f, fromModel(f, a.value) & mask, mask);
}

/** The field NX actions name for ofproto field `f` (NXM names: vlan_tci, not vlan_vid). */
function nxmField(f: FieldId, bits: bigint, ctx: ActionContext, name?: string): WireField {
  return wireFieldFor(f, bits, { ...ctx, version: 0 }, false, name);
}

function put8(w: OfWriter, type: number, v: number): void {
  const end = begin(w, type);
  w.u8(v).zeros(3);
  end();
}
function put16(w: OfWriter, type: number, v: number): void {
  const end = begin(w, type);
  w.u16(v).zeros(2);
  end();
}
function put32(w: OfWriter, type: number, v: number): void {
  const end = begin(w, type);
  w.u32(v);
  end();
}
function putVoid(w: OfWriter, type: number): void {
  const end = begin(w, type);
  w.zeros(4);
  end();
}
function putMacAction(w: OfWriter, type: number, mac: bigint): void {
  const end = begin(w, type);
  putMac(w, mac);
  w.zeros(6);
  end();
}

/** A subfield as (wire field, offset in it), for NX actions and copy_field. */
function subfieldOnWire(s: Subfield, ctx: ActionContext): { f: WireField; ofs: number } {
  const bits = ((1n << BigInt(s.nBits)) - 1n) << BigInt(s.ofs);
  const f = wireFieldFor(s.field, bits, ctx, ctx.version >= OFP15, s.name);
  return { f, ofs: s.ofs - (f.shift ?? 0) };
}

/**
 * How many bits of wire field `f` a load into `dst` writes: a load of all of arp_op (ofproto
 * keeps its low byte) is of all 16 bits on the wire, as OVS writes load:N->NXM_OF_ARP_OP[].
 */
function loadBits(dst: Subfield, f: WireField): number {
  const whole = dst.ofs === 0 && dst.nBits === FIELDS[dst.field].bits && f.partMask === undefined;
  return whole ? wireBits(f) : dst.nBits;
}

/** The ofs_nbits word of NX actions: offset in the upper 10 bits, width - 1 in the lower 6. */
function ofsNbits(ofs: number, nBits: number): number {
  return (ofs << 6) | (nBits - 1);
}

/**
 * output:SUBFIELD: NXAST_OUTPUT_REG, whose field header has room for 4 bytes (an OXM one like
 * xregN's too, as OVS writes it); OUTPUT_REG2 only for an 8-byte experimenter header.
 */
function putOutputReg(w: OfWriter, a: Extract<Action, { type: 'output_reg' }>, ctx: ActionContext): void {
  const { f, ofs } = subfieldOnWire(a.src, { ...ctx, version: 0 });
  const on = ofsNbits(ofs, a.src.nBits);
  const h = headerFor(f, 0);
  if (h.experimenter === undefined) {
    const end = nx(w, NXAST.OUTPUT_REG);
    w.u16(on);
    putHeaderOnly(w, h, f.bytes);
    w.u16(a.maxLen).zeros(6);
    return end();
  }
  const end = nx(w, NXAST.OUTPUT_REG2);
  w.u16(on).u16(a.maxLen);
  putHeaderOnly(w, h, f.bytes);
  return end();
}

/** push:SUBFIELD / pop:SUBFIELD (NXAST_STACK_PUSH / POP): offset, field header, width, padded to 24. */
function putStack(w: OfWriter, subtype: number, s: Subfield, ctx: ActionContext): void {
  const { f, ofs } = subfieldOnWire(s, { ...ctx, version: 0 });
  const end = nx(w, subtype);
  w.u16(ofs);
  putHeaderOnly(w, headerFor(f, 0), f.bytes);
  w.u16(s.nBits);
  return end();
}

function putAction(w: OfWriter, a: Action, ctx: EncodeState): void {
  const { version } = ctx;
  const legacy = version === OFP10 ? OFPAT10 : OFPAT11;
  switch (a.type) {
    case 'output':
      return putOutput(w, a, version);
    case 'set_vlan_vid':
    case 'set_vlan_pcp': {
      if (version > OFP10 && a.push && !ctx.hasVlan) put16(w, OFPAT11.PUSH_VLAN, ETH_TYPE.VLAN);
      const vid = a.type === 'set_vlan_vid';
      if (version === OFP10) return vid ? put16(w, OFPAT10.SET_VLAN_VID, a.vid) : put8(w, OFPAT10.SET_VLAN_PCP, a.pcp);
      if (version === OFP11) return vid ? put16(w, OFPAT11.SET_VLAN_VID, a.vid) : put8(w, OFPAT11.SET_VLAN_PCP, a.pcp);
      return vid ? putSetField(w, wireField('vlan_vid'), version, BigInt(a.vid | 0x1000)) : putSetField(w, wireField('vlan_pcp'), version, BigInt(a.pcp));
    }
    case 'strip_vlan':
      return putVoid(w, version === OFP10 ? OFPAT10.STRIP_VLAN : OFPAT11.POP_VLAN);
    case 'push_vlan':
      // OpenFlow 1.0 has no push: its set_vlan_vid/pcp push a tag themselves (as OVS encodes it).
      if (version !== OFP10) put16(w, OFPAT11.PUSH_VLAN, a.ethertype);
      return;
    case 'set_eth_src':
    case 'set_eth_dst':
      if (version >= OFP12) return putSetField(w, wireField(a.type === 'set_eth_src' ? 'eth_src' : 'eth_dst'), version, a.mac);
      return putMacAction(w, a.type === 'set_eth_src' ? legacy.SET_DL_SRC : legacy.SET_DL_DST, a.mac);
    case 'set_ipv4_src':
    case 'set_ipv4_dst':
      if (version >= OFP12) return putSetField(w, wireField(a.type === 'set_ipv4_src' ? 'ip_src' : 'ip_dst'), version, BigInt(a.ip));
      return put32(w, a.type === 'set_ipv4_src' ? legacy.SET_NW_SRC : legacy.SET_NW_DST, a.ip);
    case 'set_ip_dscp':
      if (version >= OFP12) return putSetField(w, wireField('ip_dscp'), version, BigInt(a.tos >> 2));
      return put8(w, legacy.SET_NW_TOS, a.tos);
    case 'set_l4_src_port':
    case 'set_l4_dst_port': {
      const src = a.type === 'set_l4_src_port';
      const proto = ctx.match?.isExact('nw_proto') ? Number(ctx.match.flow.get('nw_proto')) : -1;
      const name = proto === IP_PROTO.TCP ? 'tcp' : proto === IP_PROTO.UDP ? 'udp' : proto === IP_PROTO.SCTP ? 'sctp' : undefined;
      if (version >= OFP12 && name) return putSetField(w, wireField(`${name}_${src ? 'src' : 'dst'}`), version, BigInt(a.port));
      return put16(w, src ? legacy.SET_TP_SRC : legacy.SET_TP_DST, a.port);
    }
    case 'dec_ttl':
      if (version === OFP10) {
        const end = nx(w, NXAST.DEC_TTL);
        return end();
      }
      return putVoid(w, OFPAT11.DEC_NW_TTL);
    case 'set_field':
      return putSetFieldAction(w, a, ctx);
    case 'load': {
      if (wireFieldFor(a.dst.field, 0n, ctx, false, a.dst.name).variable) {
        // OVS sends a load into a variable-length field as a masked set_field (NXAST_REG_LOAD2 before 1.5).
        const { f, ofs } = subfieldOnWire(a.dst, ctx);
        const mask = ((1n << BigInt(a.dst.nBits)) - 1n) << BigInt(ofs);
        return putVariableSetField(w, f, version, a.value << BigInt(ofs), mask === wireMax(f) ? undefined : mask);
      }
      if (version >= OFP15) {
        const { f, ofs } = subfieldOnWire(a.dst, ctx);
        const mask = ((1n << BigInt(loadBits(a.dst, f))) - 1n) << BigInt(ofs);
        return putSetField(w, f, version, a.value << BigInt(ofs), mask === wireMax(f) ? undefined : mask);
      }
      // NXAST_REG_LOAD addresses at most 64 bits: a wider load (of an xxreg) is several, lowest first, as OVS splits it.
      const { f, ofs } = subfieldOnWire(a.dst, { ...ctx, version: 0 });
      const mask = ((1n << BigInt(loadBits(a.dst, f))) - 1n) << BigInt(ofs);
      return putRegLoads(w, f, a.value << BigInt(ofs), mask);
    }
    case 'move': {
      const src = subfieldOnWire(a.src, version >= OFP15 ? ctx : { ...ctx, version: 0 });
      const dst = subfieldOnWire(a.dst, version >= OFP15 ? ctx : { ...ctx, version: 0 });
      if (version >= OFP15) {
        const end = begin(w, OFPAT11.COPY_FIELD);
        w.u16(a.dst.nBits).u16(src.ofs).u16(dst.ofs).zeros(2);
        putHeaderOnly(w, headerFor(src.f, version), src.f.bytes);
        putHeaderOnly(w, headerFor(dst.f, version), dst.f.bytes);
        return end();
      }
      const end = nx(w, NXAST.REG_MOVE);
      w.u16(a.dst.nBits).u16(src.ofs).u16(dst.ofs);
      putHeaderOnly(w, headerFor(src.f, 0), src.f.bytes);
      putHeaderOnly(w, headerFor(dst.f, 0), dst.f.bytes);
      return end();
    }
    case 'resubmit': {
      // OVS writes every resubmit as RESUBMIT_TABLE (table 255: this table).
      const end = nx(w, NXAST.RESUBMIT_TABLE);
      w.u16(a.inPort).u8(a.table).zeros(3);
      return end();
    }
    case 'set_tunnel': {
      if (version >= OFP12) return putSetField(w, wireField('tun_id'), version, a.tunId);
      if (!a.is64 && a.tunId <= 0xffffffffn) {
        const end = nx(w, NXAST.SET_TUNNEL);
        w.zeros(2).u32(Number(a.tunId));
        return end();
      }
      const end = nx(w, NXAST.SET_TUNNEL64);
      w.zeros(6).u64(a.tunId);
      return end();
    }
    case 'group':
      if (version === OFP10) {
        const end = nx(w, NXAST.GROUP);
        w.zeros(2).u32(a.groupId);
        return end();
      }
      return put32(w, OFPAT11.GROUP, a.groupId);
    case 'output_reg':
      return putOutputReg(w, a, ctx);
    case 'push':
      return putStack(w, NXAST.STACK_PUSH, a.src, ctx);
    case 'pop':
      return putStack(w, NXAST.STACK_POP, a.dst, ctx);
    case 'controller':
      return putController(w, a);
    case 'sample': {
      const end = nx(w, sampleSubtype(a));
      putSampleBody(w, a);
      return end();
    }
  }
}

/**
 * controller(...): NXAST_CONTROLLER when what it says fits there (max_len, id, reason), else
 * NXAST_CONTROLLER2 with a property for each thing that differs from its default, as OVS writes it.
 */
function putController(w: OfWriter, a: Extract<Action, { type: 'controller' }>): void {
  const reason = CONTROLLER_REASONS.indexOf(a.reason);
  if (!a.userdata?.length && !a.pause && a.meterId === undefined) {
    const end = nx(w, NXAST.CONTROLLER);
    w.u16(a.maxLen).u16(a.controllerId).u8(reason).zeros(1);
    return end();
  }
  const end = nx(w, NXAST.CONTROLLER2);
  w.zeros(6);
  const prop = (type: number, body: (w: OfWriter) => void) => {
    const at = w.length;
    w.u16(type).u16(0);
    body(w);
    w.patchU16(at + 2, w.length - at);
    w.zeros((8 - ((w.length - at) % 8)) % 8);
  };
  // A u16 value is padded to 4 bytes inside its property, as OVS's ofpprop_put_u16 writes it; a u8 is not.
  if (a.maxLen !== 0xffff) prop(NXAC2PT.MAX_LEN, (b) => b.u16(a.maxLen).zeros(2));
  if (a.controllerId !== 0) prop(NXAC2PT.CONTROLLER_ID, (b) => b.u16(a.controllerId).zeros(2));
  if (a.reason !== 'action') prop(NXAC2PT.REASON, (b) => b.u8(reason));
  const { userdata, meterId } = a;
  if (userdata?.length) prop(NXAC2PT.USERDATA, (b) => b.bytes(userdata));
  if (a.pause) prop(NXAC2PT.PAUSE, () => undefined);
  if (meterId !== undefined) prop(NXAC2PT.METER_ID, (b) => b.u32(meterId));
  return end();
}

/**
 * Writes an action list for `ctx.version`. Whether the packet has a VLAN tag at each action
 * (from the match, then pushes and pops) decides, as in OVS, if mod_vlan_vid needs a push_vlan.
 */
export function putActions(w: OfWriter, actions: readonly Action[], ctx: ActionContext): void {
  const state: EncodeState = { ...ctx, hasVlan: ctx.match !== undefined && (ctx.match.flow.get('vlan_tci') & 0x1000n) !== 0n };
  for (const a of actions) {
    putAction(w, a, state);
    if (a.type === 'push_vlan' || ((a.type === 'set_vlan_vid' || a.type === 'set_vlan_pcp') && a.push)) state.hasVlan = true;
    else if (a.type === 'strip_vlan') state.hasVlan = false;
    else if (a.type === 'set_field' && a.field === 'vlan_tci' && a.mask & 0x1000n) state.hasVlan = (a.value & 0x1000n) !== 0n;
  }
}

function putWriteMetadataNx(w: OfWriter, wm: { value: bigint; mask: bigint }): void {
  const end = nx(w, NXAST.WRITE_METADATA);
  w.zeros(6).u64(wm.value).u64(wm.mask);
  end();
}

/**
 * Writes a rule's instructions: OpenFlow 1.0 carries only actions (write_metadata as the Nicira
 * action); 1.1+ writes instructions in OpenFlow's order.
 */
export function putInstructions(w: OfWriter, ins: Instructions, ctx: ActionContext): void {
  if (ins.meter !== undefined && ctx.version < OFP13) throw new OfEncodeError(`meter:${ins.meter} needs OpenFlow 1.3 or later, which has meters`);
  if (ctx.version === OFP10) {
    if (ins.clearActions || ins.write || ins.gotoTable !== undefined) {
      throw new OfEncodeError('OpenFlow 1.0 has no clear_actions, write_actions or goto_table: use OpenFlow 1.1 or later');
    }
    putActions(w, ins.apply, ctx);
    if (ins.writeMetadata) putWriteMetadataNx(w, ins.writeMetadata);
    return;
  }
  const list = (type: number, actions: readonly Action[], meter?: number) => {
    const at = w.length;
    w.u16(type).u16(0).zeros(4);
    if (meter !== undefined) w.u16(OFPAT11.METER).u16(8).u32(meter);
    putActions(w, actions, ctx);
    w.patchU16(at + 2, w.length - at);
  };
  // The meter comes first: an instruction up to 1.4, from 1.5 an action opening apply-actions.
  const meterAction = ctx.version >= OFP15 ? ins.meter : undefined;
  if (ins.meter !== undefined && meterAction === undefined) w.u16(OFPIT.METER).u16(8).u32(ins.meter);
  if (ins.apply.length || meterAction !== undefined) list(OFPIT.APPLY_ACTIONS, ins.apply, meterAction);
  if (ins.clearActions) w.u16(OFPIT.CLEAR_ACTIONS).u16(8).zeros(4);
  if (ins.write) list(OFPIT.WRITE_ACTIONS, ins.write);
  if (ins.writeMetadata) w.u16(OFPIT.WRITE_METADATA).u16(24).zeros(4).u64(ins.writeMetadata.value).u64(ins.writeMetadata.mask);
  if (ins.gotoTable !== undefined) w.u16(OFPIT.GOTO_TABLE).u16(8).u8(ins.gotoTable).zeros(3);
}

// ---------------------------------------------------------------------------------------------
// Decoding

function bigOf(b: Buffer): bigint {
  let v = 0n;
  for (const byte of b) v = (v << 8n) | BigInt(byte);
  return v;
}

/** A port an output action may name (OFPP_ANY and unassigned reserved numbers may not). */
function checkOutputPort(port: number): number {
  const reserved: number[] = [OFPP.IN_PORT, OFPP.TABLE, OFPP.NORMAL, OFPP.FLOOD, OFPP.ALL, OFPP.CONTROLLER, OFPP.LOCAL];
  if (port < OFPP.MAX || reserved.includes(port)) return port;
  return fail('OFPBAC_BAD_OUT_PORT', `output to port 0x${port.toString(16)}, which is not a port`);
}

function of11Port(port: number, what: string): number {
  const p = portFromOf11(port);
  if (p === undefined) fail('OFPBAC_BAD_OUT_PORT', `${what} 0x${port.toString(16)} is not a port`);
  return p;
}

/** Reads an NXM header (4 bytes, or 8 for an experimenter field) naming a field in an action. */
function pullFieldHeader(r: OfReader, error: string): { f: WireField; h: WireHeader } {
  const raw = r.u32();
  const h: WireHeader = { cls: raw >>> 16, field: (raw >>> 9) & 0x7f };
  if (h.cls === 0xffff) h.experimenter = r.u32();
  const f = wireFieldOf(h);
  if (!f) fail(error, `unknown field 0x${raw.toString(16)}`);
  return { f, h };
}

/** A subfield read from an action, checked against the field's width. */
function subfieldFrom(f: WireField, ofs: number, nBits: number, what: string): Subfield {
  if (nBits < 1 || ofs + nBits > wireBits(f)) fail('OFPBAC_BAD_SET_ARGUMENT', `${what}: bits ${ofs}..${ofs + nBits - 1} are outside ${f.name} (${wireBits(f)} bits)`);
  if (f.name === 'in_port_oxm') fail('OFPBAC_BAD_SET_ARGUMENT', `${what}: the 32-bit in_port cannot be addressed by bits`);
  const at = ofs + (f.shift ?? 0);
  // arp_op is 16 bits on the wire but 8 in ofproto's nw_proto: bits above those do not exist.
  if (at + nBits > FIELDS[f.field].bits) fail('OFPBAC_BAD_SET_ARGUMENT', `${what}: bits ${ofs}..${ofs + nBits - 1} of ${f.name} are beyond what TVS stores of it`);
  return { field: f.field, ofs: at, nBits, ...nameOf(f) };
}

/**
 * The name an action records for wire field `f`: none for its field's default name, else the
 * one it was sent with (arp_spa for nw_src), so it prints as it was written.
 */
function nameOf(f: WireField): { name?: string } {
  const fn = fieldByName(f.name);
  const name = fn && fn.field === f.field ? recordedName(fn) : undefined;
  return name === undefined ? {} : { name };
}

/** A set_field/reg_load2 entry as an ofproto set_field action. */
function setFieldFromEntry(r: OfReader, mayMask: boolean): Action {
  const e = pullEntry(r, 'OFPBAC_BAD_SET_LEN');
  const f = wireFieldOf(e.header);
  if (!f) fail('OFPBAC_BAD_SET_TYPE', `set_field of an unknown field (class 0x${e.header.cls.toString(16)} field ${e.header.field})`);
  if (f.variable) {
    for (const b of e.mask ? [e.value, e.mask] : [e.value]) {
      const v = variableValue(f, b);
      if (typeof v === 'string') fail('OFPBAC_BAD_SET_LEN', `set_field: ${v}`);
    }
  } else if (e.value.length !== f.bytes) fail('OFPBAC_BAD_SET_LEN', `set_field of ${f.name} with ${e.value.length} bytes, not ${f.bytes}`);
  if (!writable(f)) fail('OFPBAC_BAD_SET_ARGUMENT', `set_field: destination field ${f.name} is read-only`);
  if (e.mask && !mayMask) fail('OFPBAC_BAD_SET_MASK', `set_field of ${f.name} may not have a mask before OpenFlow 1.5`);
  if (e.mask && !f.maskable && f.partMask === undefined) fail('OFPBAC_BAD_SET_MASK', `${f.name} cannot be set with a mask`);
  const value = bigOf(e.value);
  const mask = e.mask ? bigOf(e.mask) : wireMax(f);
  if (f.valid && !f.valid(value & mask)) fail('OFPBAC_BAD_SET_ARGUMENT', `set_field: 0x${value.toString(16)} is not a valid ${f.name}`);
  if (f.name === 'vlan_vid' && !(value & 0x1000n)) fail('OFPBAC_BAD_SET_ARGUMENT', 'set_field of vlan_vid without OFPVID_PRESENT');
  if (f.name === 'in_port_oxm') {
    if (e.mask) fail('OFPBAC_BAD_SET_MASK', 'in_port cannot be set with a mask');
    return { type: 'set_field', field: 'in_port', value: BigInt(of11Port(Number(value), 'in_port')), mask: fieldMax('in_port') };
  }
  // Unmasked, it sets all of the field, even one kept wider than it is on the wire (icmp_type in tp_src).
  const modelMask = e.mask ? toModel(f, mask) : (f.partMask ?? fieldMax(f.field));
  return { type: 'set_field', field: f.field, value: toModel(f, value & mask), mask: modelMask, ...nameOf(f) };
}

function expectLen(len: number, want: number, what: string): void {
  if (len !== want) fail('OFPBAC_BAD_LEN', `${what} action has length ${len}, not ${want}`);
}

function pullNxAction(r: OfReader, len: number, version: number, ins: Instructions | undefined): Action | undefined {
  const vendor = r.u32();
  if (vendor !== NX_VENDOR_ID) fail('OFPBAC_BAD_VENDOR', `vendor action of vendor 0x${vendor.toString(16)}`);
  if (len < 16) fail('OFPBAC_BAD_LEN', `Nicira action of length ${len}`);
  const subtype = r.u16();
  switch (subtype) {
    case NXAST.RESUBMIT:
    case NXAST.RESUBMIT_TABLE: {
      expectLen(len, 16, 'resubmit');
      const inPort = r.u16();
      const table = r.u8();
      r.skip(3);
      return { type: 'resubmit', inPort, table: subtype === NXAST.RESUBMIT ? 255 : table };
    }
    case NXAST.SET_TUNNEL:
      expectLen(len, 16, 'set_tunnel');
      r.skip(2);
      return { type: 'set_tunnel', tunId: BigInt(r.u32()), is64: false };
    case NXAST.SET_TUNNEL64:
      expectLen(len, 24, 'set_tunnel64');
      r.skip(6);
      return { type: 'set_tunnel', tunId: r.u64(), is64: true };
    case NXAST.REG_LOAD: {
      expectLen(len, 24, 'reg_load');
      const ofsNbits = r.u16();
      const { f } = pullFieldHeader(r, 'OFPBAC_BAD_SET_TYPE');
      const value = r.u64();
      const nBits = (ofsNbits & 0x3f) + 1;
      if (nBits < 64 && value >> BigInt(nBits)) fail('OFPBAC_BAD_ARGUMENT', `load: value 0x${value.toString(16)} does not fit in ${nBits} bits`);
      const stored = FIELDS[f.field].bits;
      if (ofsNbits >> 6 === 0 && nBits === wireBits(f) && nBits > stored && f.partMask === undefined) {
        // All of a field ofproto keeps only the low bits of (arp_op): the value must fit in those.
        if (value >> BigInt(stored)) fail('OFPBAC_BAD_SET_ARGUMENT', `load: TVS keeps the low ${stored} bits of ${f.name}, 0x${value.toString(16)} does not fit`);
        return { type: 'load', dst: { field: f.field, ofs: 0, nBits: stored, ...nameOf(f) }, value };
      }
      return { type: 'load', dst: subfieldFrom(f, ofsNbits >> 6, nBits, 'load'), value };
    }
    case NXAST.REG_LOAD2: {
      const body = r.sub(len - 10, 'reg_load2');
      const a = setFieldFromEntry(body, true);
      if (body.remaining >= 8 || body.buf.subarray(body.offset).some((b) => b !== 0)) fail('OFPBAC_BAD_SET_LEN', 'reg_load2 has bytes after its field');
      return a;
    }
    case NXAST.REG_MOVE: {
      if (len < 24) fail('OFPBAC_BAD_LEN', `reg_move action has length ${len}`);
      const body = r.sub(len - 10, 'reg_move');
      const nBits = body.u16();
      const srcOfs = body.u16();
      const dstOfs = body.u16();
      const src = pullFieldHeader(body, 'OFPBAC_BAD_SET_TYPE');
      const dst = pullFieldHeader(body, 'OFPBAC_BAD_SET_TYPE');
      return { type: 'move', src: subfieldFrom(src.f, srcOfs, nBits, 'move'), dst: subfieldFrom(dst.f, dstOfs, nBits, 'move') };
    }
    case NXAST.DEC_TTL:
      expectLen(len, 16, 'dec_ttl');
      r.skip(6);
      return { type: 'dec_ttl' };
    case NXAST.GROUP:
      expectLen(len, 16, 'group');
      r.skip(2);
      return { type: 'group', groupId: r.u32() };
    case NXAST.CONTROLLER: {
      expectLen(len, 16, 'controller');
      const maxLen = r.u16();
      const id = r.u16();
      const reason = r.u8();
      r.skip(1);
      if (id === 0 && reason === OFPR_ACTION) return { type: 'output', port: OFPP.CONTROLLER, maxLen };
      return { type: 'controller', maxLen, reason: controllerReason(reason), controllerId: id, pause: false };
    }
    case NXAST.OUTPUT_REG: {
      expectLen(len, 24, 'output_reg');
      const on = r.u16();
      const { f } = pullFieldHeader(r, 'OFPBAC_BAD_ARGUMENT');
      const maxLen = r.u16();
      if (r.bytes(6).some((b) => b !== 0)) fail('OFPBAC_BAD_ARGUMENT', 'output_reg has nonzero padding');
      return { type: 'output_reg', src: outputRegSource(f, on), maxLen };
    }
    case NXAST.OUTPUT_REG2: {
      if (len < 24) fail('OFPBAC_BAD_LEN', `output_reg2 action has length ${len}`);
      const body = r.sub(len - 10, 'output_reg2');
      const on = body.u16();
      const maxLen = body.u16();
      const { f } = pullFieldHeader(body, 'OFPBAC_BAD_ARGUMENT');
      return { type: 'output_reg', src: outputRegSource(f, on), maxLen };
    }
    case NXAST.STACK_PUSH:
    case NXAST.STACK_POP: {
      const what = subtype === NXAST.STACK_PUSH ? 'push' : 'pop';
      expectLen(len, 24, what);
      const body = r.sub(len - 10, what);
      const ofs = body.u16();
      const { f } = pullFieldHeader(body, 'OFPBAC_BAD_ARGUMENT');
      const sub = subfieldFrom(f, ofs, body.u16(), what);
      return what === 'push' ? { type: 'push', src: sub } : { type: 'pop', dst: sub };
    }
    case NXAST.CONTROLLER2:
      return pullController2(r, len);
    case NXAST_SAMPLE.SAMPLE:
    case NXAST_SAMPLE.SAMPLE2:
    case NXAST_SAMPLE.SAMPLE3:
      return pullSample(r, subtype, len);
    case NXAST.WRITE_METADATA: {
      expectLen(len, 32, 'write_metadata');
      r.skip(6);
      const value = r.u64();
      const mask = r.u64();
      if (!ins || version !== OFP10) fail('OFPBAC_BAD_TYPE', 'the Nicira write_metadata action is only valid among an OpenFlow 1.0 rule\'s actions');
      if (ins.writeMetadata) fail('OFPBAC_BAD_ARGUMENT', 'write_metadata appears twice');
      ins.writeMetadata = { value, mask };
      return undefined;
    }
    default:
      return fail('OFPBAC_BAD_VENDOR_TYPE', `Nicira action subtype ${subtype} is not supported`);
  }
}

/** output_reg's source from its ofs_nbits word: a port number, so at most 32 bits (as ofproto's model has it). */
function outputRegSource(f: WireField, on: number): Subfield {
  const nBits = (on & 0x3f) + 1;
  if (nBits > 32) fail('OFPBAC_BAD_ARGUMENT', `output_reg of ${nBits} bits of ${f.name}: a port number is at most 32 bits`);
  return subfieldFrom(f, on >> 6, nBits, 'output_reg');
}

/** A packet-in reason number as the controller action's reason. */
function controllerReason(n: number): Extract<Action, { type: 'controller' }>['reason'] {
  const reason = CONTROLLER_REASONS[n];
  if (reason === undefined) fail('OFPBAC_BAD_ARGUMENT', `controller action with unknown packet-in reason ${n}`);
  return reason;
}

/** NXAST_CONTROLLER2 properties. */
const NXAC2PT = { MAX_LEN: 0, CONTROLLER_ID: 1, REASON: 2, USERDATA: 3, PAUSE: 4, METER_ID: 5 } as const;

/**
 * NXAST_CONTROLLER2: a property for each of max_len, id, reason, userdata, pause and meter_id
 * that differs from its default. With nothing but a max_len it is an output to CONTROLLER.
 */
function pullController2(r: OfReader, len: number): Action {
  r.skip(6);
  const props = r.sub(len - 16, 'controller2 properties');
  const a: Extract<Action, { type: 'controller' }> = { type: 'controller', maxLen: 0xffff, reason: 'action', controllerId: 0, pause: false };
  while (props.remaining > 0) {
    if (props.remaining < 4) fail('OFPBPC_BAD_LEN', 'controller2 property header cut short');
    const type = props.u16();
    const plen = props.u16();
    if (plen < 4 || plen - 4 > props.remaining) fail('OFPBPC_BAD_LEN', `controller2 property ${type} has length ${plen}`);
    const p = props.sub(plen - 4, 'property');
    props.skip(Math.min(props.remaining, (8 - (plen % 8)) % 8));
    // OVS pads a u16 value to 4 bytes inside the property, and reads any property long enough.
    const size = (n: number, what: string) => {
      if (p.remaining < n) fail('OFPBPC_BAD_LEN', `controller2 ${what} needs ${n} bytes, the property has ${p.remaining}`);
    };
    switch (type) {
      case NXAC2PT.MAX_LEN:
        size(2, 'max_len');
        a.maxLen = p.u16();
        break;
      case NXAC2PT.CONTROLLER_ID:
        size(2, 'id');
        a.controllerId = p.u16();
        break;
      case NXAC2PT.REASON:
        size(1, 'reason');
        a.reason = controllerReason(p.u8());
        break;
      case NXAC2PT.USERDATA:
        if (p.remaining) a.userdata = Buffer.from(p.bytes(p.remaining));
        break;
      case NXAC2PT.PAUSE:
        a.pause = true;
        break;
      case NXAC2PT.METER_ID:
        size(4, 'meter_id');
        a.meterId = p.u32();
        break;
      default:
        fail('OFPBPC_BAD_TYPE', `unknown controller2 property ${type}`);
    }
  }
  const plain = a.reason === 'action' && a.controllerId === 0 && !a.userdata && !a.pause && a.meterId === undefined;
  return plain ? { type: 'output', port: OFPP.CONTROLLER, maxLen: a.maxLen } : a;
}

function pullOf10Action(r: OfReader, type: number, len: number): Action {
  const fixed = (want: number, what: string) => expectLen(len, want, what);
  switch (type) {
    case OFPAT10.OUTPUT: {
      fixed(8, 'output');
      const port = checkOutputPort(r.u16());
      return { type: 'output', port, maxLen: r.u16() };
    }
    case OFPAT10.SET_VLAN_VID: {
      fixed(8, 'set_vlan_vid');
      const vid = r.u16();
      if (vid > 0xfff) fail('OFPBAC_BAD_ARGUMENT', `set_vlan_vid ${vid} is above 4095`);
      return { type: 'set_vlan_vid', vid, push: true };
    }
    case OFPAT10.SET_VLAN_PCP: {
      fixed(8, 'set_vlan_pcp');
      const pcp = r.u8();
      if (pcp > 7) fail('OFPBAC_BAD_ARGUMENT', `set_vlan_pcp ${pcp} is above 7`);
      return { type: 'set_vlan_pcp', pcp, push: true };
    }
    case OFPAT10.STRIP_VLAN:
      fixed(8, 'strip_vlan');
      return { type: 'strip_vlan', raw: 'strip_vlan' };
    default:
      // OpenFlow 1.1 numbers dl/nw/tos one lower than 1.0 (it drops strip_vlan), tp_src/tp_dst the same (it adds set_nw_ecn).
      return pullCommonSetAction(r, type <= OFPAT10.SET_NW_TOS ? type - 1 : type, len, OFP10);
  }
}

/** The set actions OpenFlow 1.0 and 1.1 share: dl/nw/tos/tp, by their OpenFlow 1.1 number `type11`. */
function pullCommonSetAction(r: OfReader, type11: number, len: number, version: number): Action {
  switch (type11) {
    case OFPAT11.SET_DL_SRC:
    case OFPAT11.SET_DL_DST: {
      expectLen(len, 16, 'set_dl_src/dst');
      const mac = bigOf(r.bytes(6));
      r.skip(6);
      return { type: type11 === OFPAT11.SET_DL_SRC ? 'set_eth_src' : 'set_eth_dst', mac };
    }
    case OFPAT11.SET_NW_SRC:
    case OFPAT11.SET_NW_DST:
      expectLen(len, 8, 'set_nw_src/dst');
      return { type: type11 === OFPAT11.SET_NW_SRC ? 'set_ipv4_src' : 'set_ipv4_dst', ip: r.u32() };
    case OFPAT11.SET_NW_TOS: {
      expectLen(len, 8, 'set_nw_tos');
      const tos = r.u8();
      if (tos & 3) fail('OFPBAC_BAD_ARGUMENT', `set_nw_tos 0x${tos.toString(16)} sets ECN bits`);
      return { type: 'set_ip_dscp', tos };
    }
    case OFPAT11.SET_TP_SRC:
    case OFPAT11.SET_TP_DST:
      expectLen(len, 8, 'set_tp_src/dst');
      return { type: type11 === OFPAT11.SET_TP_SRC ? 'set_l4_src_port' : 'set_l4_dst_port', port: r.u16() };
    default:
      return fail('OFPBAC_BAD_TYPE', `OpenFlow ${version === OFP10 ? '1.0' : '1.1+'} action type ${type11}${version === OFP10 ? ' (1.1 numbering)' : ''} is not supported`);
  }
}

function pullOf11Action(r: OfReader, type: number, len: number, version: number): Action {
  switch (type) {
    case OFPAT11.OUTPUT: {
      expectLen(len, 16, 'output');
      const port = checkOutputPort(of11Port(r.u32(), 'output port'));
      const maxLen = r.u16();
      r.skip(6);
      return { type: 'output', port, maxLen };
    }
    case OFPAT11.SET_VLAN_VID: {
      expectLen(len, 8, 'set_vlan_vid');
      const vid = r.u16();
      if (vid > 0xfff) fail('OFPBAC_BAD_ARGUMENT', `set_vlan_vid ${vid} is above 4095`);
      return { type: 'set_vlan_vid', vid, push: false };
    }
    case OFPAT11.SET_VLAN_PCP: {
      expectLen(len, 8, 'set_vlan_pcp');
      const pcp = r.u8();
      if (pcp > 7) fail('OFPBAC_BAD_ARGUMENT', `set_vlan_pcp ${pcp} is above 7`);
      return { type: 'set_vlan_pcp', pcp, push: false };
    }
    case OFPAT11.SET_NW_ECN: {
      expectLen(len, 8, 'set_nw_ecn');
      const ecn = r.u8();
      if (ecn > 3) fail('OFPBAC_BAD_ARGUMENT', `set_nw_ecn ${ecn} is above 3`);
      return { type: 'set_field', field: 'nw_tos', value: BigInt(ecn), mask: 3n };
    }
    case OFPAT11.PUSH_VLAN: {
      expectLen(len, 8, 'push_vlan');
      const ethertype = r.u16();
      if (ethertype !== ETH_TYPE.VLAN && ethertype !== ETH_TYPE.VLAN_8021AD) fail('OFPBAC_BAD_ARGUMENT', `push_vlan of ethertype 0x${ethertype.toString(16)}: only 0x8100 and 0x88a8 are VLAN tags`);
      return { type: 'push_vlan', ethertype };
    }
    case OFPAT11.POP_VLAN:
      expectLen(len, 8, 'pop_vlan');
      return { type: 'strip_vlan', raw: 'pop_vlan' };
    case OFPAT11.GROUP:
      expectLen(len, 8, 'group');
      return { type: 'group', groupId: r.u32() };
    case OFPAT11.SET_NW_TTL:
      expectLen(len, 8, 'set_nw_ttl');
      return { type: 'set_field', field: 'nw_ttl', value: BigInt(r.u8()), mask: fieldMax('nw_ttl') };
    case OFPAT11.DEC_NW_TTL:
      expectLen(len, 8, 'dec_nw_ttl');
      return { type: 'dec_ttl' };
    case OFPAT11.SET_FIELD: {
      if (version < OFP12) fail('OFPBAC_BAD_TYPE', 'set_field is an OpenFlow 1.2+ action');
      const body = r.sub(len - 4, 'set_field');
      const a = setFieldFromEntry(body, version >= OFP15);
      if (body.remaining >= 8) fail('OFPBAC_BAD_SET_LEN', 'set_field has bytes after its field');
      return a;
    }
    case OFPAT11.COPY_FIELD: {
      if (version < OFP15) fail('OFPBAC_BAD_TYPE', 'copy_field is an OpenFlow 1.5 action');
      const body = r.sub(len - 4, 'copy_field');
      const nBits = body.u16();
      const srcOfs = body.u16();
      const dstOfs = body.u16();
      body.skip(2);
      const src = pullFieldHeader(body, 'OFPBAC_BAD_SET_TYPE');
      const dst = pullFieldHeader(body, 'OFPBAC_BAD_SET_TYPE');
      return { type: 'move', src: subfieldFrom(src.f, srcOfs, nBits, 'copy_field'), dst: subfieldFrom(dst.f, dstOfs, nBits, 'copy_field') };
    }
    default:
      return pullCommonSetAction(r, type, len, version);
  }
}

/**
 * Reads the action list filling `r`. `ins`, for an OpenFlow 1.0 rule's actions, receives what
 * the Nicira write_metadata action sets.
 */
export function pullActions(r: OfReader, version: number, ins?: Instructions): Action[] {
  const out: Action[] = [];
  while (r.remaining > 0) {
    if (r.remaining < 8) fail('OFPBAC_BAD_LEN', `${r.remaining} bytes left where an action needs at least 8`);
    const type = r.u16();
    const len = r.u16();
    if (len < 8 || len % 8 || len - 4 > r.remaining) fail('OFPBAC_BAD_LEN', `action type ${type} has length ${len}, ${r.remaining + 4} bytes left`);
    const body = r.sub(len - 4, 'action');
    if (type === OFPAT11.METER && version >= OFP15) {
      pullMeterAction(body, len, out.length === 0, ins);
      continue;
    }
    let a: Action | undefined;
    if (type === OFPAT_VENDOR) a = pullNxAction(body, len, version, ins);
    else if (version === OFP10) a = pullOf10Action(body, type, len);
    else a = pullOf11Action(body, type, len, version);
    if (a) out.push(a);
  }
  return out;
}

/**
 * OpenFlow 1.5's meter action, which ofproto holds as the rule's meter: only as the first of a
 * rule's apply-actions, where it means what 1.3's meter instruction means.
 */
function pullMeterAction(r: OfReader, len: number, first: boolean, ins: Instructions | undefined): void {
  expectLen(len, 8, 'meter');
  const meterId = r.u32();
  if (!ins) fail('OFPBAC_UNSUPPORTED_ORDER', `meter:${meterId} is only supported first among a rule's apply-actions`);
  if (!first) fail('OFPBAC_UNSUPPORTED_ORDER', `meter:${meterId} must come before the other apply-actions: TVS meters a packet before acting on it`);
  if (ins.meter !== undefined) fail('OFPBAC_UNSUPPORTED_ORDER', `a rule may have one meter, this one has meter:${ins.meter} and meter:${meterId}`);
  ins.meter = meterId;
}

/** Reads a rule's instructions (OpenFlow 1.1+) filling `r`. */
export function pullInstructions(r: OfReader, version: number): Instructions {
  const ins: Instructions = { apply: [], clearActions: false };
  const seen = new Set<number>();
  while (r.remaining > 0) {
    if (r.remaining < 8) fail('OFPBIC_BAD_LEN', `${r.remaining} bytes left where an instruction needs at least 8`);
    const type = r.u16();
    const len = r.u16();
    if (len < 8 || len % 8 || len - 4 > r.remaining) fail('OFPBIC_BAD_LEN', `instruction type ${type} has length ${len}`);
    const body = r.sub(len - 4, 'instruction');
    if (seen.has(type)) fail('OFPBIC_DUP_INST', `instruction type ${type} appears twice`);
    seen.add(type);
    const fixed = (want: number) => {
      if (len !== want) fail('OFPBIC_BAD_LEN', `instruction type ${type} has length ${len}, not ${want}`);
    };
    switch (type) {
      case OFPIT.GOTO_TABLE: {
        fixed(8);
        const table = body.u8();
        if (table === 0xff) fail('OFPBIC_BAD_TABLE_ID', 'goto_table 255 is not a table');
        ins.gotoTable = table;
        break;
      }
      case OFPIT.WRITE_METADATA:
        fixed(24);
        body.skip(4);
        ins.writeMetadata = { value: body.u64(), mask: body.u64() };
        break;
      case OFPIT.APPLY_ACTIONS:
      case OFPIT.WRITE_ACTIONS: {
        body.skip(4);
        const actions = pullActions(body, version, type === OFPIT.APPLY_ACTIONS && version >= OFP15 ? ins : undefined);
        if (type === OFPIT.APPLY_ACTIONS) ins.apply = actions;
        else ins.write = actions;
        break;
      }
      case OFPIT.CLEAR_ACTIONS:
        fixed(8);
        ins.clearActions = true;
        break;
      case OFPIT.METER:
        if (version < OFP13) fail('OFPBIC_UNKNOWN_INST', 'the meter instruction is an OpenFlow 1.3+ instruction');
        fixed(8);
        if (ins.meter !== undefined) fail('OFPBIC_DUP_INST', `a rule may have one meter, this one has meter:${ins.meter} and a meter instruction`);
        ins.meter = body.u32();
        break;
      case OFPIT.EXPERIMENTER:
        fail('OFPBIC_BAD_EXPERIMENTER', 'experimenter instructions are not supported');
        break;
      default:
        fail('OFPBIC_UNKNOWN_INST', `unknown instruction type ${type}`);
    }
  }
  return ins;
}

