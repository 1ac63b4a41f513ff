/**
 * The ovs-ofctl flow syntax: parse `add-flow`/`mod-flows`/`del-flows` strings and `add-group`
 * strings into the ofproto model. ofproto prints the same syntax (src/ofproto/print.ts), and
 * what it prints parses back here.
 *
 * Every parse error is a `FlowSyntaxError` naming the offending token and saying how to fix it.
 * The syntax follows OVS's lib/ofp-flow.c and lib/ofp-actions.c; the code is ours.
 */
import { AddressError, bytesToBigint, parseIpv4, parseIpv6, parseMac, prefixMask } from '../lib/addr.js';
import { hex, maxOfBits, parseArgUint, parseFieldUint, parseUintText } from '../lib/uint.js';
import { CONTROLLER_REASONS, OFPG, OFPP, type Action, type Instructions, type Subfield } from '../ofproto/actions.js';
import { ADDRESS_FIELDS, ETH_TYPE, FIELDS, IP_PROTO, REG_FIELDS, TUN_FLAG, VLAN_CFI, WIDE_REG_FIELDS, fieldMax, type FieldId } from '../ofproto/flow.js';
import { OFPTT_ALL, flowMod, type FlowMod, type FlowModCommand, type FlowModFlags } from '../ofproto/flow-table.js';
import { bucket as makeBucket, type Bucket, type GroupMod, type GroupType } from '../ofproto/groups.js';
import { Match, findPrereqProblem } from '../ofproto/match.js';
import { PORT_NAMES, TCP_FLAG_NAMES, fieldByName, recordedName, type FieldName } from '../ofproto/names.js';
import { presentBit, presentIndexes, tooManyOptions, TUN_METADATA_EXACT, TUN_METADATA_FIELDS } from '../ofproto/tun-metadata.js';
import { own } from '../lib/own.js';

/** A syntax error in a flow, action or group string. */
class FlowSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FlowSyntaxError';
  }
}

function fail(msg: string): never {
  throw new FlowSyntaxError(msg);
}

// ---------------------------------------------------------------------------------------------
// Tokens

interface KeyValue {
  key: string;
  value: string;
}

/**
 * Splits `a=1,b:2 c(x,y),d` into key/value pairs the way ovs-ofctl does: a key ends at one of
 * `=:(`, a separator or the end; a value runs to the next top-level `,` or blank; `(...)` values
 * nest.
 */
function splitKeyValues(s: string): KeyValue[] {
  const out: KeyValue[] = [];
  let i = 0;
  const n = s.length;
  const isSep = (c: string) => c === ',' || c === ' ' || c === '\t' || c === '\r' || c === '\n';
  while (i < n) {
    while (i < n && isSep(s[i]!)) i++;
    if (i >= n) break;
    let k = i;
    while (k < n && !'=:(,'.includes(s[k]!) && !isSep(s[k]!)) k++;
    const key = s.slice(i, k);
    if (k >= n || isSep(s[k]!)) {
      out.push({ key, value: '' });
      i = k;
      continue;
    }
    if (s[k] === '(') {
      let depth = 1;
      let j = k + 1;
      while (j < n && depth > 0) {
        if (s[j] === '(') depth++;
        else if (s[j] === ')') depth--;
        j++;
      }
      if (depth > 0) fail(`"${s.slice(i)}": unbalanced parentheses: add the missing ")"`);
      out.push({ key, value: s.slice(k + 1, j - 1) });
      i = j;
      continue;
    }
    // '=' or ':'
    let j = k + 1;
    let depth = 0;
    while (j < n && (depth > 0 || !isSep(s[j]!))) {
      if (s[j] === '(') depth++;
      else if (s[j] === ')') depth--;
      j++;
    }
    out.push({ key, value: s.slice(k + 1, j) });
    i = j;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Values

/** A number an option or an action takes: what OVS calls it, its width, and a lower top if any. */
export interface NumberSyntax {
  label: string;
  bits: number;
  max?: bigint;
}

/** The number `text`; a refusal starts with `written`, the keyword and argument as written. */
function numberArg(syn: NumberSyntax, text: string, written?: string): bigint {
  return parseArgUint(text, syn.label, syn.bits, fail, syn.max, written);
}

/** The mask of a value/mask option; "-1" stands for all ones, as in cookie=0x5/-1. */
function maskArg(syn: NumberSyntax, text: string, written?: string): bigint {
  return text === '-1' ? maxOfBits(syn.bits) : numberArg(syn, text, written);
}

/** An address in a field or action argument; a malformed one is refused naming `field`. */
function address<T>(parse: () => T, field: string): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof AddressError) fail(e.inField(field));
    throw e;
  }
}

function parseMacValue(tok: string, field: string): bigint {
  return address(() => bytesToBigint(parseMac(tok)), field);
}

function parseIpv4Value(tok: string, field: string): number {
  return address(() => parseIpv4(tok).readUInt32BE(0), field);
}

function parseIpv6Value(tok: string, field: string): bigint {
  return address(() => bytesToBigint(parseIpv6(tok)), field);
}

/** A port by number (OpenFlow 1.0 numbering) or reserved name, for `field` (in_port, output, ...). */
function parsePort(tok: string, field: string): number {
  const named = PORT_NAMES.find(([n]) => n === tok.toUpperCase());
  if (named) return named[1];
  const v = parseUintText(tok);
  const reservedUnnamed = v !== undefined && v >= OFPP.MAX && !PORT_NAMES.some(([, p]) => BigInt(p) === v);
  if (v === undefined || v > 0xffffn || reservedUnnamed) {
    fail(`${tok}: invalid or unknown port for ${field} (a port number up to ${OFPP.MAX - 1}, or IN_PORT, TABLE, NORMAL, FLOOD, ALL, CONTROLLER or LOCAL)`);
  }
  return Number(v);
}

// ---------------------------------------------------------------------------------------------
// Match fields

/**
 * How a match field is written: a port, an address, or a number `bits` wide: the whole field, or
 * the part of it the name stands for (dl_vlan is the 12-bit VLAN id inside vlan_tci, ip_dscp the
 * top six bits of nw_tos). `masked` fields also take VALUE/MASK.
 */
export interface MatchFieldSyntax {
  field: FieldId;
  kind: 'port' | 'mac' | 'ipv4' | 'ipv6' | 'uint' | 'tcp_flags' | 'tun_flags' | 'tun_metadata' | 'vlan_vid' | 'vlan_pcp' | 'tos' | 'dscp' | 'ecn';
  bits: number;
  masked?: boolean;
}

const portField = (field: FieldId): MatchFieldSyntax => ({ field, kind: 'port', bits: 16 });
const macField = (field: FieldId): MatchFieldSyntax => ({ field, kind: 'mac', bits: 48, masked: true });
const ipv4Field = (field: FieldId): MatchFieldSyntax => ({ field, kind: 'ipv4', bits: 32, masked: true });
const ipv6Field = (field: FieldId): MatchFieldSyntax => ({ field, kind: 'ipv6', bits: 128, masked: true });
const uintField = (field: FieldId, bits: number, masked = false): MatchFieldSyntax => ({ field, kind: 'uint', bits, masked });
const partField = (field: FieldId, kind: MatchFieldSyntax['kind'], bits: number): MatchFieldSyntax => ({ field, kind, bits });

/** The registers a match can name: reg0..15, and the 64- and 128-bit xreg0..7 and xxreg0..3 over them. */
const MATCH_REGS: readonly FieldId[] = [...REG_FIELDS, ...WIDE_REG_FIELDS];

/** Every match field by every name ovs-ofctl accepts for it: the table of their widths. */
export const MATCH_FIELDS: Readonly<Record<string, MatchFieldSyntax>> = {
  in_port: portField('in_port'),
  dl_src: macField('dl_src'),
  dl_dst: macField('dl_dst'),
  eth_src: macField('dl_src'),
  eth_dst: macField('dl_dst'),
  dl_type: uintField('dl_type', 16),
  eth_type: uintField('dl_type', 16),
  dl_vlan: partField('vlan_tci', 'vlan_vid', 12),
  vlan_vid: partField('vlan_tci', 'vlan_vid', 12),
  dl_vlan_pcp: partField('vlan_tci', 'vlan_pcp', 3),
  vlan_pcp: partField('vlan_tci', 'vlan_pcp', 3),
  vlan_tci: uintField('vlan_tci', 16, true),
  nw_src: ipv4Field('nw_src'),
  nw_dst: ipv4Field('nw_dst'),
  ip_src: ipv4Field('nw_src'),
  ip_dst: ipv4Field('nw_dst'),
  arp_spa: ipv4Field('nw_src'),
  arp_tpa: ipv4Field('nw_dst'),
  ipv6_src: ipv6Field('ipv6_src'),
  ipv6_dst: ipv6Field('ipv6_dst'),
  nw_proto: uintField('nw_proto', 8),
  ip_proto: uintField('nw_proto', 8),
  arp_op: uintField('nw_proto', 8),
  nw_tos: partField('nw_tos', 'tos', 8),
  ip_dscp: partField('nw_tos', 'dscp', 6),
  nw_ecn: partField('nw_tos', 'ecn', 2),
  ip_ecn: partField('nw_tos', 'ecn', 2),
  nw_ttl: uintField('nw_ttl', 8),
  tp_src: uintField('tp_src', 16, true),
  tp_dst: uintField('tp_dst', 16, true),
  tcp_src: uintField('tp_src', 16, true),
  tcp_dst: uintField('tp_dst', 16, true),
  udp_src: uintField('tp_src', 16, true),
  udp_dst: uintField('tp_dst', 16, true),
  sctp_src: uintField('tp_src', 16, true),
  sctp_dst: uintField('tp_dst', 16, true),
  icmp_type: uintField('tp_src', 8),
  icmp_code: uintField('tp_dst', 8),
  icmpv6_type: uintField('tp_src', 8),
  icmpv6_code: uintField('tp_dst', 8),
  tcp_flags: { field: 'tcp_flags', kind: 'tcp_flags', bits: 12, masked: true },
  arp_sha: macField('arp_sha'),
  arp_tha: macField('arp_tha'),
  nd_target: ipv6Field('nd_target'),
  nd_sll: macField('arp_sha'),
  nd_tll: macField('arp_tha'),
  nd_reserved: uintField('nd_reserved', 32),
  nd_options_type: uintField('nd_options_type', 8),
  tun_id: uintField('tun_id', 64, true),
  tunnel_id: uintField('tun_id', 64, true),
  tun_src: ipv4Field('tun_src'),
  tun_dst: ipv4Field('tun_dst'),
  tun_ipv6_src: ipv6Field('tun_ipv6_src'),
  tun_ipv6_dst: ipv6Field('tun_ipv6_dst'),
  // One bit, oam, as OpenFlow sees it (OVS's FLOW_TNL_PUB_F_MASK).
  tun_flags: { field: 'tun_flags', kind: 'tun_flags', bits: 1, masked: true },
  ...Object.fromEntries(Array.from({ length: TUN_METADATA_FIELDS }, (_, i) => [`tun_metadata${i}`, { field: 'tun_metadata_value', kind: 'tun_metadata', bits: 64, masked: true } satisfies MatchFieldSyntax])),
  metadata: uintField('metadata', 64, true),
  ...Object.fromEntries(MATCH_REGS.map((f) => [f, uintField(f, FIELDS[f].bits, true)])),
};

/** dl_type[,nw_proto] shorthands. */
const PROTOCOLS: Readonly<Record<string, readonly [number, number?]>> = {
  ip: [ETH_TYPE.IP],
  ipv4: [ETH_TYPE.IP],
  ipv6: [ETH_TYPE.IPV6],
  arp: [ETH_TYPE.ARP],
  rarp: [ETH_TYPE.RARP],
  icmp: [ETH_TYPE.IP, IP_PROTO.ICMP],
  igmp: [ETH_TYPE.IP, IP_PROTO.IGMP],
  tcp: [ETH_TYPE.IP, IP_PROTO.TCP],
  udp: [ETH_TYPE.IP, IP_PROTO.UDP],
  sctp: [ETH_TYPE.IP, IP_PROTO.SCTP],
  icmp6: [ETH_TYPE.IPV6, IP_PROTO.ICMPV6],
  tcp6: [ETH_TYPE.IPV6, IP_PROTO.TCP],
  udp6: [ETH_TYPE.IPV6, IP_PROTO.UDP],
  sctp6: [ETH_TYPE.IPV6, IP_PROTO.SCTP],
};

function splitMask(tok: string): [string, string | undefined] {
  const i = tok.indexOf('/');
  return i < 0 ? [tok, undefined] : [tok.slice(0, i), tok.slice(i + 1)];
}

/** tcp_flags as +syn-ack, syn|ack, or a number with an optional mask. */
function parseTcpFlags(name: string, syn: MatchFieldSyntax, tok: string): [bigint, bigint] {
  if (/^[+-]/.test(tok)) {
    let v = 0n;
    let m = 0n;
    const re = /([+-])([a-z]+)/gy;
    let consumed = 0;
    for (let x = re.exec(tok); x; x = re.exec(tok)) {
      const bit = TCP_FLAG_NAMES.indexOf(x[2]!);
      if (bit < 0) fail(`tcp_flags: "${x[2]!}" in "${tok}" is not a TCP flag: use ${TCP_FLAG_NAMES.join(', ')}`);
      const b = 1n << BigInt(bit);
      if (m & b) fail(`tcp_flags: "${x[2]!}" appears twice in "${tok}"`);
      m |= b;
      if (x[1] === '+') v |= b;
      consumed = re.lastIndex;
    }
    if (consumed !== tok.length) fail(`tcp_flags: cannot parse "${tok}": write flags as +syn-ack (set syn, clear ack) or as 0x002/0x012`);
    return [v, m];
  }
  if (/^[a-z]+(\|[a-z]+)*$/.test(tok)) {
    // syn|ack: exactly these flags set, every other flag clear.
    let v = 0n;
    for (const flag of tok.split('|')) {
      const bit = TCP_FLAG_NAMES.indexOf(flag);
      if (bit < 0) fail(`tcp_flags: "${flag}" in "${tok}" is not a TCP flag: use ${TCP_FLAG_NAMES.join(', ')}`);
      v |= 1n << BigInt(bit);
    }
    return [v, maxOfBits(syn.bits)];
  }
  const [v, m] = splitMask(tok);
  return [fieldNumber(name, syn, v, tok), m === undefined ? maxOfBits(syn.bits) : fieldMask(name, syn, m, tok)];
}

/** The tunnel flags OpenFlow can match, by name (OVS's flow_tun_flag_to_string for FLOW_TNL_PUB_F_MASK). */
const TUN_FLAG_WORDS: Readonly<Record<string, bigint>> = { oam: BigInt(TUN_FLAG.OAM) };

/** tun_flags as +oam/-oam, oam (names joined by |), or a number with an optional mask. */
function parseTunFlags(name: string, syn: MatchFieldSyntax, tok: string): [bigint, bigint] {
  const flag = (word: string): bigint => {
    const b = own(TUN_FLAG_WORDS, word);
    if (b === undefined) fail(`${word}: unknown tunnel flag(s) in ${name}=${tok}: OpenFlow matches only oam (the datapath sets df, csum and key itself)`);
    return b;
  };
  if (/^[+-]/.test(tok)) {
    let v = 0n;
    let m = 0n;
    for (const [, sign, word] of tok.matchAll(/([+-])([^+-]*)/g)) {
      const b = flag(word!);
      m |= b;
      if (sign === '+') v |= b;
    }
    return [v, m];
  }
  if (/^[a-z|]+$/.test(tok)) return [tok.split('|').reduce((v, w) => v | flag(w), 0n), maxOfBits(syn.bits)];
  const [v, m] = splitMask(tok);
  return [fieldNumber(name, syn, v, tok), m === undefined ? maxOfBits(syn.bits) : fieldMask(name, syn, m, tok)];
}

/** The number written for match field `name`; `written` is its whole VALUE[/MASK] token. */
function fieldNumber(name: string, syn: MatchFieldSyntax, text: string, written: string): bigint {
  return parseFieldUint(text, syn.bits, name, fail, 'value', written);
}

/** The mask written for match field `name`; "-1" stands for all ones. */
function fieldMask(name: string, syn: MatchFieldSyntax, text: string, written: string): bigint {
  return text === '-1' ? maxOfBits(syn.bits) : parseFieldUint(text, syn.bits, name, fail, 'mask', written);
}

/** An IP address match: ADDR, ADDR/PREFIX_LENGTH or ADDR/MASK. */
function ipMatch(name: string, syn: MatchFieldSyntax, v: string, mk: string | undefined, value: string): [bigint, bigint] {
  const v6 = syn.kind === 'ipv6';
  const addr = (t: string, field: string) => (v6 ? parseIpv6Value(t, field) : BigInt(parseIpv4Value(t, field)));
  if (mk === undefined) return [addr(v, name), maxOfBits(syn.bits)];
  if (/^-?\d+$/.test(mk)) {
    const len = Number(mk);
    if (len < 0 || len > syn.bits) fail(`${value}: ${v6 ? 'IPv6' : 'IPv4'} network prefix bits not between 0 and ${syn.bits}, inclusive (in ${name})`);
    return [addr(v, name), prefixMask(syn.bits, len)];
  }
  return [addr(v, name), addr(mk, `${name} mask`)];
}

/** Matches the `partMask` bits of `field` against `bits`, keeping what the rest of it matches. */
function setPart(m: Match, field: FieldId, partMask: bigint, bits: bigint): void {
  const { value, mask } = m.field(field);
  m.set(field, (value & ~partMask) | bits, mask | partMask);
}

function setMatchField(m: Match, name: string, syn: MatchFieldSyntax, value: string): void {
  if (value === '') fail(`field ${name} missing value: write ${name}=VALUE`);
  const f = syn.field;
  const [v, mk] = splitMask(value);
  if (mk !== undefined && !syn.masked) fail(`${value}: invalid mask for field ${name}: ${name} takes no mask`);
  const number = () => Number(fieldNumber(name, syn, v, value));
  switch (syn.kind) {
    case 'port':
      m.set(f, parsePort(v, name));
      return;
    case 'mac':
      m.set(f, parseMacValue(v, name), mk === undefined ? fieldMax(f) : parseMacValue(mk, `${name} mask`));
      return;
    case 'ipv4':
    case 'ipv6':
      m.set(f, ...ipMatch(name, syn, v, mk, value));
      return;
    case 'uint':
      if (mk === undefined) m.set(f, fieldNumber(name, syn, v, value));
      else m.set(f, fieldNumber(name, syn, v, value), fieldMask(name, syn, mk, value));
      return;
    case 'tcp_flags':
      m.set(f, ...parseTcpFlags(name, syn, value));
      return;
    case 'tun_flags':
      m.set(f, ...parseTunFlags(name, syn, value));
      return;
    case 'tun_metadata':
      setTunMetadataMatch(m, name, syn, v, mk, value);
      return;
    case 'vlan_vid':
      // 0xffff is OpenFlow 1.0's "no VLAN tag".
      if (parseUintText(v) === 0xffffn) m.set('vlan_tci', 0n, 0xffffn);
      else setPart(m, 'vlan_tci', 0x1fffn, BigInt(VLAN_CFI | number()));
      return;
    case 'vlan_pcp':
      setPart(m, 'vlan_tci', 0xf000n, BigInt(VLAN_CFI | (number() << 13)));
      return;
    case 'tos': {
      const tos = number();
      if (tos & 3) fail(`${value}: not a valid TOS for ${name} (the low two bits are ECN: write a multiple of 4, or ip_dscp=${tos >> 2} with nw_ecn)`);
      setPart(m, 'nw_tos', 0xfcn, BigInt(tos));
      return;
    }
    case 'dscp':
      setPart(m, 'nw_tos', 0xfcn, BigInt(number() << 2));
      return;
    case 'ecn':
      setPart(m, 'nw_tos', 3n, BigInt(number()));
      return;
  }
}

/**
 * tun_metadataN=VALUE[/MASK]: the frame carries the Geneve option mapped to N, with that data.
 * One per match: TVS's datapath sees one option per frame.
 */
function setTunMetadataMatch(m: Match, name: string, syn: MatchFieldSyntax, v: string, mk: string | undefined, written: string): void {
  const index = Number(name.slice('tun_metadata'.length));
  const present = m.field('tun_metadata_present');
  if (present.mask & presentBit(index)) fail(`${name}: given twice in one match`);
  if (present.mask) fail(tooManyOptions([...presentIndexes(present.mask), index]));
  // 8 bytes (syn.bits): what TVS's datapath carries of a Geneve option.
  const value = fieldNumber(name, syn, v, written);
  const mask = mk === undefined ? TUN_METADATA_EXACT : fieldMask(name, syn, mk, written);
  m.set('tun_metadata_present', presentBit(index), presentBit(index));
  m.set('tun_metadata_value', value & mask, mask);
}

/** Parses a match alone (`ip,nw_dst=10.0.0.0/24`), checking prerequisites. */
export function parseMatch(s: string): Match {
  const m = Match.catchAll();
  for (const { key, value } of splitKeyValues(s)) {
    if (!applyMatchToken(m, key, value)) fail(unknownKeyword(key));
  }
  checkMatchPrereqs(m, s);
  return m;
}

function applyMatchToken(m: Match, key: string, value: string): boolean {
  const proto = own(PROTOCOLS, key);
  if (proto) {
    if (value !== '') fail(`"${key}=${value}": ${key} is a protocol shorthand and takes no value: write just "${key}"`);
    m.set('dl_type', proto[0]);
    if (proto[1] !== undefined) m.set('nw_proto', proto[1]);
    return true;
  }
  const syn = own(MATCH_FIELDS, key);
  if (!syn) return false;
  setMatchField(m, key, syn, value);
  return true;
}

function checkMatchPrereqs(m: Match, s: string): void {
  const p = findPrereqProblem(m);
  if (!p) return;
  fail(
    `${p.field}: prerequisites not met (OFPBMC_BAD_PREREQ): matching ${p.field} requires ${p.needs}; ` +
      `add a protocol to the match, e.g. "${p.fix},${s.replace(/^\s+/, '').split(/[ ,]actions?[=:]/)[0]!}"`,
  );
}

/**
 * Refuses a conntrack keyword: TVS has no connection tracker yet. OVN's stateful ACLs, load
 * balancers and NAT are built on it, so an OVN chassis needs it; until then the flow is refused
 * whole rather than installed without its state checks.
 */
function conntrackUnsupported(word: string): never {
  return fail(
    `${word}: connection tracking (conntrack) is not supported by TVS yet, so ct, ct_clear and the ct_state, ct_zone, ct_mark and ct_label matches cannot be used; ` +
      `OVN's stateful ACLs, load balancers and NAT need it, and it is planned: remove ${word} from the flow until then`,
  );
}

/** True for the match and action words of conntrack (ct, ct_clear, ct_state, ct_nw_src, ...). */
function isConntrackWord(key: string): boolean {
  return key === 'ct' || key.startsWith('ct_');
}

function unknownKeyword(key: string): string {
  if (isConntrackWord(key.toLowerCase())) conntrackUnsupported(key);
  return `unknown keyword ${key}: expected a match field (in_port, dl_src, dl_type, nw_dst, tp_dst, reg0, ...), a protocol (ip, tcp, arp, ...) or a flow option (table, priority, cookie, idle_timeout, ...)`;
}

// ---------------------------------------------------------------------------------------------
// Actions

/** Parses `NXM_NX_REG0[0..15]`, `NXM_OF_ETH_SRC[]`, `reg0[3]`, `xxreg0[32..63]`, or a bare `reg14` (the whole field). */
function parseSubfield(tok: string): Subfield {
  const m = /^([A-Za-z0-9_]+)(?:\[(?:(\d+)(?:\.\.(\d+))?)?\])?$/.exec(tok.trim());
  if (!m) fail(`"${tok}": expected a field with a bit range, like NXM_NX_REG0[] or NXM_NX_REG0[0..15]`);
  const f = fieldByName(m[1]!);
  if (!f) fail(`"${tok}": unknown field ${m[1]!}: use a field name like reg0, xreg0, xxreg0, metadata, eth_src, arp_spa, or an NXM name like NXM_NX_REG0, NXM_OF_ETH_SRC`);
  const name = recordedName(f);
  const named = (sf: Subfield): Subfield => (name === undefined ? sf : { ...sf, name });
  if (m[2] === undefined) return named({ field: f.field, ofs: 0, nBits: f.bits });
  const lo = Number(m[2]);
  const hi = m[3] === undefined ? lo : Number(m[3]);
  if (hi < lo || hi >= f.bits) fail(`"${tok}": bits ${lo}..${hi} are outside ${m[1]!} (0..${f.bits - 1})`);
  return named({ field: f.field, ofs: lo, nBits: hi - lo + 1 });
}

/** True if `tok` names a field rather than a port (output:reg15, output:NXM_NX_REG0[0..15]). */
function isSubfieldToken(tok: string): boolean {
  return tok.includes('[') || fieldByName(tok) !== undefined;
}

/** controller(userdata=...) bytes: hex pairs, optionally separated by dots, as OVS prints them. */
function parseUserdata(text: string, written: string): Buffer {
  const hexDigits = text.replace(/\./g, '');
  if (!/^([0-9a-f]{2})*$/i.test(hexDigits)) fail(`${written}: userdata must be hex bytes separated by dots, e.g. userdata=00.01.02`);
  return Buffer.from(hexDigits, 'hex');
}

/** controller(key=value,...): a plain output to CONTROLLER when only max_len is given, as OVS does. */
function parseController(arg: string): Action {
  const written = `controller(${arg})`;
  const c: Extract<Action, { type: 'controller' }> = { type: 'controller', maxLen: 0xffff, reason: 'action', controllerId: 0, pause: false };
  for (const kv of splitKeyValues(arg)) {
    switch (kv.key) {
      case 'max_len':
        c.maxLen = Number(numberArg(ACTION_ARGUMENTS.controller!, kv.value, written));
        break;
      case 'reason': {
        const r = CONTROLLER_REASONS.find((x) => x === kv.value);
        if (!r) fail(`${written}: unknown reason "${kv.value}": use ${CONTROLLER_REASONS.join(', ')}`);
        c.reason = r;
        break;
      }
      case 'id':
        c.controllerId = Number(numberArg(CONTROLLER_ID, kv.value, written));
        break;
      case 'userdata':
        c.userdata = parseUserdata(kv.value, written);
        break;
      case 'pause':
        if (kv.value !== '') fail(`${written}: pause is a flag and takes no value: write just "pause"`);
        c.pause = true;
        break;
      case 'meter_id':
        c.meterId = Number(numberArg(CONTROLLER_METER, kv.value, written));
        break;
      default:
        fail(`${written}: unknown key "${kv.key}" parsing controller action: supported are max_len=N, reason=REASON, id=N, userdata=HEX, pause and meter_id=N`);
    }
  }
  if (c.reason === 'action' && c.controllerId === 0 && !c.userdata && !c.pause && c.meterId === undefined) return { type: 'output', port: OFPP.CONTROLLER, maxLen: c.maxLen };
  return c;
}

/** sample(...)'s numbers: the probability (per 65535) and the ids. */
const SAMPLE_PROBABILITY: NumberSyntax = { label: 'probability', bits: 16 };
const SAMPLE_ID: NumberSyntax = { label: 'id', bits: 32 };

function parseSample(arg: string): Action {
  const written = `sample(${arg})`;
  const s: Extract<Action, { type: 'sample' }> = { type: 'sample', probability: 0, collectorSetId: 0, obsDomainId: 0, obsPointId: 0, samplingPort: OFPP.ANY, direction: 'default' };
  for (const kv of splitKeyValues(arg)) {
    switch (kv.key) {
      case 'probability':
        s.probability = Number(numberArg(SAMPLE_PROBABILITY, kv.value, written));
        if (s.probability === 0) fail(`${written}: invalid probability value "${kv.value}": it is packets sampled per 65535, 1 to 65535`);
        break;
      case 'collector_set_id':
        s.collectorSetId = Number(numberArg(SAMPLE_ID, kv.value, written));
        break;
      case 'obs_domain_id':
        s.obsDomainId = Number(numberArg(SAMPLE_ID, kv.value, written));
        break;
      case 'obs_point_id':
        s.obsPointId = Number(numberArg(SAMPLE_ID, kv.value, written));
        break;
      case 'sampling_port':
        s.samplingPort = parsePort(kv.value, 'sampling_port');
        break;
      case 'ingress':
      case 'egress':
        s.direction = kv.key;
        break;
      default:
        fail(`${written}: invalid key "${kv.key}" in "sample" argument: supported are probability=N, collector_set_id=N, obs_domain_id=N, obs_point_id=N, sampling_port=PORT, ingress and egress`);
    }
  }
  if (s.probability === 0) fail(`${written}: non-zero "probability" must be specified on sample, e.g. sample(probability=65535,collector_set_id=1)`);
  return s;
}

/** controller(id=N): a controller connection id. */
const CONTROLLER_ID: NumberSyntax = { label: 'controller id', bits: 16 };
/** controller(meter_id=N): the meter for its packet-ins. */
const CONTROLLER_METER: NumberSyntax = { label: 'meter_id', bits: 32 };

/** output:SUBFIELD reads a port number of at most this many bits (NXAST_OUTPUT_REG2). */
const OUTPUT_REG_BITS = 32;

/** set_field's names for parts of a field: the VLAN id and priority in vlan_tci, the DSCP in nw_tos. */
export const SET_FIELD_PARTS: Readonly<Record<string, { field: FieldId; bits: number; shift: number; present?: boolean }>> = {
  vlan_vid: { field: 'vlan_tci', bits: 12, shift: 0, present: true },
  vlan_pcp: { field: 'vlan_tci', bits: 3, shift: 13 },
  ip_dscp: { field: 'nw_tos', bits: 6, shift: 2 },
};

/** A set_field value (or mask) for `fn`, refused naming the field as the user wrote it. */
function parseFieldValue(fn: FieldName, name: string, tok: string, part: 'value' | 'mask', written: string): bigint {
  const field = part === 'mask' ? `${name} mask` : name;
  switch (ADDRESS_FIELDS[fn.field]) {
    case 'mac':
      return parseMacValue(tok, field);
    case 'ipv4':
      return BigInt(parseIpv4Value(tok, field));
    case 'ipv6':
      return parseIpv6Value(tok, field);
  }
  if (fn.field === 'tun_flags' && /^[a-z]+$/.test(tok)) return own(TUN_FLAG_WORDS, tok) ?? fail(`${tok}: unknown tunnel flag(s) in set_field: OpenFlow sets only oam`);
  return fn.field === 'in_port' ? BigInt(parsePort(tok, name)) : parseFieldUint(tok, fn.bits, name, fail, part, written);
}

function parseSetField(arg: string): Action {
  const i = arg.indexOf('->');
  if (i < 0) fail(`set_field:${arg}: missing "->": write set_field:VALUE->FIELD, e.g. set_field:10.0.0.1->ip_dst`);
  const valueStr = arg.slice(0, i);
  const name = arg.slice(i + 2);
  const part = own(SET_FIELD_PARTS, name);
  if (part) {
    // vlan_vid takes OFPVID_PRESENT (0x1000) too, as OVS does: set_field:4100->vlan_vid sets VLAN 4.
    const v = parseFieldUint(valueStr, part.present ? part.bits + 1 : part.bits, name, fail, 'value', valueStr);
    const mask = maxOfBits(part.bits) << BigInt(part.shift);
    return part.present
      ? { type: 'set_field', field: part.field, value: BigInt(VLAN_CFI) | (v & mask), mask: mask | BigInt(VLAN_CFI) }
      : { type: 'set_field', field: part.field, value: v << BigInt(part.shift), mask };
  }
  const fn = fieldByName(name);
  if (!fn) {
    if (isConntrackWord(name)) conntrackUnsupported(name);
    fail(`set_field:${arg}: unknown field "${name}": use a field name like eth_dst, ip_dst, arp_tpa, tp_dst, reg0, xxreg0, metadata, tun_id, vlan_vid`);
  }
  const [v, m] = splitMask(valueStr);
  const value = parseFieldValue(fn, name, v, 'value', valueStr);
  // A field narrower in the flow than on the wire (arp_op, 16 bits, in the 8-bit nw_proto) keeps its flow width.
  const mask = (m === undefined ? fieldMax(fn.field) : parseFieldValue(fn, name, m, 'mask', valueStr)) & fieldMax(fn.field);
  if (value > fieldMax(fn.field)) fail(`set_field:${arg}: value too large for ${name}: TVS holds ${name} in ${FIELDS[fn.field].bits} bits`);
  const sf: Action = { type: 'set_field', field: fn.field, value: value & mask, mask };
  const recorded = recordedName(fn);
  if (recorded !== undefined) sf.name = recorded;
  return sf;
}

/**
 * Actions and instructions whose argument is one number (ACTION:N): what OVS calls the number,
 * and its range. Every other number an action takes is a port, a field value, or a subfield's.
 */
export const ACTION_ARGUMENTS: Readonly<Record<string, NumberSyntax>> = {
  mod_vlan_vid: { label: 'VLAN VID', bits: 12 },
  set_vlan_vid: { label: 'VLAN VID', bits: 12 },
  mod_vlan_pcp: { label: 'VLAN PCP', bits: 3 },
  set_vlan_pcp: { label: 'VLAN PCP', bits: 3 },
  push_vlan: { label: 'ethertype', bits: 16 },
  mod_nw_tos: { label: 'TOS', bits: 8 },
  mod_tp_src: { label: 'source port', bits: 16 },
  mod_tp_dst: { label: 'destination port', bits: 16 },
  controller: { label: 'max_len', bits: 16 },
  set_tunnel: { label: 'tunnel id', bits: 64 },
  set_tunnel64: { label: 'tunnel id', bits: 64 },
  group: { label: 'group id', bits: 32 },
  write_metadata: { label: 'metadata', bits: 64 },
  goto_table: { label: 'table', bits: 8, max: 254n },
  meter: { label: 'meter id', bits: 32, max: 0xffff0000n },
};

/** resubmit's table; 255 means the current one. */
const RESUBMIT_TABLE: NumberSyntax = { label: 'table', bits: 8 };

const BARE_OUTPUT_PORTS = ['IN_PORT', 'TABLE', 'NORMAL', 'FLOOD', 'ALL', 'LOCAL'];

function parseAction(key: string, arg: string): Action {
  const lower = key.toLowerCase();
  const what = arg === '' ? key : `${key}:${arg}`;
  const n = (): number => Number(numberArg(ACTION_ARGUMENTS[lower]!, arg, what));
  if (arg === '' && /^(0x[0-9a-f]+|[0-9]+)$/i.test(key)) return { type: 'output', port: parsePort(key, 'output'), maxLen: 0 };
  if (arg === '' && BARE_OUTPUT_PORTS.includes(key.toUpperCase())) return { type: 'output', port: parsePort(key, 'output'), maxLen: 0 };
  switch (lower) {
    case 'output': {
      if (arg === '') fail('output: missing port: write output:PORT, e.g. output:2');
      if (isSubfieldToken(arg)) {
        const src = parseSubfield(arg);
        if (src.nBits > OUTPUT_REG_BITS) fail(`output:${arg}: a port number is at most ${OUTPUT_REG_BITS} bits: name a register or a part of one, e.g. output:NXM_NX_REG15[]`);
        return { type: 'output_reg', src, maxLen: 0 };
      }
      const port = parsePort(arg, 'output');
      return { type: 'output', port, maxLen: port === OFPP.CONTROLLER ? 0xffff : 0 };
    }
    case 'controller':
      if (/^\d+$/.test(arg)) return { type: 'output', port: OFPP.CONTROLLER, maxLen: n() };
      return parseController(arg);
    case 'sample':
      return parseSample(arg);
    case 'push':
    case 'pop': {
      if (arg === '') fail(`${lower}: missing field: write ${lower}:FIELD[bits], e.g. ${lower}:NXM_NX_REG0[]`);
      const sf = parseSubfield(arg);
      return lower === 'push' ? { type: 'push', src: sf } : { type: 'pop', dst: sf };
    }
    case 'ct':
    case 'ct_clear':
      return conntrackUnsupported(lower);
    case 'mod_vlan_vid':
    case 'set_vlan_vid':
      return { type: 'set_vlan_vid', vid: n(), push: lower === 'mod_vlan_vid' };
    case 'mod_vlan_pcp':
    case 'set_vlan_pcp':
      return { type: 'set_vlan_pcp', pcp: n(), push: lower === 'mod_vlan_pcp' };
    case 'strip_vlan':
    case 'pop_vlan':
      return { type: 'strip_vlan', raw: lower };
    case 'push_vlan': {
      const et = n();
      if (et !== ETH_TYPE.VLAN && et !== ETH_TYPE.VLAN_8021AD) fail(`${what}: ${arg}: not a valid VLAN ethertype: use 0x8100 or 0x88a8`);
      return { type: 'push_vlan', ethertype: et };
    }
    case 'mod_dl_src':
      return { type: 'set_eth_src', mac: parseMacValue(arg, lower) };
    case 'mod_dl_dst':
      return { type: 'set_eth_dst', mac: parseMacValue(arg, lower) };
    case 'mod_nw_src':
      return { type: 'set_ipv4_src', ip: parseIpv4Value(arg, lower) };
    case 'mod_nw_dst':
      return { type: 'set_ipv4_dst', ip: parseIpv4Value(arg, lower) };
    case 'mod_nw_tos': {
      const tos = n();
      if (tos & 3) fail(`${what}: ${arg}: not a valid TOS: the low two bits are ECN, use a multiple of 4`);
      return { type: 'set_ip_dscp', tos };
    }
    case 'mod_tp_src':
      return { type: 'set_l4_src_port', port: n() };
    case 'mod_tp_dst':
      return { type: 'set_l4_dst_port', port: n() };
    case 'dec_ttl':
      if (arg !== '') fail(`dec_ttl(${arg}): controller ids for dec_ttl are not supported: write dec_ttl`);
      return { type: 'dec_ttl' };
    case 'set_field':
      return parseSetField(arg);
    case 'load': {
      const i = arg.indexOf('->');
      if (i < 0) fail(`load:${arg}: missing "->": write load:VALUE->FIELD[bits], e.g. load:0x5->NXM_NX_REG0[0..15]`);
      const dst = parseSubfield(arg.slice(i + 2));
      const value = parseUintText(arg.slice(0, i)) ?? fail(`${what}: "${arg.slice(0, i)}" is not a number: write decimal (80) or hex (0x50)`);
      if (value >> BigInt(dst.nBits)) fail(`${what}: value ${hex(value)} does not fit into ${dst.nBits} bits`);
      return { type: 'load', dst, value };
    }
    case 'move': {
      const i = arg.indexOf('->');
      if (i < 0) fail(`move:${arg}: missing "->": write move:SRC[bits]->DST[bits], e.g. move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[]`);
      const src = parseSubfield(arg.slice(0, i));
      const dst = parseSubfield(arg.slice(i + 2));
      if (src.nBits !== dst.nBits) fail(`${what}: source field is ${src.nBits} bits wide but destination is ${dst.nBits} bits: make the ranges equal`);
      return { type: 'move', src, dst };
    }
    case 'resubmit': {
      if (arg === '') fail('resubmit: missing port or table: write resubmit:PORT or resubmit(PORT,TABLE), e.g. resubmit(,2)');
      const parts = arg.split(',');
      if (parts.length === 1) return { type: 'resubmit', inPort: parsePort(parts[0]!, 'resubmit'), table: 255 };
      if (parts.length === 3 && parts[2] === 'ct') conntrackUnsupported(`resubmit(${arg})`);
      if (parts.length > 2) fail(`resubmit(${arg}): too many arguments: write resubmit(PORT,TABLE)`);
      const inPort = parts[0] ? parsePort(parts[0], 'resubmit') : OFPP.IN_PORT;
      const table = parts[1] ? Number(numberArg(RESUBMIT_TABLE, parts[1], `resubmit(${arg})`)) : 255;
      if (inPort === OFPP.IN_PORT && table === 255) fail(`resubmit(${arg}): at least one "in_port" or "table" must be specified on resubmit`);
      return { type: 'resubmit', inPort, table };
    }
    case 'set_tunnel':
    case 'set_tunnel64': {
      const tunId = numberArg(ACTION_ARGUMENTS[lower]!, arg, what);
      return { type: 'set_tunnel', tunId, is64: lower === 'set_tunnel64' || tunId > 0xffffffffn };
    }
    case 'group':
      return { type: 'group', groupId: n() };
    default:
      if (isConntrackWord(lower)) conntrackUnsupported(key);
      return fail(`unknown action ${key}: supported are output, NORMAL, FLOOD, ALL, LOCAL, IN_PORT, CONTROLLER, drop, mod_vlan_vid, mod_vlan_pcp, strip_vlan, push_vlan, pop_vlan, mod_dl_src, mod_dl_dst, mod_nw_src, mod_nw_dst, mod_nw_tos, mod_tp_src, mod_tp_dst, dec_ttl, set_field, load, move, push, pop, resubmit, set_tunnel, group, controller, and the instructions clear_actions, write_actions, write_metadata, goto_table`);
  }
}

const INSTRUCTION_ORDER = ['meter', 'apply_actions', 'clear_actions', 'write_actions', 'write_metadata', 'goto_table'] as const;

/** Parses the text after `actions=`. */
function parseActions(s: string): Instructions {
  const ins: Instructions = { apply: [], clearActions: false };
  let last = -1;
  let sawDrop = false;
  const step = (name: (typeof INSTRUCTION_ORDER)[number], tok: string) => {
    const idx = INSTRUCTION_ORDER.indexOf(name);
    if (idx < last || (idx === last && name !== 'apply_actions')) {
      fail(`"${tok}": instruction ${name} may not follow instruction ${INSTRUCTION_ORDER[last]!}: order them meter, apply actions, clear_actions, write_actions, write_metadata, goto_table`);
    }
    last = idx;
  };
  for (const { key, value } of splitKeyValues(s)) {
    const lower = key.toLowerCase();
    const tok = value === '' ? key : `${key}:${value}`;
    if (lower === 'drop') {
      sawDrop = true;
      continue;
    }
    if (lower === 'clear_actions') {
      step('clear_actions', tok);
      ins.clearActions = true;
    } else if (lower === 'write_actions') {
      step('write_actions', tok);
      ins.write = parseActions(value).apply;
    } else if (lower === 'apply_actions') {
      step('apply_actions', tok);
      ins.apply.push(...parseActions(value).apply);
    } else if (lower === 'write_metadata') {
      step('write_metadata', tok);
      const [v, m] = splitMask(value);
      const syn = ACTION_ARGUMENTS.write_metadata!;
      ins.writeMetadata = { value: numberArg(syn, v, tok), mask: m === undefined ? maxOfBits(syn.bits) : maskArg(syn, m, tok) };
    } else if (lower === 'goto_table') {
      step('goto_table', tok);
      ins.gotoTable = Number(numberArg(ACTION_ARGUMENTS.goto_table!, value, tok));
    } else if (lower === 'meter') {
      step('meter', tok);
      ins.meter = Number(numberArg(ACTION_ARGUMENTS.meter!, value, tok));
    } else {
      step('apply_actions', tok);
      ins.apply.push(parseAction(key, value));
    }
  }
  if (sawDrop && last !== -1) fail(`"${s}": "drop" must not be accompanied by any other action or instruction: remove drop, or the other actions`);
  return ins;
}

// ---------------------------------------------------------------------------------------------
// Flow mods

/** Splits off the text after the `actions=` keyword. */
function extractActions(s: string): [string, string | undefined] {
  const m = /(^|[\s,])actions?\s*[=:]/.exec(s);
  if (!m) return [s, undefined];
  return [s.slice(0, m.index), s.slice(m.index + m[0].length)];
}

const STATS_KEYS = new Set(['duration', 'n_packets', 'n_bytes', 'idle_age', 'hard_age']);

/** The flow-mod flags, by their ovs-ofctl keywords. */
const FLOW_MOD_FLAGS = new Map<string, keyof FlowModFlags>([
  ['send_flow_rem', 'sendFlowRem'],
  ['check_overlap', 'checkOverlap'],
  ['reset_counts', 'resetCounts'],
  ['no_packet_counts', 'noPacketCounts'],
  ['no_byte_counts', 'noByteCounts'],
]);

/** The flow-mod options that are numbers: what OVS calls each, and its range. */
export const FLOW_MOD_NUMBERS: Readonly<Record<string, NumberSyntax>> = {
  table: { label: 'table', bits: 8 },
  priority: { label: 'priority', bits: 16 },
  idle_timeout: { label: 'idle_timeout', bits: 16 },
  hard_timeout: { label: 'hard_timeout', bits: 16 },
  importance: { label: 'importance', bits: 16 },
  cookie: { label: 'cookie', bits: 64 },
  out_group: { label: 'out_group', bits: 32 },
};

/**
 * Parses an ovs-ofctl flow: `add-flow` (default), `mod-flows` (command 'modify' or
 * 'modify_strict') or `del-flows` ('delete' or 'delete_strict') syntax. Output of
 * `formatFlow`/dump-flows parses back (stats fields are ignored).
 */
export function parseFlowMod(s: string, command: FlowModCommand = 'add'): FlowMod {
  const isAdd = command === 'add';
  const isMod = command === 'modify' || command === 'modify_strict';
  const isDel = command === 'delete' || command === 'delete_strict';
  const [matchPart, actPart] = extractActions(s);
  if (isDel && actPart !== undefined) fail(`"actions=${actPart}": del-flows takes no actions: a delete selects rules by match, priority (strict), out_port and cookie`);
  if (!isDel && actPart === undefined) fail(`"${s}": must specify an action: append ",actions=..." (e.g. actions=output:2, actions=NORMAL or actions=drop)`);

  const fm = flowMod({ command, tableId: isAdd ? 0 : OFPTT_ALL });
  const flags: FlowModFlags = {};
  const match = Match.catchAll();
  for (const { key, value } of splitKeyValues(matchPart)) {
    const tok = value === '' ? key : `${key}=${value}`;
    const number = (text = value) => numberArg(FLOW_MOD_NUMBERS[key]!, text);
    if (applyMatchToken(match, key, value)) continue;
    const flag = FLOW_MOD_FLAGS.get(key);
    if (flag) {
      if (isDel) fail(`${key}: flags are not allowed in del-flows: remove "${key}"`);
      if (value !== '') fail(`"${tok}": ${key} is a flag and takes no value: write just "${key}"`);
      flags[flag] = true;
      continue;
    }
    if (STATS_KEYS.has(key)) continue;
    if (value === '') fail(`field ${key} missing value: write ${key}=VALUE`);
    switch (key) {
      case 'table':
        fm.tableId = value.toUpperCase() === 'ALL' ? OFPTT_ALL : Number(number());
        if (isAdd && fm.tableId === OFPTT_ALL) fail(`${tok}: add-flow needs one table: use table=0..254`);
        break;
      case 'priority':
        if (isDel && command !== 'delete_strict') fail(`${tok}: priority only selects rules in a strict delete: use del-flows --strict, or drop priority`);
        fm.priority = Number(number());
        break;
      case 'idle_timeout':
      case 'hard_timeout':
      case 'importance':
        if (isDel) fail(`${tok}: ${key} is not allowed in del-flows`);
        if (key === 'importance' && !isAdd) fail(`${tok}: importance can only be set when adding a flow`);
        fm[key === 'idle_timeout' ? 'idleTimeout' : key === 'hard_timeout' ? 'hardTimeout' : 'importance'] = Number(number());
        break;
      case 'out_port':
        if (!isDel) fail(`${tok}: out_port only filters del-flows (and dump-flows)`);
        fm.outPort = parsePort(value, 'out_port');
        break;
      case 'out_group':
        if (!isDel) fail(`${tok}: out_group only filters del-flows (and dump-flows)`);
        fm.outGroup = value.toUpperCase() === 'ANY' ? OFPG.ANY : Number(number());
        break;
      case 'cookie': {
        const [v, m] = splitMask(value);
        if (m !== undefined) {
          if (isAdd) fail(`${tok}: flow additions cannot use a cookie mask: write cookie=${v}`);
          fm.cookie = number(v);
          fm.cookieMask = maskArg(FLOW_MOD_NUMBERS.cookie!, m);
        } else {
          if (isDel) fail(`${tok}: cannot set cookie (to match on a cookie, specify a mask, e.g. cookie=${v}/-1)`);
          fm.cookie = number(v);
          if (isMod) fm.newCookie = fm.cookie;
        }
        break;
      }
      default:
        fail(unknownKeyword(key));
    }
  }
  checkMatchPrereqs(match, s);
  fm.match = match;
  fm.flags = flags;
  if (actPart !== undefined) fm.instructions = parseActions(actPart);
  return fm;
}

// ---------------------------------------------------------------------------------------------
// Groups

/** The numbers a group and its buckets take: what OVS calls each, and its range. */
export const GROUP_NUMBERS: Readonly<Record<string, NumberSyntax>> = {
  group_id: { label: 'group_id', bits: 32 },
  weight: { label: 'weight', bits: 16 },
  watch_group: { label: 'watch_group', bits: 32 },
};

function parseBucket(text: string, type: GroupType): Bucket {
  const b = makeBucket([], {});
  const actionParts: string[] = [];
  const kvs = splitKeyValues(text);
  for (let i = 0; i < kvs.length; i++) {
    const { key, value } = kvs[i]!;
    if (key === 'weight') b.weight = Number(numberArg(GROUP_NUMBERS.weight!, value, `weight:${value}`));
    else if (key === 'watch_port') b.watchPort = parsePort(value, 'watch_port');
    else if (key === 'watch_group') b.watchGroup = Number(numberArg(GROUP_NUMBERS.watch_group!, value, `watch_group:${value}`));
    else if (key === 'bucket_id') continue;
    else if (key === 'actions' || key === 'action') {
      // Everything after actions= belongs to the actions.
      const idx = text.search(/(^|,)actions?[=:]/);
      actionParts.push(text.slice(text.indexOf('=', idx) + 1));
      break;
    } else actionParts.push(value === '' ? key : `${key}:${value}`);
  }
  if (type === 'select' && b.weight === 0 && !/(^|,)weight[:=]/.test(text)) b.weight = 1;
  b.actions = parseActions(actionParts.join(',')).apply;
  return b;
}

/**
 * Parses an `add-group`/`mod-group`/`del-groups` string:
 * `group_id=1,type=select,bucket=weight:10,actions=output:1,bucket=output:2`.
 */
export function parseGroupMod(s: string, command: GroupMod['command'] = 'add'): GroupMod {
  const pieces = s.split(/,?\s*bucket=/);
  const head = pieces[0]!;
  let groupId: number | undefined;
  let type: GroupType | undefined;
  for (const { key, value } of splitKeyValues(head)) {
    if (key === 'group_id') groupId = value.toUpperCase() === 'ALL' ? OFPG.ALL : Number(numberArg(GROUP_NUMBERS.group_id!, value));
    else if (key === 'type') {
      if (!['all', 'select', 'indirect', 'ff', 'fast_failover'].includes(value)) fail(`type=${value}: unknown group type: use all, select, indirect or ff`);
      type = (value === 'fast_failover' ? 'ff' : value) as GroupType;
    } else fail(`unknown keyword ${key} in group "${s}": a group has group_id=, type= and bucket=...`);
  }
  if (groupId === undefined) fail(`"${s}": must specify a group_id, e.g. group_id=1,type=all,bucket=output:1`);
  if (command === 'delete') return { command, groupId, type: type ?? 'all', buckets: [] };
  if (type === undefined) fail(`"${s}": must specify a type: add type=all, select, indirect or ff`);
  const buckets = pieces.slice(1).map((p) => parseBucket(p, type));
  return { command, groupId, type, buckets };
}
