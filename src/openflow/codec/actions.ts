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
import { OFPP, type Action, type Instructions, type Subfield } from '../../ofproto/actions.js';
import { ETH_TYPE, FIELDS, IP_PROTO, fieldMax, type FieldId } from '../../ofproto/flow.js';
import type { Match } from '../../ofproto/match.js';
import { OFP10, OFP11, OFP12, OFP15 } from '../messages.js';
import { OfDecodeError, OfWriter, type OfReader } from './buffer.js';
import { WIRE_FIELDS, fromModel, headerFor, toModel, wireField, wireFieldOf, wireMax, type WireField, type WireHeader } from './fields.js';
import { portFromOf11, portToOf11, pullEntry, putEntry } from './match.js';

const NX_VENDOR_ID = 0x00002320;

/** OpenFlow 1.0 action types. */
const OFPAT10 = { OUTPUT: 0, SET_VLAN_VID: 1, SET_VLAN_PCP: 2, STRIP_VLAN: 3, SET_DL_SRC: 4, SET_DL_DST: 5, SET_NW_SRC: 6, SET_NW_DST: 7, SET_NW_TOS: 8, SET_TP_SRC: 9, SET_TP_DST: 10 } as const;
/** OpenFlow 1.1+ action types. */
const OFPAT11 = {
  OUTPUT: 0, SET_VLAN_VID: 1, SET_VLAN_PCP: 2, SET_DL_SRC: 3, SET_DL_DST: 4, SET_NW_SRC: 5, SET_NW_DST: 6, SET_NW_TOS: 7, SET_NW_ECN: 8,
  SET_TP_SRC: 9, SET_TP_DST: 10, PUSH_VLAN: 17, POP_VLAN: 18, GROUP: 22, SET_NW_TTL: 23, DEC_NW_TTL: 24, SET_FIELD: 25, COPY_FIELD: 28,
} as const;
const OFPAT_VENDOR = 0xffff;
/** Nicira action subtypes. */
const NXAST = { RESUBMIT: 1, SET_TUNNEL: 2, REG_MOVE: 6, REG_LOAD: 7, SET_TUNNEL64: 9, RESUBMIT_TABLE: 14, DEC_TTL: 18, CONTROLLER: 20, WRITE_METADATA: 22, REG_LOAD2: 33, CONTROLLER2: 37, GROUP: 40 } as const;
/** OpenFlow 1.1+ instruction types. */
const OFPIT = { GOTO_TABLE: 1, WRITE_METADATA: 2, WRITE_ACTIONS: 3, APPLY_ACTIONS: 4, CLEAR_ACTIONS: 5, METER: 6, EXPERIMENTER: 0xffff } as const;
const OFPR_ACTION = 1;

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
function wireFieldFor(f: FieldId, bits: bigint, ctx: ActionContext, preferParts: boolean): WireField {
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
      if (!w) throw new Error(`field ${f} has no OpenFlow encoding`);
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
  w.u16((ofs << 6) | (nBits - 1));
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
  const f = wireFieldFor(a.field, a.mask, ctx, true);
  const whole = f.partMask ?? fieldMax(f.field);
  const mask = fromModel(f, a.mask);
  const value = wireValue(f, a.value);
  const full = (a.mask & whole) === whole && mask === (f.name === 'in_port_oxm' ? wireMax(f) : fromModel(f, whole));
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

/** A set_field as NXAST_REG_LOADs of the field's NXM name (what OVS sends for a partial one before 1.5). */
function putRegLoadsOf(w: OfWriter, a: Extract<Action, { type: 'set_field' }>, ctx: ActionContext): void {
  const f = nxmField(a.field, a.mask, ctx);
  putRegLoads(w, f, fromModel(f, a.value), fromModel(f, a.mask));
}

/** The field NX actions name for ofproto field `f` (NXM names: vlan_tci, not vlan_vid). */
function nxmField(f: FieldId, bits: bigint, ctx: ActionContext): WireField {
  return wireFieldFor(f, bits, { ...ctx, version: 0 }, false);
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
  const f = wireFieldFor(s.field, bits, ctx, ctx.version >= OFP15);
  return { f, ofs: s.ofs - (f.shift ?? 0) };
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
      if (version >= OFP15) {
        const { f, ofs } = subfieldOnWire(a.dst, ctx);
        const mask = ((1n << BigInt(a.dst.nBits)) - 1n) << BigInt(ofs);
        return putSetField(w, f, version, a.value << BigInt(ofs), mask === wireMax(f) ? undefined : mask);
      }
      const { f, ofs } = subfieldOnWire(a.dst, { ...ctx, version: 0 });
      return putRegLoad(w, f, ofs, a.dst.nBits, a.value);
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
  }
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
  if (ctx.version === OFP10) {
    if (ins.clearActions || ins.write || ins.gotoTable !== undefined) {
      throw new Error('OpenFlow 1.0 has no clear_actions, write_actions or goto_table: use OpenFlow 1.1 or later');
    }
    putActions(w, ins.apply, ctx);
    if (ins.writeMetadata) putWriteMetadataNx(w, ins.writeMetadata);
    return;
  }
  const list = (type: number, actions: readonly Action[]) => {
    const at = w.length;
    w.u16(type).u16(0).zeros(4);
    putActions(w, actions, ctx);
    w.patchU16(at + 2, w.length - at);
  };
  if (ins.apply.length) list(OFPIT.APPLY_ACTIONS, ins.apply);
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
  return { field: f.field, ofs: at, nBits };
}

/** A set_field/reg_load2 entry as an ofproto set_field action. */
function setFieldFromEntry(r: OfReader, mayMask: boolean): Action {
  const e = pullEntry(r, 'OFPBAC_BAD_SET_LEN');
  const f = wireFieldOf(e.header);
  if (!f) fail('OFPBAC_BAD_SET_TYPE', `set_field of an unknown field (class 0x${e.header.cls.toString(16)} field ${e.header.field})`);
  if (e.value.length !== f.bytes) fail('OFPBAC_BAD_SET_LEN', `set_field of ${f.name} with ${e.value.length} bytes, not ${f.bytes}`);
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
  return { type: 'set_field', field: f.field, value: toModel(f, value & mask), mask: toModel(f, mask) };
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
      const dst = subfieldFrom(f, ofsNbits >> 6, nBits, 'load');
      if (nBits < 64 && value >> BigInt(nBits)) fail('OFPBAC_BAD_ARGUMENT', `load: value 0x${value.toString(16)} does not fit in ${nBits} bits`);
      return { type: 'load', dst, value };
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
      if (id !== 0 || reason !== OFPR_ACTION) fail('OFPBAC_BAD_ARGUMENT', 'controller actions with a controller id or a reason other than "action" are not supported yet');
      return { type: 'output', port: OFPP.CONTROLLER, maxLen };
    }
    case NXAST.CONTROLLER2:
      return pullController2(r, len);
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

/** NXAST_CONTROLLER2 properties. */
const NXAC2PT = { MAX_LEN: 0, CONTROLLER_ID: 1, REASON: 2, USERDATA: 3, PAUSE: 4, METER_ID: 5 } as const;

/**
 * NXAST_CONTROLLER2: what ofproto's model holds of it (max_len) becomes an output to
 * CONTROLLER; userdata, pause, a controller id, another reason or a meter it cannot hold yet,
 * and says so.
 */
function pullController2(r: OfReader, len: number): Action {
  r.skip(6);
  const props = r.sub(len - 16, 'controller2 properties');
  let maxLen = 0xffff;
  while (props.remaining > 0) {
    if (props.remaining < 4) fail('OFPBPC_BAD_LEN', 'controller2 property header cut short');
    const type = props.u16();
    const plen = props.u16();
    if (plen < 4 || plen - 4 > props.remaining) fail('OFPBPC_BAD_LEN', `controller2 property ${type} has length ${plen}`);
    const p = props.sub(plen - 4, 'property');
    props.skip(Math.min(props.remaining, (8 - (plen % 8)) % 8));
    if (type === NXAC2PT.MAX_LEN) {
      if (p.remaining !== 2) fail('OFPBPC_BAD_LEN', 'controller2 max_len must be 2 bytes');
      maxLen = p.u16();
    } else if (type === NXAC2PT.USERDATA || type === NXAC2PT.PAUSE || type === NXAC2PT.CONTROLLER_ID || type === NXAC2PT.REASON || type === NXAC2PT.METER_ID) {
      fail('OFPBAC_BAD_ARGUMENT', 'controller(userdata=..., pause, id=..., reason=..., meter_id=...) is not supported yet: use controller or controller(max_len=N)');
    } else {
      fail('OFPBPC_BAD_TYPE', `unknown controller2 property ${type}`);
    }
  }
  return { type: 'output', port: OFPP.CONTROLLER, maxLen };
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
    let a: Action | undefined;
    if (type === OFPAT_VENDOR) a = pullNxAction(body, len, version, ins);
    else if (version === OFP10) a = pullOf10Action(body, type, len);
    else a = pullOf11Action(body, type, len, version);
    if (a) out.push(a);
  }
  return out;
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
        const actions = pullActions(body, version);
        if (type === OFPIT.APPLY_ACTIONS) ins.apply = actions;
        else ins.write = actions;
        break;
      }
      case OFPIT.CLEAR_ACTIONS:
        fixed(8);
        ins.clearActions = true;
        break;
      case OFPIT.METER:
        fail('OFPBIC_UNSUP_INST', 'the meter instruction is not supported yet');
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

