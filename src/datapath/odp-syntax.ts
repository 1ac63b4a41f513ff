// OVS datapath flow syntax, as `ovs-appctl dpctl/dump-flows` prints it for the
// userspace datapath, parsed into keys/masks/actions and printed back:
//   recirc_id(0),in_port(1),eth(src=..,dst=..),eth_type(0x0800),ipv4(src=..,frag=no),
//   tcp(dst=80), packets:3, bytes:294, used:0.400s, flags:S., actions:2

import { type Action, type GeneveOption, SAMPLE_ALWAYS, type SetFieldValue, type SetProto, type TunnelSet } from './actions.js';
import { decodeSflowCookie, encodeSflowCookie } from './userdata.js';
import { AddressError, formatIpv4, formatIpv6, formatMac, parseIpv4, parseIpv6, parseMac } from '../lib/addr.js';
import { hex, parseFieldUint, parseUintText } from '../lib/uint.js';
import { type FieldName, type FieldValue, type FlowKey, type FlowMask, FRAG, TCI_PRESENT, TUNNEL_FLAGS, fieldKind, fullValue } from './flow-key.js';
import { own } from '../lib/own.js';

export class OdpSyntaxError extends Error {
  constructor(message: string, readonly column: number) {
    super(message);
    this.name = 'OdpSyntaxError';
  }
}

/** A datapath flow match: key and mask, plus the attributes our key does not hold. */
export interface DpMatch {
  key: FlowKey;
  mask: FlowMask;
  /** `packet_type(ns=0,id=0)` was shown (the userspace datapath prints it). */
  packetType?: boolean;
}

export interface DpFlowStats {
  packets: number;
  bytes: number;
  /** Seconds since last use, or null for `used:never`. */
  used: number | null;
  /** TCP flags seen, as OVS prints them ("S.", "F.", ...), if any. */
  flags?: string;
}

export interface DpFlow {
  match: DpMatch;
  stats?: DpFlowStats;
  actions: Action[];
}

// ---------------------------------------------------------------- tokens

interface Node {
  name: string; // identifier or bare value
  value?: string; // after '='
  args?: Node[]; // inside (...)
  col: number;
}

class Reader {
  pos = 0;
  constructor(readonly s: string) {}
  peek(): string {
    return this.s[this.pos] ?? '';
  }
  fail(expected: string): never {
    const rest = this.s.slice(this.pos);
    const tok = rest === '' ? 'end of line' : `"${/^[^,()= ]*/.exec(rest)![0] || rest[0]!}"`;
    throw new OdpSyntaxError(`unexpected ${tok} at column ${this.pos + 1}: expected ${expected}`, this.pos + 1);
  }
  eat(c: string, expected: string): void {
    if (this.s.startsWith(c, this.pos)) this.pos += c.length;
    else this.fail(expected);
  }
  /** item := word [ '=' word ] [ '(' items ')' ]   (a value may itself be followed by (...)) */
  item(): Node {
    const col = this.pos + 1;
    const name = this.word();
    if (name === '' && this.peek() !== '(') this.fail('a name or value');
    const n: Node = { name, col };
    if (this.peek() === '=') {
      this.pos++;
      n.value = this.word();
    }
    if (this.peek() === '(') {
      this.pos++;
      n.args = this.items(')');
      this.eat(')', `")" to close "${name}("`);
    }
    return n;
  }
  items(close: string): Node[] {
    const out: Node[] = [];
    if (this.peek() === close) return out;
    for (;;) {
      out.push(this.item());
      if (this.peek() !== ',' || this.s.startsWith(', ', this.pos)) return out;
      this.pos++;
    }
  }
  word(): string {
    const m = /^[^,()=\s]*/.exec(this.s.slice(this.pos))![0];
    this.pos += m.length;
    return m;
  }
}

function render(n: Node): string {
  let s = n.name;
  if (n.value !== undefined) s += `=${n.value}`;
  if (n.args) s += `(${n.args.map(render).join(',')})`;
  return s;
}

function err(n: Node, msg: string): never {
  throw new OdpSyntaxError(`${msg} (at column ${n.col})`, n.col);
}

// ---------------------------------------------------------------- numbers and addresses

/**
 * Every number the syntax reads, by where it is written, and how many bits it may have. A value
 * or mask wider than its field is refused, naming the field (OVS would cut it down to size).
 * Key fields are ATTR(FIELD) as dump-flows prints them; set() actions share their entries.
 */
export const FIELD_BITS: Readonly<Record<string, number>> = {
  in_port: 32,
  recirc_id: 32,
  'tunnel(tun_id)': 64,
  'tunnel(tos)': 8,
  'tunnel(ttl)': 8,
  'tunnel(tp_src)': 16,
  'tunnel(tp_dst)': 16,
  'geneve(class)': 16,
  'geneve(type)': 8,
  'geneve(len)': 8,
  eth_type: 16,
  'vlan(vid)': 12,
  'vlan(pcp)': 3,
  'ipv4(proto)': 8,
  'ipv4(tos)': 8,
  'ipv4(ttl)': 8,
  'ipv6(label)': 20,
  'ipv6(proto)': 8,
  'ipv6(tclass)': 8,
  'ipv6(hlimit)': 8,
  'tcp(src)': 16,
  'tcp(dst)': 16,
  'udp(src)': 16,
  'udp(dst)': 16,
  'sctp(src)': 16,
  'sctp(dst)': 16,
  'icmp(type)': 8,
  'icmp(code)': 8,
  'icmpv6(type)': 8,
  'icmpv6(code)': 8,
  'arp(op)': 16,
  'nd_ext(nd_reserved)': 32,
  'nd_ext(nd_options_type)': 8,
  output: 32,
  'push_vlan(tpid)': 16,
  'push_vlan(vid)': 12,
  'push_vlan(pcp)': 3,
  'userspace(pid)': 32,
  meter: 32,
};

/** A key field as the syntax writes it: "ipv4(tos)" for ipv4.tos, "in_port" for in_port. */
function syntaxName(name: FieldName): string {
  const dot = name.indexOf('.');
  return dot < 0 ? name : `${name.slice(0, dot)}(${name.slice(dot + 1)})`;
}

/**
 * The number written at `field` (a key of FIELD_BITS), as the value or the mask of the token the
 * user wrote (`written`, which the refusal quotes).
 */
function uint(n: Node, text: string | undefined, field: string, part: 'value' | 'mask' = 'value', written = text): bigint {
  if (text === undefined || text === '') err(n, `${field} needs a number`);
  const bits = FIELD_BITS[field];
  if (bits === undefined) throw new Error(`odp-syntax: FIELD_BITS has no width for ${field}`);
  return parseFieldUint(text, bits, field, (msg) => err(n, msg), part, written);
}

/** As uint, for fields of at most 32 bits. */
function num(n: Node, text: string | undefined, field: string, part: 'value' | 'mask' = 'value', written = text): number {
  return Number(uint(n, text, field, part, written));
}

/** An address written at `field`, refused naming the field. */
function address(n: Node, parse: (text: string) => Buffer, text: string, field: string): Buffer {
  try {
    return parse(text);
  } catch (e) {
    if (e instanceof AddressError) err(n, e.inField(field));
    throw e;
  }
}

/** value[/mask] of a field, parsed into the key and mask. */
function setField(n: Node, m: DpMatch, name: FieldName, text: string | undefined): void {
  const field = syntaxName(name);
  if (text === undefined) err(n, `"${n.name}" needs a value, e.g. ${n.name}=...`);
  const [v, mk] = text.split('/') as [string, string | undefined];
  const kind = fieldKind(name);
  const parse = (t: string, part: 'value' | 'mask'): FieldValue => {
    if (kind === 'mac') return formatMac(address(n, parseMac, t, field));
    if (kind === 'ipv4') return formatIpv4(address(n, parseIpv4, t, field));
    if (kind === 'ipv6') return formatIpv6(address(n, parseIpv6, t, field));
    const value = uint(n, t, field, part, text);
    return kind === 'u64' ? value : Number(value);
  };
  m.key[name] = parse(v, 'value');
  m.mask[name] = mk === undefined ? fullValue(name) : parse(mk, 'mask');
}

function isZero(v: FieldValue | undefined): boolean {
  if (v === undefined) return true;
  if (typeof v === 'string') return !/[1-9a-fA-F]/.test(v.replace(/^::$/, ''));
  return v == 0;
}

function isFull(name: FieldName, v: FieldValue | undefined): boolean {
  return v !== undefined && String(v) === String(fullValue(name));
}

// ---------------------------------------------------------------- keys

/** The fields of each key attribute: name inside ATTR(...), key field, and how it prints. */
export const ATTR_FIELDS: Readonly<Record<string, readonly [string, FieldName, 'dec' | 'hex' | 'addr'][]>> = {
  eth: [['src', 'eth.src', 'addr'], ['dst', 'eth.dst', 'addr']],
  ipv4: [['src', 'ipv4.src', 'addr'], ['dst', 'ipv4.dst', 'addr'], ['proto', 'ipv4.proto', 'dec'], ['tos', 'ipv4.tos', 'hex'], ['ttl', 'ipv4.ttl', 'dec']],
  ipv6: [['src', 'ipv6.src', 'addr'], ['dst', 'ipv6.dst', 'addr'], ['label', 'ipv6.label', 'hex'], ['proto', 'ipv6.proto', 'dec'], ['tclass', 'ipv6.tclass', 'hex'], ['hlimit', 'ipv6.hlimit', 'dec']],
  tcp: [['src', 'tcp.src', 'dec'], ['dst', 'tcp.dst', 'dec']],
  udp: [['src', 'udp.src', 'dec'], ['dst', 'udp.dst', 'dec']],
  sctp: [['src', 'sctp.src', 'dec'], ['dst', 'sctp.dst', 'dec']],
  icmp: [['type', 'icmp.type', 'dec'], ['code', 'icmp.code', 'dec']],
  icmpv6: [['type', 'icmpv6.type', 'dec'], ['code', 'icmpv6.code', 'dec']],
  arp: [['sip', 'arp.sip', 'addr'], ['tip', 'arp.tip', 'addr'], ['op', 'arp.op', 'dec'], ['sha', 'arp.sha', 'addr'], ['tha', 'arp.tha', 'addr']],
  nd: [['target', 'nd.target', 'addr'], ['sll', 'nd.sll', 'addr'], ['tll', 'nd.tll', 'addr']],
  nd_ext: [['nd_reserved', 'nd_ext.nd_reserved', 'hex'], ['nd_options_type', 'nd_ext.nd_options_type', 'dec']],
  tunnel: [['tun_id', 'tunnel.tun_id', 'hex'], ['src', 'tunnel.src', 'addr'], ['dst', 'tunnel.dst', 'addr'], ['tos', 'tunnel.tos', 'hex'], ['ttl', 'tunnel.ttl', 'dec'], ['tp_src', 'tunnel.tp_src', 'dec'], ['tp_dst', 'tunnel.tp_dst', 'dec']],
};

const TCP_FLAG_NAMES: [number, string][] = [[0x001, 'fin'], [0x002, 'syn'], [0x004, 'rst'], [0x008, 'psh'], [0x010, 'ack'], [0x020, 'urg'], [0x040, 'ece'], [0x080, 'cwr'], [0x100, 'ns'], [0x200, '[200]'], [0x400, '[400]'], [0x800, '[800]']];

function fmtField(a: string, name: FieldName, style: 'dec' | 'hex' | 'addr', key: FlowKey, mask: FlowMask): string | null {
  const m = mask[name];
  if (isZero(m)) return null;
  const v = key[name] ?? (fieldKind(name) === 'ipv4' ? '0.0.0.0' : fieldKind(name) === 'mac' ? '00:00:00:00:00:00' : fieldKind(name) === 'ipv6' ? '::' : 0);
  const full = isFull(name, m) || (name === 'ipv6.label' && (Number(m) & 0xfffff) === 0xfffff);
  const show = (x: FieldValue) => (style === 'hex' ? (typeof x === 'bigint' ? `0x${x.toString(16)}` : hex(Number(x))) : String(x));
  if (full) return `${a}=${show(v)}`;
  if (style === 'addr') return `${a}=${show(v)}/${String(m)}`;
  if (name === 'tunnel.tun_id') return `${a}=${show(v)}/${show(m!)}`;
  return `${a}=${show(v)}/${hex(Number(m))}`;
}

function fmtAttr(attr: string, key: FlowKey, mask: FlowMask, extra: string[] = []): string | null {
  const parts = ATTR_FIELDS[attr]!.map(([a, n, s]) => fmtField(a, n, s, key, mask)).filter((x): x is string => x !== null);
  parts.push(...extra);
  return parts.length ? `${attr}(${parts.join(',')})` : null;
}

function fmtVlan(tci: number, mask: number): string {
  const out: string[] = [];
  const vid = tci & 0xfff;
  const vm = mask & 0xfff;
  if (vid || vm) out.push(`vid=${vid}${vm !== 0xfff ? `/0x${vm.toString(16)}` : ''}`);
  const pcp = tci >> 13;
  const pm = mask >> 13;
  if (pcp || pm) out.push(`pcp=${pcp}${pm !== 7 ? `/0x${pm.toString(16)}` : ''}`);
  return out.join(',');
}

const FRAG_NAMES = ['no', 'first', 'later'];

function fmtL3(key: FlowKey, mask: FlowMask): string[] {
  const out: string[] = [];
  const et = Number(key.eth_type ?? 0);
  const em = Number(mask.eth_type ?? 0);
  if (em) out.push(`eth_type(0x${et.toString(16).padStart(4, '0')}${em !== 0xffff ? `/0x${em.toString(16).padStart(4, '0')}` : ''})`);
  const frag = (name: FieldName) => (isZero(mask[name]) ? [] : [`frag=${FRAG_NAMES[Number(key[name] ?? 0)] ?? 'no'}`]);
  let l4: string | null = null;
  if (et === 0x0800) {
    const a = fmtAttr('ipv4', key, mask, frag('ipv4.frag'));
    if (a) out.push(a);
    l4 = ['tcp', 'udp', 'sctp', 'icmp'][[6, 17, 132, 1].indexOf(Number(key['ipv4.proto'] ?? 0))] ?? null;
  } else if (et === 0x86dd) {
    const a = fmtAttr('ipv6', key, mask, frag('ipv6.frag'));
    if (a) out.push(a);
    l4 = ['tcp', 'udp', 'sctp', 'icmpv6'][[6, 17, 132, 58].indexOf(Number(key['ipv6.proto'] ?? 0))] ?? null;
  } else if (et === 0x0806 || et === 0x8035) {
    const a = fmtAttr('arp', key, mask);
    if (a) out.push(a);
  }
  if (l4) {
    // Ports live in shared bytes: read them under whichever alias was used.
    const k: FlowKey = { ...key };
    const m: FlowMask = { ...mask };
    for (const p of ['src', 'dst']) {
      for (const alias of ['tcp', 'udp', 'sctp']) {
        const n = `${alias}.${p}` as FieldName;
        const t = `${l4}.${p}` as FieldName;
        if (key[n] !== undefined) k[t] = key[n];
        if (mask[n] !== undefined) m[t] = mask[n];
      }
    }
    const a = fmtAttr(l4, k, m);
    if (a) out.push(a);
    if (l4 === 'tcp' && !isZero(mask.tcp_flags)) out.push(`tcp_flags(${fmtTcpFlags(Number(key.tcp_flags ?? 0), Number(mask.tcp_flags))})`);
    if (l4 === 'icmpv6') {
      const nd = fmtAttr('nd', key, mask);
      if (nd) out.push(nd);
      const ext = fmtNdExt(key, mask);
      if (ext) out.push(ext);
    }
  }
  return out;
}

/** nd_reserved as OVS prints it in nd_ext(...): "0x%x", so zero is "0x0". */
function ndReserved(v: FieldValue | undefined): string {
  return `0x${Number(v ?? 0).toString(16)}`;
}

/**
 * nd_ext(...) as OVS prints it: nd_reserved whenever the attribute is shown (OVS formats it as if
 * fully masked), nd_options_type only when it is matched.
 */
function fmtNdExt(key: FlowKey, mask: FlowMask): string | null {
  if (isZero(mask['nd_ext.nd_reserved']) && isZero(mask['nd_ext.nd_options_type'])) return null;
  const parts = [`nd_reserved=${ndReserved(key['nd_ext.nd_reserved'])}`];
  const type = fmtField('nd_options_type', 'nd_ext.nd_options_type', 'dec', key, mask);
  if (type) parts.push(type);
  return `nd_ext(${parts.join(',')})`;
}

function fmtTcpFlags(flags: number, mask: number): string {
  if ((mask & 0xfff) === 0xfff) {
    const names = TCP_FLAG_NAMES.filter(([b]) => flags & b).map(([, s]) => s);
    return names.length ? names.join('|') : '0';
  }
  return TCP_FLAG_NAMES.filter(([b]) => mask & b).map(([b, s]) => `${flags & b ? '+' : '-'}${s}`).join('');
}

const TUNNEL_FLAG_NAMES = Object.entries(TUNNEL_FLAGS).map(([name, bit]) => [bit, name] as const);
const ALL_TUNNEL_FLAGS = 0xf;

/** flags(df|key) when every flag is matched (or set), flags(-df-csum+key) for a partial mask, as OVS. */
function fmtTunnelFlags(flags: number, mask: number): string {
  if ((mask & ALL_TUNNEL_FLAGS) === ALL_TUNNEL_FLAGS) {
    const names = TUNNEL_FLAG_NAMES.filter(([b]) => flags & b).map(([, s]) => s);
    return `flags(${names.length ? names.join('|') : '0'})`;
  }
  return `flags(${TUNNEL_FLAG_NAMES.filter(([b]) => mask & b).map(([b, s]) => `${flags & b ? '+' : '-'}${s}`).join('')})`;
}

/** The inside of flags(...): "df|key" or "0" (every flag matched), "-df-csum+key" or "0/0". */
function parseTunnelFlags(n: Node): { flags: number; mask: number } {
  const t = (n.args ?? []).map(render).join(',');
  const bit = (name: string) => TUNNEL_FLAG_NAMES.find(([, s]) => s === name)?.[0] ?? err(n, `unknown tunnel flag "${name}": expected df, csum, key or oam`);
  if (t === '0/0') return { flags: 0, mask: 0 };
  if (/^[+-]/.test(t)) {
    let flags = 0;
    let mask = 0;
    for (const [, sign, name] of t.matchAll(/([+-])([a-z]+)/g)) {
      mask |= bit(name!);
      if (sign === '+') flags |= bit(name!);
    }
    return { flags, mask };
  }
  let flags = 0;
  if (t !== '0' && t !== '') for (const name of t.split('|')) flags |= bit(name);
  return { flags, mask: ALL_TUNNEL_FLAGS };
}

const GENEVE_KEY: FieldName[] = ['tunnel.geneve.class', 'tunnel.geneve.type', 'tunnel.geneve.len', 'tunnel.geneve.data'];

/** The key's Geneve option as geneve({class=..,type=..,len=..,DATA[/MASK]}), if matched. */
function fmtKeyGeneve(key: FlowKey, mask: FlowMask): string[] {
  if (GENEVE_KEY.every((f) => isZero(mask[f]))) return [];
  const len = Number(key['tunnel.geneve.len'] ?? 0);
  const data = BigInt(key['tunnel.geneve.data'] ?? 0n);
  const dataMask = BigInt(mask['tunnel.geneve.data'] ?? 0n);
  const full = len ? (1n << BigInt(8 * len)) - 1n : 0n;
  const shown = dataMask === 0n ? '' : `,${hex(data)}${(dataMask & full) === full ? '' : `/${hex(dataMask)}`}`;
  return [`geneve({class=${hex(Number(key['tunnel.geneve.class'] ?? 0))},type=${hex(Number(key['tunnel.geneve.type'] ?? 0))},len=${len}${shown}})`];
}

/** geneve(...) of a key into its fields: the datapath matches one option of at most 8 bytes of data. */
function parseKeyGeneve(n: Node, m: DpMatch): void {
  const text = (n.args ?? []).map(render).join(',');
  const opts = parseGeneve(n, true);
  if (opts.length !== 1 || opts[0]!.data.length > 8) err(n, `the datapath matches one Geneve option with at most 8 bytes of data, not "${text}"`);
  const o = opts[0]!;
  const dataMask = /\/([^}]*)\}/.exec(text)?.[1];
  const put = (f: FieldName, v: FieldValue, mk: FieldValue) => {
    m.key[f] = v;
    m.mask[f] = mk;
  };
  put('tunnel.geneve.class', o.optClass, 0xffff);
  put('tunnel.geneve.type', o.type, 0xff);
  put('tunnel.geneve.len', o.data.length, 0xff);
  const data = o.data.length ? BigInt(`0x${o.data.toString('hex')}`) : 0n;
  const dataGiven = text.split(',').length > 3;
  const full = (1n << BigInt(8 * o.data.length)) - 1n;
  const mask = dataMask !== undefined ? (parseUintText(dataMask) ?? err(n, `geneve option: mask "${dataMask}" is not a number`)) & full : dataGiven ? full : 0n;
  put('tunnel.geneve.data', data & mask, mask);
}

/** Print a match the way dpctl/dump-flows does. */
function formatMatch(m: DpMatch): string {
  const { key, mask } = m;
  const out: string[] = [];
  if (!isZero(mask.recirc_id)) out.push(`recirc_id(${hex(Number(key.recirc_id ?? 0))}${isFull('recirc_id', mask.recirc_id) ? '' : `/${hex(Number(mask.recirc_id))}`})`);
  const tunFlags = isZero(mask['tunnel.flags']) ? [] : [fmtTunnelFlags(Number(key['tunnel.flags'] ?? 0), Number(mask['tunnel.flags']))];
  const tun = fmtAttr('tunnel', key, mask, [...fmtKeyGeneve(key, mask), ...tunFlags]);
  if (tun) out.push(tun);
  if (!isZero(mask.in_port)) out.push(isFull('in_port', mask.in_port) ? `in_port(${Number(key.in_port ?? 0)})` : `in_port(${Number(key.in_port ?? 0)}/${hex(Number(mask.in_port))})`);
  if (m.packetType) out.push('packet_type(ns=0,id=0)');
  const eth = fmtAttr('eth', key, mask);
  if (eth) out.push(eth);
  else if (!m.packetType) out.push('eth()');
  const vlans: [FieldName, FieldName][] = [['vlan.tpid', 'vlan.tci'], ['cvlan.tpid', 'cvlan.tci']];
  let tail = fmtL3(key, mask).join(',');
  // Only tags the frame has are printed; "no tag" is implied by the EtherType, as OVS prints it.
  const tagged = vlans.filter(([, tci]) => Number(key[tci] ?? 0) & TCI_PRESENT);
  for (const [tpid, tci] of tagged.reverse()) {
    const t = Number(key[tpid] ?? 0x8100);
    tail = `eth_type(0x${t.toString(16)}),vlan(${fmtVlan(Number(key[tci] ?? 0), Number(mask[tci] ?? 0))}),encap(${tail})`;
  }
  if (tail) out.push(tail);
  return out.join(',');
}

function parseMatchNodes(nodes: Node[], m: DpMatch, depth: number): void {
  for (const n of nodes) {
    const args = n.args ?? err(n, `"${n.name}" needs (...) after it`);
    const single = () => {
      if (args.length !== 1 || args[0]!.value !== undefined) err(n, `${n.name}(...) takes one value`);
      return args[0]!.name;
    };
    switch (n.name) {
      case 'recirc_id':
      case 'in_port':
        setField(n, m, n.name, single());
        break;
      case 'dp_hash':
      case 'skb_priority':
      case 'skb_mark':
        break; // not part of our key; accepted and dropped
      case 'packet_type':
        m.packetType = true;
        break;
      case 'eth_type': {
        const t = single();
        const et = num(n, t.split('/')[0], 'eth_type', 'value', t);
        if (et === 0x8100 || et === 0x88a8) {
          const name: FieldName = depth === 0 ? 'vlan.tpid' : 'cvlan.tpid';
          m.key[name] = et;
          m.mask[name] = 0xffff;
        } else {
          setField(n, m, 'eth_type', t);
          // As in OVS, an EtherType outside any vlan() means "no (further)
          // tag": our key keeps the type after the tags, so say so in the TCI.
          const tciName: FieldName = depth === 0 ? 'vlan.tci' : 'cvlan.tci';
          if (m.mask[tciName] === undefined) {
            m.key[tciName] = 0;
            m.mask[tciName] = 0xffff;
          }
        }
        break;
      }
      case 'vlan': {
        const tciName: FieldName = depth === 0 ? 'vlan.tci' : 'cvlan.tci';
        let tci = TCI_PRESENT;
        let mask = TCI_PRESENT;
        for (const a of args) {
          const [v, mk] = (a.value ?? '').split('/') as [string, string | undefined];
          if (a.name === 'vid') {
            tci |= num(a, v, 'vlan(vid)', 'value', a.value);
            mask |= mk === undefined ? 0xfff : num(a, mk, 'vlan(vid)', 'mask', a.value);
          } else if (a.name === 'pcp') {
            tci |= num(a, v, 'vlan(pcp)', 'value', a.value) << 13;
            mask |= (mk === undefined ? 7 : num(a, mk, 'vlan(pcp)', 'mask', a.value)) << 13;
          } else if (a.name === 'cfi' && a.value === '0') tci &= ~TCI_PRESENT;
          else err(a, `unknown vlan field "${a.name}": expected vid=, pcp= or cfi=`);
        }
        m.key[tciName] = tci;
        m.mask[tciName] = mask;
        break;
      }
      case 'encap':
        parseMatchNodes(args, m, depth + 1);
        break;
      case 'tunnel': {
        for (const a of args) {
          const f = ATTR_FIELDS.tunnel!.find(([x]) => x === a.name);
          if (f) setField(a, m, f[1], a.value);
          else if (a.name === 'flags' && a.args) {
            const { flags, mask } = parseTunnelFlags(a);
            m.key['tunnel.flags'] = flags;
            m.mask['tunnel.flags'] = mask;
          } else if (a.name === 'geneve') parseKeyGeneve(a, m);
          else err(a, `unknown field "${a.name}" in tunnel(...): expected tun_id, src, dst, tos, ttl, tp_src, tp_dst, geneve or flags`);
        }
        break;
      }
      case 'tcp_flags': {
        const t = args.map(render).join(',');
        let flags = 0;
        let mask = 0xfff;
        if (/^[+-]/.test(t)) {
          mask = 0;
          for (const [, sign, name] of t.matchAll(/([+-])([a-z[\]0-9]+)/g)) {
            const b = TCP_FLAG_NAMES.find(([, s]) => s === name) ?? err(n, `unknown TCP flag "${name!}": expected fin, syn, rst, psh, ack, urg, ece, cwr or ns`);
            mask |= b[0];
            if (sign === '+') flags |= b[0];
          }
        } else if (t !== '0') {
          for (const name of t.split('|')) {
            const b = TCP_FLAG_NAMES.find(([, s]) => s === name) ?? err(n, `unknown TCP flag "${name}": expected fin, syn, rst, psh, ack, urg, ece, cwr or ns`);
            flags |= b[0];
          }
        }
        m.key.tcp_flags = flags;
        m.mask.tcp_flags = mask;
        break;
      }
      default: {
        const fields = own(ATTR_FIELDS, n.name);
        if (!fields || n.name === 'tunnel') err(n, `unknown key attribute "${n.name}": expected one of recirc_id, in_port, eth, eth_type, vlan, encap, ipv4, ipv6, arp, tcp, udp, sctp, icmp, icmpv6, tcp_flags, nd, nd_ext, tunnel`);
        for (const a of args) {
          if (a.name === 'frag' && (n.name === 'ipv4' || n.name === 'ipv6')) {
            const f =
              a.value === 'no' || a.value === 'first' || a.value === 'later'
                ? FRAG[a.value]
                : err(a, `"${a.value ?? ''}" is not a fragment type: expected frag=no, frag=first or frag=later`);
            m.key[`${n.name}.frag`] = f;
            m.mask[`${n.name}.frag`] = 0xff;
            continue;
          }
          const f = fields.find(([x]) => x === a.name) ?? err(a, `unknown field "${a.name}" in ${n.name}(...): expected ${fields.map(([x]) => x).join(', ')}`);
          setField(a, m, f[1], a.value);
        }
      }
    }
  }
}

/** Parse a key/mask such as `recirc_id(0),in_port(1),eth(...),eth_type(0x0800),ipv4(...)`. */
export function parseMatch(s: string): DpMatch {
  const r = new Reader(s);
  const nodes = r.items('');
  if (r.pos !== s.length) r.fail('"," between key attributes');
  const m: DpMatch = { key: {}, mask: {} };
  parseMatchNodes(nodes, m, 0);
  return m;
}

// ---------------------------------------------------------------- actions

function fmtSet(a: Extract<Action, { type: 'set' }>): string {
  const inner = a.fields.map((f) => {
    const name = `${a.proto}.${f.field}` as FieldName;
    const kind = fieldKind(name);
    const v = f.field === 'tos' || f.field === 'tclass' ? hex(Number(f.value)) : f.field === 'nd_reserved' ? ndReserved(f.value) : String(f.value);
    if (f.mask === undefined) return `${f.field}=${v}`;
    const mk = kind === 'uint' ? hex(Number(f.mask)) : String(f.mask);
    return `${f.field}=${v}/${mk}`;
  });
  return `set(${a.proto}(${inner.join(',')}))`;
}

/** set(tunnel(...)) as OVS prints it: tun_id only with the key flag, zero addresses, tos and ports left out. */
function fmtSetTunnel(t: TunnelSet): string {
  const parts: string[] = [];
  if (t.flags & TUNNEL_FLAGS.key) parts.push(`tun_id=0x${t.tunId.toString(16)}`);
  if (t.src !== '0.0.0.0') parts.push(`src=${t.src}`);
  if (t.dst !== '0.0.0.0') parts.push(`dst=${t.dst}`);
  if (t.tos) parts.push(`tos=${hex(t.tos)}`);
  parts.push(`ttl=${t.ttl}`);
  if (t.tpSrc) parts.push(`tp_src=${t.tpSrc}`);
  if (t.tpDst) parts.push(`tp_dst=${t.tpDst}`);
  if (t.geneve.length) parts.push(`geneve(${t.geneve.map(fmtGeneveOption).join('')})`);
  parts.push(fmtTunnelFlags(t.flags, ALL_TUNNEL_FLAGS));
  return `set(tunnel(${parts.join(',')}))`;
}

function fmtGeneveOption(o: GeneveOption): string {
  const data = o.data.length ? `,${hex(BigInt(`0x${o.data.toString('hex')}`))}` : '';
  return `{class=${hex(o.optClass)},type=${hex(o.type)},len=${o.data.length}${data}}`;
}

/** The inside of geneve(...): {class=0x102,type=0x80,len=4,0xa}{...}; in a key (`masked`) data may be DATA/MASK. */
function parseGeneve(n: Node, masked = false): GeneveOption[] {
  const text = (n.args ?? []).map(render).join(',');
  const opts: GeneveOption[] = [];
  const rest = text.replace(/\{([^{}]*)\}/g, (_, body: string) => {
    const [cls, type, len, data] = body.split(',');
    const field = (part: string | undefined, name: string) => {
      if (!part?.startsWith(`${name}=`)) err(n, `a geneve option is {class=..,type=..,len=..[,data]}: "{${body}}" lacks ${name}=`);
      return num(n, part.slice(name.length + 1), `geneve(${name})`);
    };
    const optClass = field(cls, 'class');
    const t = field(type, 'type');
    const l = field(len, 'len');
    if (l % 4 !== 0 || l > 124) err(n, `geneve option {${body}}: len=${l} must be a multiple of 4, at most 124`);
    const dataValue = masked ? data?.split('/')[0] : data;
    const v = dataValue === undefined ? 0n : (parseUintText(dataValue) ?? err(n, `geneve option {${body}}: "${dataValue}" is not a number`));
    if (v >> BigInt(8 * l) !== 0n) err(n, `geneve option {${body}}: ${data ?? ''} does not fit in len=${l} bytes`);
    opts.push({ optClass, type: t, data: l ? Buffer.from(v.toString(16).padStart(2 * l, '0'), 'hex') : Buffer.alloc(0) });
    return '';
  });
  if (rest !== '') err(n, `cannot read "${rest}" in geneve(...): expected options such as {class=0x102,type=0x80,len=4,0xa}`);
  return opts;
}

/** The inside of set(tunnel(...)): dst is required; tun_id implies the key flag, as in OVS. */
function parseSetTunnel(inner: Node): TunnelSet {
  const t: TunnelSet = { tunId: 0n, src: '0.0.0.0', dst: '0.0.0.0', tos: 0, ttl: 0, tpSrc: 0, tpDst: 0, flags: 0, geneve: [] };
  for (const a of inner.args ?? []) {
    const value = () => a.value ?? err(a, `"${a.name}" needs a value, e.g. ${a.name}=...`);
    switch (a.name) {
      case 'tun_id':
        t.tunId = uint(a, value(), 'tunnel(tun_id)');
        t.flags |= TUNNEL_FLAGS.key;
        break;
      case 'src':
      case 'dst':
        t[a.name] = formatIpv4(address(a, parseIpv4, value(), `tunnel(${a.name})`));
        break;
      case 'tos':
      case 'ttl':
        t[a.name] = num(a, value(), `tunnel(${a.name})`);
        break;
      case 'tp_src':
        t.tpSrc = num(a, value(), 'tunnel(tp_src)');
        break;
      case 'tp_dst':
        t.tpDst = num(a, value(), 'tunnel(tp_dst)');
        break;
      case 'geneve':
        t.geneve = parseGeneve(a);
        break;
      case 'flags': {
        const { flags, mask } = parseTunnelFlags(a);
        if (mask !== ALL_TUNNEL_FLAGS) err(a, 'set(tunnel(...)) takes flags as flags(df|key), not a +/- mask');
        t.flags |= flags;
        break;
      }
      default:
        err(a, `unknown field "${a.name}" in set(tunnel(...)): expected tun_id, src, dst, tos, ttl, tp_src, tp_dst, geneve or flags`);
    }
  }
  if (t.dst === '0.0.0.0') err(inner, 'set(tunnel(...)) needs dst=, the remote end of the tunnel');
  return t;
}

/** Print an action list (empty: "drop"). */
export function formatActions(actions: Action[]): string {
  if (actions.length === 0) return 'drop';
  return actions
    .map((a) => {
      switch (a.type) {
        case 'output':
          return String(a.port);
        case 'pop_vlan':
          return 'pop_vlan';
        case 'push_vlan':
          return `push_vlan(${a.tpid !== 0x8100 ? `tpid=0x${a.tpid.toString(16).padStart(4, '0')},` : ''}${fmtVlan(a.tci, 0xffff)})`;
        case 'set':
          return fmtSet(a);
        case 'userspace': {
          let s = `userspace(pid=${a.pid}`;
          const sflow = a.userdata && decodeSflowCookie(a.userdata);
          if (a.detail) s += `,${a.detail}`;
          else if (sflow) s += `,sFlow(vid=${sflow.vlanTci & 0xfff},pcp=${sflow.vlanTci >> 13},output=${sflow.output})`;
          else if (a.userdata?.length) s += `,userdata(${a.userdata.toString('hex')})`;
          return s + ')';
        }
        case 'meter':
          return `meter(${a.id})`;
        case 'sample':
          return `sample(sample=${((100 * a.probability) / SAMPLE_ALWAYS).toFixed(1)}%,actions(${formatActions(a.actions)}))`;
        case 'set_tunnel':
          return fmtSetTunnel(a.tunnel);
      }
    })
    .join(',');
}

function parseActionNode(n: Node): Action {
  if (/^\d+$/.test(n.name) && !n.args) return { type: 'output', port: num(n, n.name, 'output') };
  switch (n.name) {
    case 'pop_vlan':
      return { type: 'pop_vlan' };
    case 'push_vlan': {
      let tpid = 0x8100;
      let tci = TCI_PRESENT;
      for (const a of n.args ?? []) {
        if (a.name === 'tpid') tpid = num(a, a.value, 'push_vlan(tpid)');
        else if (a.name === 'vid') tci |= num(a, a.value, 'push_vlan(vid)');
        else if (a.name === 'pcp') tci |= num(a, a.value, 'push_vlan(pcp)') << 13;
        else if (a.name === 'cfi' && a.value === '0') tci &= ~TCI_PRESENT;
        else err(a, `unknown push_vlan field "${a.name}": expected tpid=, vid=, pcp=`);
      }
      return { type: 'push_vlan', tpid, tci };
    }
    case 'set': {
      const inner = n.args?.[0];
      if (!inner || n.args!.length !== 1 || !inner.args) err(n, 'set(...) needs one header, e.g. set(ipv4(dst=10.0.0.1))');
      if (inner.name === 'tunnel') return { type: 'set_tunnel', tunnel: parseSetTunnel(inner) };
      const proto = inner.name as SetProto;
      if (!['eth', 'ipv4', 'ipv6', 'tcp', 'udp', 'icmp', 'icmpv6', 'arp', 'nd', 'nd_ext'].includes(proto)) err(inner, `cannot set "${inner.name}": expected eth, ipv4, ipv6, tcp, udp, icmp, icmpv6, arp, nd, nd_ext or tunnel`);
      let masked = false;
      const fields: SetFieldValue[] = inner.args.map((a) => {
        const name = `${proto}.${a.name}` as FieldName;
        const known =
          proto === 'arp'
            ? ['sip', 'tip', 'op', 'sha', 'tha'].includes(a.name)
            : proto === 'nd'
              ? ['target', 'sll', 'tll'].includes(a.name)
              : proto === 'nd_ext'
                ? ['nd_reserved', 'nd_options_type'].includes(a.name)
              : proto === 'icmp' || proto === 'icmpv6'
                ? ['type', 'code'].includes(a.name)
                : ['src', 'dst'].includes(a.name) || (proto === 'ipv4' && ['tos', 'ttl'].includes(a.name)) || (proto === 'ipv6' && ['tclass', 'hlimit'].includes(a.name));
        if (!known) err(a, `cannot set field "${a.name}" of ${proto}`);
        const m: DpMatch = { key: {}, mask: {} };
        setField(a, m, name, a.value);
        const f: SetFieldValue = { field: a.name, value: m.key[name]! };
        if (a.value!.includes('/')) {
          masked = true;
          f.mask = m.mask[name]!;
        }
        return f;
      });
      return { type: 'set', proto, masked, fields };
    }
    case 'userspace': {
      const args = n.args ?? err(n, 'userspace(...) needs pid=');
      const pid = args[0]?.name === 'pid' ? num(args[0], args[0].value, 'userspace(pid)') : err(n, 'userspace(...) must start with pid=');
      const rest = args.slice(1);
      const a: Action = { type: 'userspace', pid };
      if (rest.length === 1 && rest[0]!.name === 'userdata' && rest[0]!.args) {
        a.userdata = Buffer.from(rest[0]!.args.map((x) => x.name).join(''), 'hex');
      } else if (rest.length === 1 && rest[0]!.name === 'sFlow') {
        a.userdata = parseSflowCookie(rest[0]!);
      } else if (rest.length) a.detail = rest.map(render).join(',');
      return a;
    }
    case 'sample':
      return parseSample(n);
    case 'meter': {
      const a = n.args?.[0];
      if (!a || n.args!.length !== 1) err(n, 'meter(...) takes one meter id, e.g. meter(0)');
      return { type: 'meter', id: num(a, a.name, 'meter') };
    }
    default:
      return err(n, `unknown action "${render(n)}": expected a port number, drop, push_vlan, pop_vlan, set, userspace, meter or sample`);
  }
}

/** `sFlow(vid=V,pcp=P,output=N)`, as OVS prints an sFlow cookie, into its userdata. */
function parseSflowCookie(n: Node): Buffer {
  let vid = 0;
  let pcp = 0;
  let output: number | undefined;
  for (const a of n.args ?? []) {
    if (a.name === 'vid') vid = num(a, a.value, 'push_vlan(vid)');
    else if (a.name === 'pcp') pcp = num(a, a.value, 'push_vlan(pcp)');
    else if (a.name === 'output') output = num(a, a.value, 'output');
    else err(a, `unknown sFlow cookie field "${a.name}": expected vid=, pcp=, output=`);
  }
  if (output === undefined) err(n, 'sFlow(...) needs output=, e.g. sFlow(vid=0,pcp=0,output=3)');
  return encodeSflowCookie({ vlanTci: (pcp << 13) | vid, output });
}

/**
 * `sample(sample=0.1%,actions(...))`: the percentage becomes a fraction of 0xffffffff, rounded
 * as OVS rounds it (so a printed list parses back to the same probability, to 0.1%).
 */
function parseSample(n: Node): Action {
  const [p, acts, ...extra] = n.args ?? [];
  if (p?.name !== 'sample' || p.value === undefined || acts?.name !== 'actions' || extra.length) err(n, 'sample(...) takes sample=<percent>% then actions(...), e.g. sample(sample=0.1%,actions(userspace(pid=0)))');
  const m = /^(\d+(?:\.\d*)?)%$/.exec(p.value);
  const pct = m ? Number(m[1]) : NaN;
  if (!(pct >= 0 && pct <= 100)) err(p, `sample=${p.value} is not a percentage from 0% to 100%`);
  const probability = Math.min(SAMPLE_ALWAYS, Math.max(0, Math.floor(SAMPLE_ALWAYS * (pct / 100) + 0.5)));
  const inner = acts.args ?? [];
  const actions = inner.length === 1 && inner[0]!.name === 'drop' && !inner[0]!.args ? [] : inner.map(parseActionNode);
  return { type: 'sample', probability, actions };
}

/** Parse `2,push_vlan(vid=10,pcp=0),3` (or `drop`). */
export function parseActions(s: string): Action[] {
  if (s === 'drop') return [];
  const r = new Reader(s);
  const nodes = r.items('');
  if (r.pos !== s.length) r.fail('"," between actions');
  return nodes.map(parseActionNode);
}

// ---------------------------------------------------------------- lines

function fmtUsed(u: number | null): string {
  return u === null ? 'never' : `${u.toFixed(3)}s`;
}

/** Print one dump-flows line. */
export function formatFlow(f: DpFlow): string {
  let s = formatMatch(f.match);
  if (f.stats) {
    s += `, packets:${f.stats.packets}, bytes:${f.stats.bytes}, used:${fmtUsed(f.stats.used)}`;
    if (f.stats.flags) s += `, flags:${f.stats.flags}`;
  }
  return `${s}, actions:${formatActions(f.actions)}`;
}

/** Parse one dump-flows line (a leading `ufid:...,` is ignored). */
export function parseFlow(line: string): DpFlow {
  let s = line.trim().replace(/^ufid:[0-9a-f-]+, /, '');
  const ai = s.indexOf(', actions:');
  if (ai < 0) {
    if (!s.startsWith('actions:') && !s.includes('actions:')) throw new OdpSyntaxError(`missing "actions:": a datapath flow ends with ", actions:<list>"`, s.length + 1);
  }
  const actionsText = s.slice(ai + ', actions:'.length);
  s = s.slice(0, ai);
  const parts = s.split(', ');
  const match = parseMatch(parts[0]!);
  const flow: DpFlow = { match, actions: [] };
  if (parts.length > 1) {
    const kv = new Map(parts.slice(1).map((p) => [p.slice(0, p.indexOf(':')), p.slice(p.indexOf(':') + 1)] as const));
    for (const k of kv.keys()) {
      if (!['packets', 'bytes', 'used', 'flags', 'dp', 'offloaded'].includes(k)) throw new OdpSyntaxError(`unknown flow statistic "${k}": expected packets:, bytes:, used: or flags:`, s.indexOf(k) + 1);
    }
    const n = (k: string) => {
      const v = kv.get(k);
      if (v === undefined || !/^\d+$/.test(v)) throw new OdpSyntaxError(`"${k}:${v ?? ''}" is not a count: expected ${k}:<number>`, s.indexOf(`${k}:`) + 1);
      return Number(v);
    };
    const used = kv.get('used') ?? 'never';
    if (used !== 'never' && !/^\d+(\.\d+)?s$/.test(used)) throw new OdpSyntaxError(`"used:${used}" is not a time: expected used:never or used:0.400s`, s.indexOf('used:') + 1);
    flow.stats = { packets: n('packets'), bytes: n('bytes'), used: used === 'never' ? null : Number(used.slice(0, -1)) };
    if (kv.has('flags')) flow.stats.flags = kv.get('flags')!;
  }
  try {
    flow.actions = parseActions(actionsText);
  } catch (e) {
    if (e instanceof OdpSyntaxError) throw new OdpSyntaxError(`in actions: ${e.message}`, ai + 10 + e.column);
    throw e;
  }
  return flow;
}
