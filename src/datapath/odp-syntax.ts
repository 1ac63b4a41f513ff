// OVS datapath flow syntax, as `ovs-appctl dpctl/dump-flows` prints it for the
// userspace datapath, parsed into keys/masks/actions and printed back:
//   recirc_id(0),in_port(1),eth(src=..,dst=..),eth_type(0x0800),ipv4(src=..,frag=no),
//   tcp(dst=80), packets:3, bytes:294, used:0.400s, flags:S., actions:2

import { type Action, type SetFieldValue, type SetProto, type TunnelSet } from './actions.js';
import { AddressError, formatIpv4, formatIpv6, formatMac, parseIpv4, parseIpv6, parseMac } from '../lib/addr.js';
import { hex, parseFieldUint } from '../lib/uint.js';
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
  /** Raw text after the addresses inside tunnel(...), e.g. "flags(-df-csum+key)". */
  tunnelExtra?: string;
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
  output: 32,
  'push_vlan(tpid)': 16,
  'push_vlan(vid)': 12,
  'push_vlan(pcp)': 3,
  'userspace(pid)': 32,
  tnl_pop: 32,
  meter: 32,
  'tnl_push(tnl_port)': 32,
  'tnl_push(out_port)': 32,
  'header(size)': 16,
  'header(type)': 32,
  'header(eth(dl_type))': 16,
  'header(ipv4(proto))': 8,
  'header(ipv4(tos))': 8,
  'header(ipv4(ttl))': 8,
  'header(ipv4(frag))': 16,
  'header(ipv6(label))': 20,
  'header(ipv6(proto))': 8,
  'header(ipv6(tclass))': 8,
  'header(ipv6(hlimit))': 8,
  'header(udp(src))': 16,
  'header(udp(dst))': 16,
  'header(udp(csum))': 16,
  'header(vxlan(flags))': 32,
  'header(vxlan(vni))': 24,
  'header(gre(flags))': 16,
  'header(gre(proto))': 16,
  'header(gre(csum))': 16,
  'header(gre(key))': 32,
  'header(gre(seq))': 32,
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
  nd: [['target', 'nd.target', 'addr']],
  tunnel: [['tun_id', 'tunnel.tun_id', 'hex'], ['src', 'tunnel.src', 'addr'], ['dst', 'tunnel.dst', 'addr']],
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
    }
  }
  return out;
}

function fmtTcpFlags(flags: number, mask: number): string {
  if ((mask & 0xfff) === 0xfff) {
    const names = TCP_FLAG_NAMES.filter(([b]) => flags & b).map(([, s]) => s);
    return names.length ? names.join('|') : '0';
  }
  return TCP_FLAG_NAMES.filter(([b]) => mask & b).map(([b, s]) => `${flags & b ? '+' : '-'}${s}`).join('');
}

/** Print a match the way dpctl/dump-flows does. */
function formatMatch(m: DpMatch): string {
  const { key, mask } = m;
  const out: string[] = [];
  if (!isZero(mask.recirc_id)) out.push(`recirc_id(${hex(Number(key.recirc_id ?? 0))}${isFull('recirc_id', mask.recirc_id) ? '' : `/${hex(Number(mask.recirc_id))}`})`);
  const tun = fmtAttr('tunnel', key, mask, m.tunnelExtra ? [m.tunnelExtra] : []);
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
        const extra: string[] = [];
        for (const a of args) {
          const f = ATTR_FIELDS.tunnel!.find(([x]) => x === a.name);
          if (f) setField(a, m, f[1], a.value);
          else extra.push(render(a));
        }
        if (extra.length) m.tunnelExtra = extra.join(',');
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
        if (!fields || n.name === 'tunnel') err(n, `unknown key attribute "${n.name}": expected one of recirc_id, in_port, eth, eth_type, vlan, encap, ipv4, ipv6, arp, tcp, udp, sctp, icmp, icmpv6, tcp_flags, nd, tunnel`);
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
    const v = f.field === 'tos' || f.field === 'tclass' ? hex(Number(f.value)) : String(f.value);
    if (f.mask === undefined) return `${f.field}=${v}`;
    const mk = kind === 'uint' ? hex(Number(f.mask)) : String(f.mask);
    return `${f.field}=${v}/${mk}`;
  });
  return `set(${a.proto}(${inner.join(',')}))`;
}

function fmtTnlHeader(h: Buffer, type: number): string {
  const parts: string[] = [`size=${h.length}`, `type=${type}`];
  if (h.length < 14) return `header(size=${h.length},type=${type}, eth(truncated header))`;
  const et = h.readUInt16BE(12);
  parts.push(`eth(dst=${formatMac(h.subarray(0, 6))},src=${formatMac(h.subarray(6, 12))},dl_type=0x${et.toString(16).padStart(4, '0')})`);
  let off = 14;
  if (et === 0x0800 && h.length >= 34) {
    parts.push(`ipv4(src=${formatIpv4(h.subarray(26, 30))},dst=${formatIpv4(h.subarray(30, 34))},proto=${h[23]!},tos=${hex(h[15]!)},ttl=${h[22]!},frag=0x${h.readUInt16BE(20).toString(16)})`);
    off = 14 + (h[14]! & 15) * 4;
  } else if (et === 0x86dd && h.length >= 54) {
    const flow = h.readUInt32BE(14);
    parts.push(`ipv6(src=${formatIpv6(h.subarray(22, 38))},dst=${formatIpv6(h.subarray(38, 54))},label=${flow & 0xfffff},proto=${h[20]!},tclass=0x${((flow >>> 20) & 0xff).toString(16)},hlimit=${h[21]!})`);
    off = 54;
  }
  if (type === 4 && h.length >= off + 16) {
    parts.push(`udp(src=${h.readUInt16BE(off)},dst=${h.readUInt16BE(off + 2)},csum=0x${h.readUInt16BE(off + 6).toString(16)})`);
    parts.push(`vxlan(flags=0x${h.readUInt32BE(off + 8).toString(16)},vni=0x${(h.readUInt32BE(off + 12) >>> 8).toString(16)})`);
  } else if (type === 3 && h.length >= off + 4) {
    const flags = h.readUInt16BE(off);
    let g = `gre((flags=0x${flags.toString(16)},proto=0x${h.readUInt16BE(off + 2).toString(16)})`;
    let o = off + 4;
    if (flags & 0x8000) {
      g += `,csum=0x${h.readUInt16BE(o).toString(16)}`;
      o += 4;
    }
    if (flags & 0x2000) {
      g += `,key=0x${h.readUInt32BE(o).toString(16)}`;
      o += 4;
    }
    if (flags & 0x1000) g += `,seq=0x${h.readUInt32BE(o).toString(16)}`;
    parts.push(g + ')');
  }
  return `header(${parts.join(',')})`;
}

function parseTnlHeader(n: Node): { header: Buffer; type: number } {
  const args = n.args ?? err(n, 'header needs (...)');
  const get = (node: Node, name: string) => node.args?.find((a) => a.name === name)?.value ?? err(node, `${node.name}(...) needs ${name}=`);
  // A number of header part `node` (eth, ipv4, ...), and an address of it.
  const field = (node: Node, name: string) => num(node, get(node, name), `header(${node.name}(${name}))`);
  const addr = (node: Node, parse: (text: string) => Buffer, name: string) => address(node, parse, get(node, name), `header(${node.name}(${name}))`);
  let size = 0;
  let type = 0;
  const bufs: Buffer[] = [];
  for (const a of args) {
    if (a.name === 'size') size = num(a, a.value, 'header(size)');
    else if (a.name === 'type') type = num(a, a.value, 'header(type)');
    else if (a.name === 'eth') {
      const b = Buffer.alloc(14);
      addr(a, parseMac, 'dst').copy(b, 0);
      addr(a, parseMac, 'src').copy(b, 6);
      b.writeUInt16BE(field(a, 'dl_type'), 12);
      bufs.push(b);
    } else if (a.name === 'ipv4') {
      const b = Buffer.alloc(20);
      b[0] = 0x45;
      b[1] = field(a, 'tos');
      b.writeUInt16BE(field(a, 'frag'), 6);
      b[8] = field(a, 'ttl');
      b[9] = field(a, 'proto');
      addr(a, parseIpv4, 'src').copy(b, 12);
      addr(a, parseIpv4, 'dst').copy(b, 16);
      bufs.push(b);
    } else if (a.name === 'ipv6') {
      const b = Buffer.alloc(40);
      b.writeUInt32BE(((6 << 28) | (field(a, 'tclass') << 20) | field(a, 'label')) >>> 0, 0);
      b[6] = field(a, 'proto');
      b[7] = field(a, 'hlimit');
      addr(a, parseIpv6, 'src').copy(b, 8);
      addr(a, parseIpv6, 'dst').copy(b, 24);
      bufs.push(b);
    } else if (a.name === 'udp') {
      const b = Buffer.alloc(8);
      b.writeUInt16BE(field(a, 'src'), 0);
      b.writeUInt16BE(field(a, 'dst'), 2);
      b.writeUInt16BE(field(a, 'csum'), 6);
      bufs.push(b);
    } else if (a.name === 'vxlan') {
      const b = Buffer.alloc(8);
      b.writeUInt32BE(field(a, 'flags'), 0);
      b.writeUInt32BE((field(a, 'vni') << 8) >>> 0, 4);
      bufs.push(b);
    } else if (a.name === 'gre') {
      const base = a.args?.[0];
      if (!base || !base.args) err(a, 'gre((flags=..,proto=..),...) expected');
      const flags = num(base, get(base, 'flags'), 'header(gre(flags))');
      const b = Buffer.alloc(4);
      b.writeUInt16BE(flags, 0);
      b.writeUInt16BE(num(base, get(base, 'proto'), 'header(gre(proto))'), 2);
      bufs.push(b);
      for (const o of ['csum', 'key', 'seq']) {
        const v = a.args!.find((x) => x.name === o)?.value;
        if (v !== undefined) {
          const ob = Buffer.alloc(4);
          if (o === 'csum') ob.writeUInt16BE(num(a, v, 'header(gre(csum))'), 0);
          else ob.writeUInt32BE(num(a, v, `header(gre(${o}))`), 0);
          bufs.push(ob);
        }
      }
    } else err(a, `unknown tunnel header part "${a.name}": expected eth, ipv4, ipv6, udp, vxlan or gre`);
  }
  const header = Buffer.concat(bufs);
  if (header.length !== size) err(n, `header size=${size} but its parts add up to ${header.length} bytes`);
  return { header, type };
}

const TUNNEL_FLAG_NAMES = Object.entries(TUNNEL_FLAGS).map(([name, bit]) => [bit, name] as const);

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
  const names = TUNNEL_FLAG_NAMES.filter(([b]) => t.flags & b).map(([, n]) => n);
  parts.push(`flags(${names.length ? names.join('|') : '0'})`);
  return `set(tunnel(${parts.join(',')}))`;
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
          if (a.detail) s += `,${a.detail}`;
          else if (a.userdata?.length) s += `,userdata(${a.userdata.toString('hex')})`;
          return s + ')';
        }
        case 'tnl_pop':
          return `tnl_pop(${a.port})`;
        case 'meter':
          return `meter(${a.id})`;
        case 'set_tunnel':
          return fmtSetTunnel(a.tunnel);
        case 'tnl_push':
          return `tnl_push(tnl_port(${a.tnlPort}),${fmtTnlHeader(a.header, a.tnlType)},out_port(${a.outPort}))`;
      }
    })
    .join(',');
}

function parseActionNode(n: Node): Action {
  if (/^\d+$/.test(n.name) && !n.args) return { type: 'output', port: num(n, n.name, 'output') };
  const one = () => {
    const a = n.args?.[0];
    if (!a || n.args!.length !== 1) err(n, `${n.name}(...) takes one port number`);
    return num(a, a.name, n.name);
  };
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
      const proto = inner.name as SetProto;
      if (!['eth', 'ipv4', 'ipv6', 'tcp', 'udp', 'arp'].includes(proto)) err(inner, `cannot set "${inner.name}": expected eth, ipv4, ipv6, tcp, udp or arp`);
      let masked = false;
      const fields: SetFieldValue[] = inner.args.map((a) => {
        const name = `${proto}.${a.name}` as FieldName;
        const known =
          proto === 'arp'
            ? ['sip', 'tip', 'op', 'sha', 'tha'].includes(a.name)
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
      } else if (rest.length) a.detail = rest.map(render).join(',');
      return a;
    }
    case 'tnl_pop':
      return { type: 'tnl_pop', port: one() };
    case 'meter': {
      const a = n.args?.[0];
      if (!a || n.args!.length !== 1) err(n, 'meter(...) takes one meter id, e.g. meter(0)');
      return { type: 'meter', id: num(a, a.name, 'meter') };
    }
    case 'tnl_push': {
      const args = n.args ?? err(n, 'tnl_push(...) needs tnl_port(..),header(..),out_port(..)');
      const part = (name: string) => args.find((x) => x.name === name) ?? err(n, `tnl_push(...) needs ${name}(...)`);
      const port = (name: string) => num(part(name), part(name).args?.[0]?.name, `tnl_push(${name})`);
      const { header, type } = parseTnlHeader(part('header'));
      return { type: 'tnl_push', tnlPort: port('tnl_port'), outPort: port('out_port'), tnlType: type, header };
    }
    default:
      return err(n, `unknown action "${render(n)}": expected a port number, drop, push_vlan, pop_vlan, set, userspace, tnl_push, tnl_pop or meter`);
  }
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
