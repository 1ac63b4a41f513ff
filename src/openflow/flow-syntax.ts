/**
 * The ovs-ofctl flow syntax: parse `add-flow`/`mod-flows`/`del-flows` strings and `add-group`
 * strings into the ofproto model. ofproto prints the same syntax (src/ofproto/print.ts), and
 * what it prints parses back here.
 *
 * Every parse error is a `FlowSyntaxError` naming the offending token and saying how to fix it.
 * The syntax follows OVS's lib/ofp-flow.c and lib/ofp-actions.c; the code is ours.
 */
import { AddressError, bytesToBigint, parseIpv4, parseIpv6, parseMac, prefixMask } from '../lib/addr.js';
import { OFPG, OFPP, type Action, type Instructions, type Subfield } from '../ofproto/actions.js';
import { ETH_TYPE, FIELDS, IP_PROTO, VLAN_CFI, fieldMax, type FieldId } from '../ofproto/flow.js';
import { OFPTT_ALL, flowMod, type FlowMod, type FlowModCommand, type FlowModFlags } from '../ofproto/flow-table.js';
import { bucket as makeBucket, type Bucket, type GroupMod, type GroupType } from '../ofproto/groups.js';
import { Match, findPrereqProblem } from '../ofproto/match.js';
import { PORT_NAMES, TCP_FLAG_NAMES, fieldByName } from '../ofproto/names.js';
import { hex } from '../ofproto/print.js';

/** A syntax error in a flow, action or group string. */
export class FlowSyntaxError extends Error {
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
export function splitKeyValues(s: string): KeyValue[] {
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

function parseUint(tok: string, bits: number, what: string, allowMinusOne = false): bigint {
  const t = tok.trim();
  if (allowMinusOne && t === '-1') return (1n << BigInt(bits)) - 1n;
  let v: bigint;
  if (/^0x[0-9a-f]+$/i.test(t)) v = BigInt(t);
  else if (/^[0-9]+$/.test(t)) v = BigInt(t);
  else fail(`${what}: "${tok}" is not a number: write decimal (80) or hex (0x50)`);
  if (v >= 1n << BigInt(bits)) fail(`${what}: "${tok}" does not fit in ${bits} bits (max 0x${((1n << BigInt(bits)) - 1n).toString(16)})`);
  return v;
}

function num(tok: string, bits: number, what: string): number {
  return Number(parseUint(tok, bits, what));
}

/** An address in a field or action argument; a malformed one is refused naming `what`. */
function address<T>(parse: () => T, what: string): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof AddressError) fail(e.inField(what));
    throw e;
  }
}

function parseMacValue(tok: string, what: string): bigint {
  return address(() => bytesToBigint(parseMac(tok)), what);
}

function parseIpv4Value(tok: string, what: string): number {
  return address(() => parseIpv4(tok).readUInt32BE(0), what);
}

function parseIpv6Value(tok: string, what: string): bigint {
  return address(() => bytesToBigint(parseIpv6(tok)), what);
}

export function parsePort(tok: string, what = 'port'): number {
  const named = PORT_NAMES.find(([n]) => n === tok.toUpperCase());
  if (named) return named[1];
  if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(tok)) {
    fail(`${what}: "${tok}" is not an OpenFlow port: use a number (1-65279) or one of IN_PORT, TABLE, NORMAL, FLOOD, ALL, CONTROLLER, LOCAL`);
  }
  const v = num(tok, 16, what);
  if (v >= OFPP.MAX && !PORT_NAMES.some(([, p]) => p === v)) fail(`${what}: port ${v} is in the reserved range: use 1-65279 or a port name like LOCAL`);
  return v;
}

// ---------------------------------------------------------------------------------------------
// Match fields

type MatchKind = 'port' | 'mac' | 'ipv4' | 'ipv6' | 'u8' | 'u16' | 'u16m' | 'u32m' | 'u64m' | 'tcp_flags' | 'vlan' | 'pcp' | 'tos' | 'dscp' | 'ecn';

interface MatchFieldSyntax {
  field: FieldId;
  kind: MatchKind;
}

const MATCH_FIELDS: Readonly<Record<string, MatchFieldSyntax>> = {
  in_port: { field: 'in_port', kind: 'port' },
  dl_src: { field: 'dl_src', kind: 'mac' },
  dl_dst: { field: 'dl_dst', kind: 'mac' },
  eth_src: { field: 'dl_src', kind: 'mac' },
  eth_dst: { field: 'dl_dst', kind: 'mac' },
  dl_type: { field: 'dl_type', kind: 'u16' },
  eth_type: { field: 'dl_type', kind: 'u16' },
  dl_vlan: { field: 'vlan_tci', kind: 'vlan' },
  vlan_vid: { field: 'vlan_tci', kind: 'vlan' },
  dl_vlan_pcp: { field: 'vlan_tci', kind: 'pcp' },
  vlan_pcp: { field: 'vlan_tci', kind: 'pcp' },
  vlan_tci: { field: 'vlan_tci', kind: 'u16m' },
  nw_src: { field: 'nw_src', kind: 'ipv4' },
  nw_dst: { field: 'nw_dst', kind: 'ipv4' },
  ip_src: { field: 'nw_src', kind: 'ipv4' },
  ip_dst: { field: 'nw_dst', kind: 'ipv4' },
  arp_spa: { field: 'nw_src', kind: 'ipv4' },
  arp_tpa: { field: 'nw_dst', kind: 'ipv4' },
  ipv6_src: { field: 'ipv6_src', kind: 'ipv6' },
  ipv6_dst: { field: 'ipv6_dst', kind: 'ipv6' },
  nw_proto: { field: 'nw_proto', kind: 'u8' },
  ip_proto: { field: 'nw_proto', kind: 'u8' },
  arp_op: { field: 'nw_proto', kind: 'u8' },
  nw_tos: { field: 'nw_tos', kind: 'tos' },
  ip_dscp: { field: 'nw_tos', kind: 'dscp' },
  nw_ecn: { field: 'nw_tos', kind: 'ecn' },
  ip_ecn: { field: 'nw_tos', kind: 'ecn' },
  nw_ttl: { field: 'nw_ttl', kind: 'u8' },
  tp_src: { field: 'tp_src', kind: 'u16m' },
  tp_dst: { field: 'tp_dst', kind: 'u16m' },
  tcp_src: { field: 'tp_src', kind: 'u16m' },
  tcp_dst: { field: 'tp_dst', kind: 'u16m' },
  udp_src: { field: 'tp_src', kind: 'u16m' },
  udp_dst: { field: 'tp_dst', kind: 'u16m' },
  sctp_src: { field: 'tp_src', kind: 'u16m' },
  sctp_dst: { field: 'tp_dst', kind: 'u16m' },
  icmp_type: { field: 'tp_src', kind: 'u8' },
  icmp_code: { field: 'tp_dst', kind: 'u8' },
  icmpv6_type: { field: 'tp_src', kind: 'u8' },
  icmpv6_code: { field: 'tp_dst', kind: 'u8' },
  tcp_flags: { field: 'tcp_flags', kind: 'tcp_flags' },
  arp_sha: { field: 'arp_sha', kind: 'mac' },
  arp_tha: { field: 'arp_tha', kind: 'mac' },
  nd_sll: { field: 'arp_sha', kind: 'mac' },
  nd_tll: { field: 'arp_tha', kind: 'mac' },
  tun_id: { field: 'tun_id', kind: 'u64m' },
  tunnel_id: { field: 'tun_id', kind: 'u64m' },
  metadata: { field: 'metadata', kind: 'u64m' },
  ...Object.fromEntries([0, 1, 2, 3, 4, 5, 6, 7].map((i) => [`reg${i}`, { field: `reg${i}` as FieldId, kind: 'u32m' as const }])),
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

function parseTcpFlags(tok: string): [bigint, bigint] {
  if (/^[+-]/.test(tok)) {
    let v = 0n;
    let m = 0n;
    const re = /([+-])([a-z]+)/gy;
    let consumed = 0;
    for (let x = re.exec(tok); x; x = re.exec(tok)) {
      const bit = TCP_FLAG_NAMES.indexOf(x[2]!);
      if (bit < 0) fail(`tcp_flags: "${x[2]}" in "${tok}" is not a TCP flag: use ${TCP_FLAG_NAMES.join(', ')}`);
      const b = 1n << BigInt(bit);
      if (m & b) fail(`tcp_flags: "${x[2]}" appears twice in "${tok}"`);
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
    for (const name of tok.split('|')) {
      const bit = TCP_FLAG_NAMES.indexOf(name);
      if (bit < 0) fail(`tcp_flags: "${name}" in "${tok}" is not a TCP flag: use ${TCP_FLAG_NAMES.join(', ')}`);
      v |= 1n << BigInt(bit);
    }
    return [v, 0xfffn];
  }
  const [v, m] = splitMask(tok);
  return [parseUint(v, 12, 'tcp_flags'), m === undefined ? 0xfffn : parseUint(m, 12, 'tcp_flags mask')];
}

function splitMask(tok: string): [string, string | undefined] {
  const i = tok.indexOf('/');
  return i < 0 ? [tok, undefined] : [tok.slice(0, i), tok.slice(i + 1)];
}

function setMatchField(m: Match, name: string, syn: MatchFieldSyntax, value: string): void {
  const what = `${name}=${value}`;
  if (value === '') fail(`field ${name} missing value: write ${name}=VALUE`);
  const f = syn.field;
  const [v, mk] = splitMask(value);
  const noMask = () => {
    if (mk !== undefined) fail(`${value}: invalid mask for field ${name}: ${name} takes no mask`);
  };
  switch (syn.kind) {
    case 'port':
      noMask();
      m.set(f, parsePort(v, what));
      return;
    case 'mac':
      m.set(f, parseMacValue(v, name), mk === undefined ? fieldMax(f) : parseMacValue(mk, `${name} mask`));
      return;
    case 'ipv4': {
      const ip = parseIpv4Value(v, name);
      let mask = 0xffffffffn;
      if (mk !== undefined) {
        if (/^\d{1,2}$/.test(mk)) {
          const p = Number(mk);
          if (p > 32) fail(`${what}: prefix length /${mk} is more than 32`);
          mask = prefixMask(32, p);
        } else mask = BigInt(parseIpv4Value(mk, `${name} mask`));
      }
      m.set(f, BigInt(ip), mask);
      return;
    }
    case 'ipv6': {
      const ip = parseIpv6Value(v, name);
      let mask = fieldMax(f);
      if (mk !== undefined) {
        if (/^\d{1,3}$/.test(mk)) {
          const p = Number(mk);
          if (p > 128) fail(`${what}: prefix length /${mk} is more than 128`);
          mask = prefixMask(128, p);
        } else mask = parseIpv6Value(mk, `${name} mask`);
      }
      m.set(f, ip, mask);
      return;
    }
    case 'u8':
      noMask();
      m.set(f, parseUint(v, 8, what));
      return;
    case 'u16':
      noMask();
      m.set(f, parseUint(v, 16, what));
      return;
    case 'u16m':
    case 'u32m':
    case 'u64m': {
      const bits = syn.kind === 'u16m' ? 16 : syn.kind === 'u32m' ? 32 : 64;
      m.set(f, parseUint(v, bits, what), mk === undefined ? fieldMax(f) : parseUint(mk, bits, `${what} (mask)`, true));
      return;
    }
    case 'tcp_flags': {
      const [fv, fm] = parseTcpFlags(value);
      m.set(f, fv, fm);
      return;
    }
    case 'vlan': {
      noMask();
      const vid = num(v, 16, what);
      const { value: ov, mask: om } = m.field('vlan_tci');
      if (vid === 0xffff) {
        m.set('vlan_tci', 0n, 0xffffn);
        return;
      }
      if (vid > 0xfff) fail(`${what}: VLAN id must be 0-4095 (or 0xffff for "no VLAN")`);
      m.set('vlan_tci', (ov & ~0x0fffn) | BigInt(VLAN_CFI | vid), om | 0x1fffn);
      return;
    }
    case 'pcp': {
      noMask();
      const pcp = num(v, 8, what);
      if (pcp > 7) fail(`${what}: VLAN priority must be 0-7`);
      const { value: ov, mask: om } = m.field('vlan_tci');
      m.set('vlan_tci', (ov & ~0xe000n) | BigInt(VLAN_CFI | (pcp << 13)), om | 0xf000n);
      return;
    }
    case 'tos': {
      noMask();
      const tos = num(v, 8, what);
      if (tos & 3) fail(`${what}: the low two bits of the TOS byte are ECN: use a multiple of 4 (DSCP << 2), ip_dscp=${tos >> 2} or nw_ecn`);
      const { value: ov, mask: om } = m.field('nw_tos');
      m.set('nw_tos', (ov & 3n) | BigInt(tos), om | 0xfcn);
      return;
    }
    case 'dscp': {
      noMask();
      const d = num(v, 8, what);
      if (d > 63) fail(`${what}: DSCP must be 0-63`);
      const { value: ov, mask: om } = m.field('nw_tos');
      m.set('nw_tos', (ov & 3n) | BigInt(d << 2), om | 0xfcn);
      return;
    }
    case 'ecn': {
      noMask();
      const e = num(v, 8, what);
      if (e > 3) fail(`${what}: ECN must be 0-3`);
      const { value: ov, mask: om } = m.field('nw_tos');
      m.set('nw_tos', (ov & 0xfcn) | BigInt(e), om | 3n);
      return;
    }
  }
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
  const proto = PROTOCOLS[key];
  if (proto) {
    if (value !== '') fail(`"${key}=${value}": ${key} is a protocol shorthand and takes no value: write just "${key}"`);
    m.set('dl_type', proto[0]);
    if (proto[1] !== undefined) m.set('nw_proto', proto[1]);
    return true;
  }
  const syn = MATCH_FIELDS[key];
  if (!syn) return false;
  setMatchField(m, key, syn, value);
  return true;
}

function checkMatchPrereqs(m: Match, s: string): void {
  const p = findPrereqProblem(m);
  if (!p) return;
  fail(
    `${p.field}: prerequisites not met (OFPBMC_BAD_PREREQ): matching ${p.field} requires ${p.needs}; ` +
      `add a protocol to the match, e.g. "${p.fix},${s.replace(/^\s+/, '').split(/[ ,]actions?[=:]/)[0]}"`,
  );
}

function unknownKeyword(key: string): string {
  return `unknown keyword ${key}: expected a match field (in_port, dl_src, dl_type, nw_dst, tp_dst, reg0, ...), a protocol (ip, tcp, arp, ...) or a flow option (table, priority, cookie, idle_timeout, ...)`;
}

// ---------------------------------------------------------------------------------------------
// Actions

/** Parses `NXM_NX_REG0[0..15]`, `NXM_OF_ETH_SRC[]`, `reg0[3]`. */
export function parseSubfield(tok: string): Subfield {
  const m = /^([A-Za-z0-9_]+)\[(?:(\d+)(?:\.\.(\d+))?)?\]$/.exec(tok.trim());
  if (!m) fail(`"${tok}": expected a field with a bit range, like NXM_NX_REG0[] or NXM_NX_REG0[0..15]`);
  const f = fieldByName(m[1]!);
  if (!f) fail(`"${tok}": unknown field ${m[1]}: use an NXM name like NXM_NX_REG0, NXM_OF_ETH_SRC, NXM_OF_IP_DST, NXM_NX_TUN_ID`);
  if (m[2] === undefined) return { field: f.field, ofs: 0, nBits: f.bits };
  const lo = Number(m[2]);
  const hi = m[3] === undefined ? lo : Number(m[3]);
  if (hi < lo || hi >= f.bits) fail(`"${tok}": bits ${lo}..${hi} are outside ${m[1]} (0..${f.bits - 1})`);
  return { field: f.field, ofs: lo, nBits: hi - lo + 1 };
}

function parseFieldValue(f: FieldId, tok: string, what: string): bigint {
  switch (f) {
    case 'dl_src':
    case 'dl_dst':
    case 'arp_sha':
    case 'arp_tha':
      return parseMacValue(tok, what);
    case 'nw_src':
    case 'nw_dst':
      return BigInt(parseIpv4Value(tok, what));
    case 'ipv6_src':
    case 'ipv6_dst':
      return parseIpv6Value(tok, what);
    case 'in_port':
      return BigInt(parsePort(tok, what));
    default:
      return parseUint(tok, FIELDS[f].bits, what);
  }
}

function parseSetField(arg: string): Action {
  const i = arg.indexOf('->');
  if (i < 0) fail(`set_field:${arg}: missing "->": write set_field:VALUE->FIELD, e.g. set_field:10.0.0.1->ip_dst`);
  const valueStr = arg.slice(0, i);
  const name = arg.slice(i + 2);
  const what = `set_field:${arg}`;
  if (name === 'vlan_vid' || name === 'vlan_pcp' || name === 'ip_dscp') {
    const v = num(valueStr, 16, what);
    if (name === 'vlan_vid') {
      if (v > 0xfff) fail(`${what}: VLAN id must be 0-4095`);
      return { type: 'set_field', field: 'vlan_tci', value: BigInt(VLAN_CFI | v), mask: 0x1fffn };
    }
    if (name === 'vlan_pcp') {
      if (v > 7) fail(`${what}: VLAN priority must be 0-7`);
      return { type: 'set_field', field: 'vlan_tci', value: BigInt(v << 13), mask: 0xe000n };
    }
    if (v > 63) fail(`${what}: DSCP must be 0-63`);
    return { type: 'set_field', field: 'nw_tos', value: BigInt(v << 2), mask: 0xfcn };
  }
  const fn = fieldByName(name);
  if (!fn) fail(`${what}: unknown field "${name}": use a field name like eth_dst, ip_dst, tp_dst, reg0, metadata, tun_id, vlan_vid`);
  const [v, m] = splitMask(valueStr);
  const value = parseFieldValue(fn.field, v, what);
  const mask = m === undefined ? fieldMax(fn.field) : parseFieldValue(fn.field, m, `${what} (mask)`);
  return { type: 'set_field', field: fn.field, value: value & mask, mask };
}

const BARE_OUTPUT_PORTS = ['IN_PORT', 'TABLE', 'NORMAL', 'FLOOD', 'ALL', 'LOCAL'];

function parseAction(key: string, arg: string): Action {
  const lower = key.toLowerCase();
  const what = arg === '' ? key : `${key}:${arg}`;
  if (arg === '' && /^(0x[0-9a-f]+|[0-9]+)$/i.test(key)) return { type: 'output', port: parsePort(key, what), maxLen: 0 };
  if (arg === '' && BARE_OUTPUT_PORTS.includes(key.toUpperCase())) return { type: 'output', port: parsePort(key), maxLen: 0 };
  switch (lower) {
    case 'output': {
      if (arg === '') fail('output: missing port: write output:PORT, e.g. output:2');
      const port = parsePort(arg, what);
      return { type: 'output', port, maxLen: port === OFPP.CONTROLLER ? 0xffff : 0 };
    }
    case 'controller': {
      let maxLen = 0xffff;
      if (/^\d+$/.test(arg)) maxLen = num(arg, 16, what);
      else if (arg !== '') {
        for (const kv of splitKeyValues(arg)) {
          if (kv.key === 'max_len') maxLen = num(kv.value, 16, `controller(max_len=${kv.value})`);
          else fail(`controller(${arg}): unknown key "${kv.key}" parsing controller action: supported is max_len=N`);
        }
      }
      return { type: 'output', port: OFPP.CONTROLLER, maxLen };
    }
    case 'mod_vlan_vid':
    case 'set_vlan_vid': {
      const vid = num(arg, 16, what);
      if (vid > 0xfff) fail(`${what}: VLAN id must be 0-4095`);
      return { type: 'set_vlan_vid', vid, push: lower === 'mod_vlan_vid' };
    }
    case 'mod_vlan_pcp':
    case 'set_vlan_pcp': {
      const pcp = num(arg, 8, what);
      if (pcp > 7) fail(`${what}: VLAN priority must be 0-7`);
      return { type: 'set_vlan_pcp', pcp, push: lower === 'mod_vlan_pcp' };
    }
    case 'strip_vlan':
    case 'pop_vlan':
      return { type: 'strip_vlan', raw: lower };
    case 'push_vlan': {
      const et = num(arg, 16, what);
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
      const tos = num(arg, 8, what);
      if (tos & 3) fail(`${what}: ${arg}: not a valid TOS: the low two bits are ECN, use a multiple of 4`);
      return { type: 'set_ip_dscp', tos };
    }
    case 'mod_tp_src':
      return { type: 'set_l4_src_port', port: num(arg, 16, what) };
    case 'mod_tp_dst':
      return { type: 'set_l4_dst_port', port: num(arg, 16, what) };
    case 'dec_ttl':
      if (arg !== '') fail(`dec_ttl(${arg}): controller ids for dec_ttl are not supported: write dec_ttl`);
      return { type: 'dec_ttl' };
    case 'set_field':
      return parseSetField(arg);
    case 'load': {
      const i = arg.indexOf('->');
      if (i < 0) fail(`load:${arg}: missing "->": write load:VALUE->FIELD[bits], e.g. load:0x5->NXM_NX_REG0[0..15]`);
      const dst = parseSubfield(arg.slice(i + 2));
      const value = parseUint(arg.slice(0, i), 128, what);
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
      if (parts.length === 1) return { type: 'resubmit', inPort: parsePort(parts[0]!, what), table: 255 };
      if (parts.length > 2) fail(`resubmit(${arg}): too many arguments: write resubmit(PORT,TABLE)`);
      const inPort = parts[0] ? parsePort(parts[0], `resubmit(${arg})`) : OFPP.IN_PORT;
      const table = parts[1] ? num(parts[1], 8, `resubmit(${arg})`) : 255;
      if (inPort === OFPP.IN_PORT && table === 255) fail(`resubmit(${arg}): at least one "in_port" or "table" must be specified on resubmit`);
      return { type: 'resubmit', inPort, table };
    }
    case 'set_tunnel':
    case 'set_tunnel64': {
      const tunId = parseUint(arg, 64, what);
      return { type: 'set_tunnel', tunId, is64: lower === 'set_tunnel64' || tunId > 0xffffffffn };
    }
    case 'group':
      return { type: 'group', groupId: num(arg, 32, what) };
    default:
      return fail(`unknown action ${key}: supported are output, NORMAL, FLOOD, ALL, LOCAL, IN_PORT, CONTROLLER, drop, mod_vlan_vid, mod_vlan_pcp, strip_vlan, push_vlan, pop_vlan, mod_dl_src, mod_dl_dst, mod_nw_src, mod_nw_dst, mod_nw_tos, mod_tp_src, mod_tp_dst, dec_ttl, set_field, load, move, resubmit, set_tunnel, group, and the instructions clear_actions, write_actions, write_metadata, goto_table`);
  }
}

const INSTRUCTION_ORDER = ['apply_actions', 'clear_actions', 'write_actions', 'write_metadata', 'goto_table'] as const;

/** Parses the text after `actions=`. */
export function parseActions(s: string): Instructions {
  const ins: Instructions = { apply: [], clearActions: false };
  let last = -1;
  let sawDrop = false;
  let any = false;
  const step = (name: (typeof INSTRUCTION_ORDER)[number], tok: string) => {
    const idx = INSTRUCTION_ORDER.indexOf(name);
    if (idx < last || (idx === last && name !== 'apply_actions')) {
      fail(`"${tok}": instruction ${name} may not follow instruction ${INSTRUCTION_ORDER[last]}: order them apply actions, clear_actions, write_actions, write_metadata, goto_table`);
    }
    last = idx;
    any = true;
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
      ins.writeMetadata = { value: parseUint(v, 64, tok), mask: m === undefined ? fieldMax('metadata') : parseUint(m, 64, tok, true) };
    } else if (lower === 'goto_table') {
      step('goto_table', tok);
      const t = num(value, 8, tok);
      if (t > 254) fail(`${tok}: unknown table "${value}": tables are 0-254`);
      ins.gotoTable = t;
    } else {
      step('apply_actions', tok);
      ins.apply.push(parseAction(key, value));
    }
  }
  if (sawDrop && any) fail(`"${s}": "drop" must not be accompanied by any other action or instruction: remove drop, or the other actions`);
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
    if (applyMatchToken(match, key, value)) continue;
    const flag = ({ send_flow_rem: 'sendFlowRem', check_overlap: 'checkOverlap', reset_counts: 'resetCounts', no_packet_counts: 'noPacketCounts', no_byte_counts: 'noByteCounts' } as const)[key as 'send_flow_rem'];
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
        fm.tableId = value.toUpperCase() === 'ALL' ? OFPTT_ALL : num(value, 8, tok);
        if (isAdd && fm.tableId === OFPTT_ALL) fail(`${tok}: add-flow needs one table: use table=0..254`);
        break;
      case 'priority':
        if (isDel && command !== 'delete_strict') fail(`${tok}: priority only selects rules in a strict delete: use del-flows --strict, or drop priority`);
        fm.priority = num(value, 16, tok);
        break;
      case 'idle_timeout':
      case 'hard_timeout':
      case 'importance':
        if (isDel) fail(`${tok}: ${key} is not allowed in del-flows`);
        if (key === 'importance' && !isAdd) fail(`${tok}: importance can only be set when adding a flow`);
        fm[key === 'idle_timeout' ? 'idleTimeout' : key === 'hard_timeout' ? 'hardTimeout' : 'importance'] = num(value, 16, tok);
        break;
      case 'out_port':
        if (!isDel) fail(`${tok}: out_port only filters del-flows (and dump-flows)`);
        fm.outPort = parsePort(value, tok);
        break;
      case 'out_group':
        if (!isDel) fail(`${tok}: out_group only filters del-flows (and dump-flows)`);
        fm.outGroup = value.toUpperCase() === 'ANY' ? OFPG.ANY : num(value, 32, tok);
        break;
      case 'cookie': {
        const [v, m] = splitMask(value);
        if (m !== undefined) {
          if (isAdd) fail(`${tok}: flow additions cannot use a cookie mask: write cookie=${v}`);
          fm.cookie = parseUint(v, 64, tok);
          fm.cookieMask = parseUint(m, 64, tok, true);
        } else {
          if (isDel) fail(`${tok}: cannot set cookie (to match on a cookie, specify a mask, e.g. cookie=${v}/-1)`);
          fm.cookie = parseUint(v, 64, tok);
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

/** Parses an ovs-ofctl flow in add-flow syntax (shorthand for parseFlowMod(s, 'add')). */
export function parseFlow(s: string): FlowMod {
  return parseFlowMod(s, 'add');
}

// ---------------------------------------------------------------------------------------------
// Groups

function parseBucket(text: string, type: GroupType, what: string): Bucket {
  const b = makeBucket([], {});
  const actionParts: string[] = [];
  const kvs = splitKeyValues(text);
  for (let i = 0; i < kvs.length; i++) {
    const { key, value } = kvs[i]!;
    if (key === 'weight') b.weight = num(value, 16, `${what}: weight:${value}`);
    else if (key === 'watch_port') b.watchPort = parsePort(value, `${what}: watch_port:${value}`);
    else if (key === 'watch_group') b.watchGroup = num(value, 32, `${what}: watch_group:${value}`);
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
    if (key === 'group_id') groupId = value.toUpperCase() === 'ALL' ? OFPG.ALL : num(value, 32, `group_id=${value}`);
    else if (key === 'type') {
      if (!['all', 'select', 'indirect', 'ff', 'fast_failover'].includes(value)) fail(`type=${value}: unknown group type: use all, select, indirect or ff`);
      type = (value === 'fast_failover' ? 'ff' : value) as GroupType;
    } else fail(`unknown keyword ${key} in group "${s}": a group has group_id=, type= and bucket=...`);
  }
  if (groupId === undefined) fail(`"${s}": must specify a group_id, e.g. group_id=1,type=all,bucket=output:1`);
  if (command === 'delete') return { command, groupId, type: type ?? 'all', buckets: [] };
  if (type === undefined) fail(`"${s}": must specify a type: add type=all, select, indirect or ff`);
  const buckets = pieces.slice(1).map((p, i) => parseBucket(p, type, `bucket ${i + 1}`));
  return { command, groupId, type, buckets };
}
