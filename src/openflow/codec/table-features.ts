/**
 * OFPMP_TABLE_FEATURES and OFPMP_TABLE_DESC entries (lib/ofp-table.c), and the names they are
 * read in: the model carries instructions, actions and fields by OVS's names, and this file maps
 * them onto each version's numbers and headers.
 *
 * What TVS itself supports is not listed here: `tvsTableCapabilities` derives it from the tables
 * the codec parses with (actions.ts's action and instruction types, fields.ts's WIRE_FIELDS), so a
 * field or action added there shows up in the switch's features without another edit.
 */
import { OFP10, OFP12, OFP13, OFP14, type TableActionFeatures, type TableDesc, type TableFeatures, type TableInstructionFeatures } from '../messages.js';
import { parsedActionTypes, parsedInstructionTypes } from './actions.js';
import { OfDecodeError, OfReader, OfWriter } from './buffer.js';
import { OXM_CLASS, WIRE_FIELDS, headerFor, wireFieldOf, writable, type WireField } from './fields.js';

/**
 * OVS's actions (its OFPACT_* order, which is the order it prints them in) and their OpenFlow
 * action types in 1.0, 1.1 and 1.2+ (-1: the version has no such action), as
 * lib/ofp-actions.c's get_ofpact_map has them.
 */
const ACTION_MAP: ReadonlyArray<readonly [name: string, of10: number, of11: number, of12: number]> = [
  ['output', 0, 0, 0],
  ['group', -1, 22, 22],
  ['enqueue', 11, -1, -1],
  ['set_field', -1, -1, 25],
  ['set_vlan_vid', 1, 1, -1],
  ['set_vlan_pcp', 2, 2, -1],
  ['strip_vlan', 3, 18, 18],
  ['push_vlan', -1, 17, 17],
  ['mod_dl_src', 4, 3, -1],
  ['mod_dl_dst', 5, 4, -1],
  ['mod_nw_src', 6, 5, -1],
  ['mod_nw_dst', 7, 6, -1],
  ['mod_nw_tos', 8, 7, -1],
  ['mod_nw_ecn', -1, 8, -1],
  ['mod_nw_ttl', -1, 23, 23],
  ['mod_tp_src', 9, 9, -1],
  ['mod_tp_dst', 10, 10, -1],
  ['dec_ttl', -1, 24, 24],
  ['set_mpls_label', -1, 13, -1],
  ['set_mpls_tc', -1, 14, -1],
  ['set_mpls_ttl', -1, 15, 15],
  ['dec_mpls_ttl', -1, 16, 16],
  ['push_mpls', -1, 19, 19],
  ['pop_mpls', -1, 20, 20],
  ['set_queue', -1, 21, 21],
];

function actionType(entry: (typeof ACTION_MAP)[number], version: number): number {
  return version >= OFP12 ? entry[3] : version === OFP10 ? entry[1] : entry[2];
}

/** OVS's names of the actions set in OpenFlow action-type bitmap `bits`, in the order OVS prints them. */
export function actionNames(bits: number, version: number): string[] {
  return ACTION_MAP.filter((e) => actionType(e, version) >= 0 && bits & (1 << actionType(e, version))).map(([name]) => name);
}

/** The OpenFlow action-type bitmap of `names` in `version` (names the version has no number for are left out). */
export function actionBitmap(names: readonly string[], version: number): number {
  return ACTION_MAP.reduce((bits, e) => (names.includes(e[0]) && actionType(e, version) >= 0 ? (bits | (1 << actionType(e, version))) >>> 0 : bits), 0);
}

/** OVS's instructions in its printing order, and their OFPIT_* numbers (the meter instruction is 1.3's and 1.4's only). */
const INSTRUCTION_MAP: ReadonlyArray<readonly [name: string, type: number]> = [
  ['meter', 6],
  ['apply_actions', 4],
  ['clear_actions', 5],
  ['write_actions', 3],
  ['write_metadata', 2],
  ['goto_table', 1],
];

function instructionType(name: string, version: number): number | undefined {
  const type = INSTRUCTION_MAP.find(([n]) => n === name)?.[1];
  return type === 6 && version !== OFP13 && version !== OFP14 ? undefined : type;
}

function instructionName(type: number, version: number): string | undefined {
  const name = INSTRUCTION_MAP.find(([, t]) => t === type)?.[0];
  return name !== undefined && instructionType(name, version) !== undefined ? name : undefined;
}

/** OVS names two fields otherwise than fields.ts does: NXM_OF_IP_PROTO is nw_proto, IP_ECN nw_ecn. */
const OVS_NAME: Readonly<Record<string, string>> = { ip_proto: 'nw_proto', ip_ecn: 'nw_ecn' };

function ovsName(f: WireField): string {
  return OVS_NAME[f.name] ?? f.name;
}

const FIELD_BY_OVS_NAME = new Map(WIRE_FIELDS.map((f) => [ovsName(f), f]));

/**
 * The OpenFlow action-type bitmap of what TVS executes in `version`: the types actions.ts parses
 * that OpenFlow defines in that version (OpenFlow 1.5's copy_field and meter have no bit in OVS's maps).
 */
export function supportedActionBitmap(version: number): number {
  const parsed = parsedActionTypes(version).reduce((bits, t) => (t < 32 ? (bits | (1 << t)) >>> 0 : bits), 0);
  return actionBitmap(actionNames(parsed, version), version);
}

/** OVS's names of what TVS executes, by version: one list every table shares. */
const SUPPORTED_ACTIONS = new Map<number, string[]>();
function supportedActionNames(version: number): string[] {
  let names = SUPPORTED_ACTIONS.get(version);
  if (!names) SUPPORTED_ACTIONS.set(version, (names = actionNames(supportedActionBitmap(version), version)));
  return names;
}

/** The field lists every table shares, made once: a reply repeats them for each of 254 tables. */
const ALL_FIELDS = WIRE_FIELDS.map(ovsName);
const MASKABLE_FIELDS = WIRE_FIELDS.filter((f) => f.maskable).map(ovsName);
const WRITABLE_FIELDS = WIRE_FIELDS.filter(writable).map(ovsName);

/** What TVS's tables accept, for one table of `nTables` in `version`: as OVS's query_tables fills it. */
export function tvsTableCapabilities(tableId: number, nTables: number, version: number): Pick<TableFeatures, 'nonmiss' | 'miss' | 'match' | 'maskable' | 'wildcards'> {
  const actions = supportedActionNames(version);
  const fields = ALL_FIELDS;
  const setFields = WRITABLE_FIELDS;
  const last = tableId === nTables - 1;
  const instructions = parsedInstructionTypes(version)
    .map((t) => instructionName(t, version))
    .filter((n): n is string => n !== undefined && !(last && n === 'goto_table'));
  const nextTables = Array.from({ length: nTables - tableId - 1 }, (_, i) => tableId + 1 + i);
  const side = (): TableActionFeatures => ({ actions, setFields });
  const features: TableInstructionFeatures = { instructions, nextTables, write: side(), apply: side() };
  return { nonmiss: features, miss: features, match: fields, maskable: MASKABLE_FIELDS, wildcards: fields };
}

/** OFPTFPT13_* property types; the _MISS variant of each is one more. */
const PROP = { INSTRUCTIONS: 0, NEXT_TABLES: 2, WRITE_ACTIONS: 4, APPLY_ACTIONS: 6, MATCH: 8, WILDCARDS: 10, WRITE_SETFIELD: 12, APPLY_SETFIELD: 14 } as const;
/** OFPTC14_* table capabilities. */
const OFPTC14_EVICTION = 4;
const OFPTC14_VACANCY_EVENTS = 8;

function property(w: OfWriter, type: number, fill: (w: OfWriter) => void): void {
  const start = w.length;
  w.u16(type).u16(0);
  fill(w);
  w.patchU16(start + 2, w.length - start);
  w.pad(8);
}

/**
 * The encoded headers of a field list, by list and version: a reply repeats the same shared lists
 * for each of 254 tables, and writes them once.
 */
const ENCODED_FIELDS = new WeakMap<readonly string[], Map<string, Buffer>>();

/** The fields as headers, in OVS's field order, masked ones with OXM's hasmask bit and doubled length. */
function putFieldHeaders(w: OfWriter, names: readonly string[], version: number, masked: readonly string[] = []): void {
  let byVersion = ENCODED_FIELDS.get(names);
  if (!byVersion) ENCODED_FIELDS.set(names, (byVersion = new Map<string, Buffer>()));
  const key = `${version}:${masked.join(',')}`;
  let bytes = byVersion.get(key);
  if (!bytes) {
    const out = new OfWriter();
    const maskedSet = new Set(masked);
    for (const name of sortFieldNames(names)) {
      const f = FIELD_BY_OVS_NAME.get(name);
      if (!f) continue;
      const h = headerFor(f, version);
      const exp = h.cls === OXM_CLASS.EXPERIMENTER ? 4 : 0;
      const hasMask = maskedSet.has(name);
      out.u32(((h.cls << 16) | (h.field << 9) | (hasMask ? 0x100 : 0) | (exp + f.bytes * (hasMask ? 2 : 1))) >>> 0);
      if (exp) out.u32(h.experimenter ?? 0);
    }
    byVersion.set(key, (bytes = out.finish()));
  }
  w.bytes(bytes);
}

/** One 4-byte id (type and length) per bit of `bits`, lowest first: ofpprop_put_bitmap. */
function putIds(w: OfWriter, bits: number): void {
  for (let t = 0; t < 32; t++) if (bits & (1 << t)) w.u16(t).u16(4);
}

function putInstructionFeatures(w: OfWriter, f: TableInstructionFeatures, miss: number, version: number): void {
  const instructionBits = f.instructions.reduce((bits, n) => {
    const t = instructionType(n, version);
    return t === undefined ? bits : bits | (1 << t);
  }, 0);
  property(w, PROP.INSTRUCTIONS + miss, (p) => putIds(p, instructionBits));
  property(w, PROP.NEXT_TABLES + miss, (p) => {
    for (const id of f.nextTables) p.u8(id);
  });
  property(w, PROP.WRITE_ACTIONS + miss, (p) => putIds(p, actionBitmap(f.write.actions, version)));
  property(w, PROP.WRITE_SETFIELD + miss, (p) => putFieldHeaders(p, f.write.setFields, version));
  property(w, PROP.APPLY_ACTIONS + miss, (p) => putIds(p, actionBitmap(f.apply.actions, version)));
  property(w, PROP.APPLY_SETFIELD + miss, (p) => putFieldHeaders(p, f.apply.setFields, version));
}

/** One table's entry, properties in the order OVS writes them (ofputil_append_table_features). */
export function encodeTableFeatures(t: TableFeatures, version: number): Buffer {
  const w = new OfWriter();
  let capabilities = 0;
  if (version >= OFP14 && t.supportsEviction) capabilities |= OFPTC14_EVICTION;
  if (version >= OFP14 && t.supportsVacancyEvents) capabilities |= OFPTC14_VACANCY_EVENTS;
  w.u16(0).u8(t.tableId).zeros(5).str(t.name, 32).u64(t.metadataMatch).u64(t.metadataWrite).u32(capabilities).u32(t.maxEntries);
  putInstructionFeatures(w, t.nonmiss, 0, version);
  putInstructionFeatures(w, t.miss, 1, version);
  property(w, PROP.MATCH, (p) => putFieldHeaders(p, t.match, version, t.maskable));
  property(w, PROP.WILDCARDS, (p) => putFieldHeaders(p, t.wildcards, version));
  w.patchU16(0, w.length);
  return w.finish();
}

/** The type of each 4-byte-or-longer id in a property's payload (instruction and action ids). */
function readIds(r: OfReader, what: string): number[] {
  const ids: number[] = [];
  while (r.remaining > 0) {
    const type = r.u16(what);
    const len = r.u16(what);
    if (len < 4) throw new OfDecodeError('OFPBPC_BAD_LEN', `${what} id of length ${len} is shorter than its header`);
    r.skip(len - 4, what);
    ids.push(type);
  }
  return ids;
}

/** Field lists already read, by their bytes: a reply repeats the same lists for every table. */
const READ_FIELDS = new Map<string, { names: string[]; masked: string[] }>();

/** The fields a property names, by OVS's name; fields TVS does not know are skipped, as a controller would. */
function readFields(r: OfReader): { names: string[]; masked: string[] } {
  const key = r.buf.subarray(r.offset, r.offset + r.remaining).toString('latin1');
  const known = READ_FIELDS.get(key);
  if (known) return { names: [...known.names], masked: [...known.masked] };
  const fields = readFieldHeaders(r);
  // Bounded: a hostile peer could send endless different lists.
  if (READ_FIELDS.size < 64) READ_FIELDS.set(key, fields);
  return fields;
}

function readFieldHeaders(r: OfReader): { names: string[]; masked: string[] } {
  const names: string[] = [];
  const masked: string[] = [];
  while (r.remaining > 0) {
    const h = r.u32('field header');
    const cls = h >>> 16;
    const experimenter = cls === OXM_CLASS.EXPERIMENTER ? r.u32('experimenter id') : undefined;
    const f = wireFieldOf({ cls, field: (h >>> 9) & 0x7f, ...(experimenter === undefined ? {} : { experimenter }) });
    if (!f) continue;
    names.push(ovsName(f));
    if (h & 0x100) masked.push(ovsName(f));
  }
  return { names, masked };
}

function emptyInstructionFeatures(): TableInstructionFeatures {
  return { instructions: [], nextTables: [], write: { actions: [], setFields: [] }, apply: { actions: [], setFields: [] } };
}

/** One table's entry from a reply (ofputil_decode_table_features in its loose, controller's mode). */
export function decodeTableFeatures(r: OfReader, version: number): TableFeatures {
  if (r.remaining < 64) throw new OfDecodeError('OFPBPC_BAD_LEN', `table features of ${r.remaining} bytes is shorter than its 64-byte structure`);
  const len = r.buf.readUInt16BE(r.offset);
  if (len < 64 || len % 8 || len > r.remaining) throw new OfDecodeError('OFPBPC_BAD_LEN', `table features says it has ${len} bytes, ${r.remaining} are left`);
  const t = r.sub(len, 'table features');
  t.skip(2);
  const tableId = t.u8('table_id');
  t.skip(5);
  const name = t.str(32, 'table name');
  const metadataMatch = t.u64('metadata_match');
  const metadataWrite = t.u64('metadata_write');
  const capabilities = t.u32('capabilities');
  const maxEntries = t.u32('max_entries');
  const nonmiss = emptyInstructionFeatures();
  const miss = emptyInstructionFeatures();
  const seen = new Set<number>();
  let match: string[] = [];
  let maskable: string[] = [];
  let wildcards: string[] = [];
  while (t.remaining > 0) {
    const type = t.u16('property type');
    const plen = t.u16('property length');
    if (plen < 4) throw new OfDecodeError('OFPBPC_BAD_LEN', `table features property of length ${plen}`);
    const p = t.sub(plen - 4, 'table features property');
    t.skip(Math.min((8 - (plen % 8)) % 8, t.remaining));
    seen.add(type);
    const side = type & 1 ? miss : nonmiss;
    switch (type & ~1) {
      case PROP.INSTRUCTIONS:
        side.instructions = readIds(p, 'instruction').map((id) => instructionName(id, version)).filter((n): n is string => n !== undefined);
        break;
      case PROP.NEXT_TABLES:
        side.nextTables = [...p.bytes(p.remaining)];
        break;
      case PROP.WRITE_ACTIONS:
      case PROP.APPLY_ACTIONS: {
        const bits = readIds(p, 'action').reduce((b, id) => (id < 32 ? (b | (1 << id)) >>> 0 : b), 0);
        side[(type & ~1) === PROP.WRITE_ACTIONS ? 'write' : 'apply'].actions = actionNames(bits, version);
        break;
      }
      case PROP.WRITE_SETFIELD:
      case PROP.APPLY_SETFIELD:
        side[(type & ~1) === PROP.WRITE_SETFIELD ? 'write' : 'apply'].setFields = readFields(p).names;
        break;
      case PROP.MATCH:
        if (type & 1) break;
        ({ names: match, masked: maskable } = readFields(p));
        break;
      case PROP.WILDCARDS:
        if (!(type & 1)) wildcards = readFields(p).names;
        break;
      default:
        // Experimenter and unknown properties: a controller ignores what it does not understand.
        break;
    }
  }
  // A property left out of the table-miss list means "as for the other rules".
  if (!seen.has(PROP.INSTRUCTIONS + 1)) miss.instructions = nonmiss.instructions;
  if (!seen.has(PROP.NEXT_TABLES + 1)) miss.nextTables = nonmiss.nextTables;
  if (!seen.has(PROP.WRITE_ACTIONS + 1)) miss.write.actions = nonmiss.write.actions;
  if (!seen.has(PROP.APPLY_ACTIONS + 1)) miss.apply.actions = nonmiss.apply.actions;
  if (!seen.has(PROP.WRITE_SETFIELD + 1)) miss.write.setFields = nonmiss.write.setFields;
  if (!seen.has(PROP.APPLY_SETFIELD + 1)) miss.apply.setFields = nonmiss.apply.setFields;
  // As OVS: maskable fields are matchable and wildcardable; only matchable fields are wildcardable.
  const matchSet = new Set([...match, ...maskable]);
  const wildcardSet = new Set([...wildcards, ...maskable].filter((f) => matchSet.has(f)));
  const out: TableFeatures = { tableId, name, metadataMatch, metadataWrite, maxEntries, nonmiss, miss, match: [...matchSet], maskable, wildcards: [...wildcardSet] };
  if (version >= OFP14) {
    out.supportsEviction = (capabilities & OFPTC14_EVICTION) !== 0;
    out.supportsVacancyEvents = (capabilities & OFPTC14_VACANCY_EVENTS) !== 0;
  }
  return out;
}

/** OFPTMPT14_* table_desc properties. */
const OFPTMPT14_EVICTION = 2;
const OFPTMPT14_VACANCY = 3;

/** One OFPMP_TABLE_DESC entry, as OVS appends it (ofputil_append_table_desc_reply). */
export function encodeTableDesc(t: TableDesc): Buffer {
  const w = new OfWriter();
  const config = (t.eviction ? OFPTC14_EVICTION : 0) | (t.vacancy ? OFPTC14_VACANCY_EVENTS : 0);
  w.u16(0).u8(t.tableId).zeros(1).u32(config);
  property(w, OFPTMPT14_EVICTION, (p) => p.u32(t.evictionFlags));
  if (t.vacancy) property(w, OFPTMPT14_VACANCY, (p) => p.u8(t.vacancyDown).u8(t.vacancyUp).u8(t.vacancyNow).zeros(1));
  w.patchU16(0, w.length);
  return w.finish();
}

/** OVS's eviction flags when a reply carries none (UINT32_MAX: "(default)"). */
const EVICTION_FLAGS_DEFAULT = 0xffffffff;

export function decodeTableDesc(r: OfReader): TableDesc {
  if (r.remaining < 8) throw new OfDecodeError('OFPBRC_BAD_LEN', `table desc of ${r.remaining} bytes is shorter than its 8-byte structure`);
  const len = r.buf.readUInt16BE(r.offset);
  if (len < 8 || len > r.remaining) throw new OfDecodeError('OFPBRC_BAD_LEN', `table desc says it has ${len} bytes, ${r.remaining} are left`);
  const t = r.sub(len, 'table desc');
  t.skip(2);
  const tableId = t.u8('table_id');
  t.skip(1);
  const config = t.u32('config');
  const desc: TableDesc = { tableId, eviction: (config & OFPTC14_EVICTION) !== 0, evictionFlags: EVICTION_FLAGS_DEFAULT, vacancy: (config & OFPTC14_VACANCY_EVENTS) !== 0, vacancyDown: 0, vacancyUp: 0, vacancyNow: 0 };
  while (t.remaining > 0) {
    const type = t.u16('property type');
    const plen = t.u16('property length');
    if (plen < 4) throw new OfDecodeError('OFPBPC_BAD_LEN', `table desc property of length ${plen}`);
    const p = t.sub(plen - 4, 'table desc property');
    t.skip(Math.min((8 - (plen % 8)) % 8, t.remaining));
    if (type === OFPTMPT14_EVICTION) desc.evictionFlags = p.u32('eviction flags');
    if (type === OFPTMPT14_VACANCY) {
      desc.vacancyDown = p.u8('vacancy_down');
      desc.vacancyUp = p.u8('vacancy_up');
      desc.vacancyNow = p.u8('vacancy');
    }
  }
  return desc;
}

/**
 * OVS's fields in the order of its field ids (include/openvswitch/meta-flow.h), which is the
 * order ovs-ofctl lists them in; only the order is taken from here, never which fields exist.
 */
const OVS_FIELD_ORDER: readonly string[] = [
  'dp_hash', 'recirc_id', 'packet_type', 'conj_id', 'tun_id', 'tun_src', 'tun_dst', 'tun_ipv6_src', 'tun_ipv6_dst', 'tun_flags', 'tun_ttl', 'tun_tos',
  'tun_gbp_id', 'tun_gbp_flags', 'tun_erspan_idx', 'tun_erspan_ver', 'tun_erspan_dir', 'tun_erspan_hwid', 'tun_gtpu_flags', 'tun_gtpu_msgtype',
  ...Array.from({ length: 64 }, (_, i) => `tun_metadata${i}`),
  'metadata', 'in_port', 'in_port_oxm', 'actset_output', 'skb_priority', 'pkt_mark', 'ct_state', 'ct_zone', 'ct_mark', 'ct_label', 'ct_nw_proto',
  'ct_nw_src', 'ct_nw_dst', 'ct_ipv6_src', 'ct_ipv6_dst', 'ct_tp_src', 'ct_tp_dst',
  ...Array.from({ length: 16 }, (_, i) => `reg${i}`),
  ...Array.from({ length: 8 }, (_, i) => `xreg${i}`),
  ...Array.from({ length: 4 }, (_, i) => `xxreg${i}`),
  'eth_src', 'eth_dst', 'eth_type', 'vlan_tci', 'dl_vlan', 'vlan_vid', 'dl_vlan_pcp', 'vlan_pcp', 'mpls_label', 'mpls_tc', 'mpls_bos', 'mpls_ttl',
  'ip_src', 'ip_dst', 'ipv6_src', 'ipv6_dst', 'ipv6_label', 'nw_proto', 'nw_tos', 'ip_dscp', 'nw_ecn', 'nw_ttl', 'ip_frag', 'arp_op', 'arp_spa',
  'arp_tpa', 'arp_sha', 'arp_tha', 'tcp_src', 'tcp_dst', 'tcp_flags', 'udp_src', 'udp_dst', 'sctp_src', 'sctp_dst', 'icmp_type', 'icmp_code',
  'icmpv6_type', 'icmpv6_code', 'nd_target', 'nd_sll', 'nd_tll', 'nd_reserved', 'nd_options_type', 'nsh_flags', 'nsh_mdtype', 'nsh_np', 'nsh_spi',
  'nsh_si', 'nsh_c1', 'nsh_c2', 'nsh_c3', 'nsh_c4', 'nsh_ttl',
];
const FIELD_RANK = new Map(OVS_FIELD_ORDER.map((n, i) => [n, i]));

/** `names` without repeats, in OVS's field order (names OVS does not have last, alphabetically). */
export function sortFieldNames(names: readonly string[]): string[] {
  const rank = (n: string) => FIELD_RANK.get(n) ?? OVS_FIELD_ORDER.length;
  return [...new Set(names)].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

/** The instruction names in OVS's printing order. */
export function sortInstructionNames(names: readonly string[]): string[] {
  return INSTRUCTION_MAP.map(([n]) => n).filter((n) => names.includes(n));
}
