// A frame built from a datapath flow key (OVS's flow_compose): the frame
// whose extracted key is that key. `tvs-appctl netdev-dummy/receive` turns
// a flow written in the datapath syntax into the frame it injects this
// way, and programs build test traffic with it.
//
// Headers: Ethernet (802.3 with a length for EtherTypes below 0x0600), up to
// two VLAN tags, ARP/RARP, IPv4 and IPv6 (a fragment header for an IPv6
// fragment), TCP, UDP, SCTP, ICMP and ICMPv6 (with the target of a Neighbor
// Solicitation or Advertisement). Lengths and checksums are filled in and
// valid; fields the key leaves out are zero, as in OVS. A later fragment
// carries no L4 header, only the payload.

import { FRAG, TCI_PRESENT, encodeKey, fieldSpan, type FieldName, type FlowKey } from './flow-key.js';

export interface ComposeOptions {
  /** Bytes after the innermost header the key describes (none by default). */
  payload?: Buffer;
  /** ICMP or ICMPv6 echo: the identifier and sequence number in the header's second word. */
  echo?: { id: number; seq: number };
}

const ETH_TYPE = { ipv4: 0x0800, ipv6: 0x86dd, arp: 0x0806, rarp: 0x8035, min: 0x0600 } as const;
const PROTO = { icmp: 1, tcp: 6, udp: 17, ipv6Frag: 44, icmpv6: 58, sctp: 132 } as const;
const ND_SOLICIT = 135;
const ND_ADVERT = 136;
/** ND option types: source and target link-layer address (RFC 4861). */
const ND_OPT_SOURCE_LL = 1;
const ND_OPT_TARGET_LL = 2;
/** Fragment offset (in 8-byte units) of a later fragment, and the More Fragments flags, as OVS writes them. */
const LATER_OFFSET = 100;
const IPV4_MF = 0x2000;
const IPV6_MF = 1;

/** The frame whose flow key is `key` (structured, or the 152 bytes encodeKey makes); in_port and recirc_id are not in a frame. */
export function composeFrame(key: FlowKey | Buffer, options: ComposeOptions = {}): Buffer {
  const k = new KeyReader(Buffer.isBuffer(key) ? key : encodeKey(key));
  const payload = options.payload ?? Buffer.alloc(0);
  const ethType = k.num('eth_type');
  const parts: Buffer[] = [k.bytes('eth.dst'), k.bytes('eth.src')];
  for (const [tpid, tci] of [['vlan.tpid', 'vlan.tci'], ['cvlan.tpid', 'cvlan.tci']] as const) {
    const t = k.num(tci);
    if (!(t & TCI_PRESENT)) break;
    parts.push(u16(k.num(tpid) || 0x8100), u16(t & ~TCI_PRESENT));
  }
  if (ethType < ETH_TYPE.min) {
    // 802.3: a length where the EtherType would be (OVS keys such frames as 0x05ff).
    parts.push(u16(payload.length), payload);
  } else if (ethType === ETH_TYPE.ipv4) {
    parts.push(u16(ethType), ipv4(k, payload, options));
  } else if (ethType === ETH_TYPE.ipv6) {
    parts.push(u16(ethType), ipv6(k, payload, options));
  } else if (ethType === ETH_TYPE.arp || ethType === ETH_TYPE.rarp) {
    parts.push(u16(ethType), arp(k), payload);
  } else {
    parts.push(u16(ethType), payload);
  }
  return Buffer.concat(parts);
}

/** Fields of an encoded key, by name. */
class KeyReader {
  constructor(private readonly key: Buffer) {}

  bytes(name: FieldName): Buffer {
    const [off, len] = fieldSpan(name);
    return Buffer.from(this.key.subarray(off, off + len));
  }

  num(name: FieldName): number {
    const [off, len] = fieldSpan(name);
    return this.key.readUIntBE(off, len);
  }
}

function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v & 0xffff);
  return b;
}

function ipv4(k: KeyReader, payload: Buffer, options: ComposeOptions): Buffer {
  const src = k.bytes('ipv4.src');
  const dst = k.bytes('ipv4.dst');
  const proto = k.num('ipv4.proto');
  const frag = k.num('ipv4.frag');
  const body = frag === FRAG.later ? payload : l4(k, proto, false, payload, options, (len) => sum(Buffer.concat([src, dst, Buffer.from([0, proto]), u16(len)])));
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h[1] = k.num('ipv4.tos');
  h.writeUInt16BE(20 + body.length, 2);
  h.writeUInt16BE(frag === FRAG.no ? 0 : frag === FRAG.first ? IPV4_MF : IPV4_MF | LATER_OFFSET, 6);
  h[8] = k.num('ipv4.ttl');
  h[9] = proto;
  src.copy(h, 12);
  dst.copy(h, 16);
  h.writeUInt16BE(checksum(h), 10);
  return Buffer.concat([h, body]);
}

function ipv6(k: KeyReader, payload: Buffer, options: ComposeOptions): Buffer {
  const src = k.bytes('ipv6.src');
  const dst = k.bytes('ipv6.dst');
  const proto = k.num('ipv6.proto');
  const frag = k.num('ipv6.frag');
  const pseudo = (len: number) => {
    const p = Buffer.alloc(40);
    src.copy(p, 0);
    dst.copy(p, 16);
    p.writeUInt32BE(len, 32);
    p[39] = proto;
    return sum(p);
  };
  let body = frag === FRAG.later ? payload : l4(k, proto, true, payload, options, pseudo);
  let next = proto;
  if (frag !== FRAG.no) {
    const f = Buffer.alloc(8);
    f[0] = proto;
    f.writeUInt16BE(frag === FRAG.later ? (LATER_OFFSET << 3) | IPV6_MF : IPV6_MF, 2);
    body = Buffer.concat([f, body]);
    next = PROTO.ipv6Frag;
  }
  const h = Buffer.alloc(40);
  h.writeUInt32BE(((6 << 28) | (k.num('ipv6.tclass') << 20) | (k.num('ipv6.label') & 0xfffff)) >>> 0, 0);
  h.writeUInt16BE(body.length, 4);
  h[6] = next;
  h[7] = k.num('ipv6.hlimit');
  src.copy(h, 8);
  dst.copy(h, 24);
  return Buffer.concat([h, body]);
}

/**
 * The L4 header of `proto` with `payload` after it, checksummed; `pseudo`
 * gives the sum of the IP pseudo-header for an L4 length.
 */
function l4(k: KeyReader, proto: number, v6: boolean, payload: Buffer, options: ComposeOptions, pseudo: (len: number) => number): Buffer {
  const ports = (len: number) => {
    const h = Buffer.alloc(len);
    k.bytes('tcp.src').copy(h, 0);
    k.bytes('tcp.dst').copy(h, 2);
    return h;
  };
  if (proto === PROTO.tcp) {
    const h = ports(20);
    // Data offset 5 words, then the 12 flag bits (OVS's TCP_CTL).
    h.writeUInt16BE((5 << 12) | (k.num('tcp_flags') & 0xfff), 12);
    const seg = Buffer.concat([h, payload]);
    seg.writeUInt16BE(checksum(seg, pseudo(seg.length)), 16);
    return seg;
  }
  if (proto === PROTO.udp) {
    const h = ports(8);
    h.writeUInt16BE(8 + payload.length, 4);
    const seg = Buffer.concat([h, payload]);
    // 0 means "no checksum" in UDP: a computed 0 is sent as its other form.
    seg.writeUInt16BE(checksum(seg, pseudo(seg.length)) || 0xffff, 6);
    return seg;
  }
  if (proto === PROTO.sctp) {
    const seg = Buffer.concat([ports(12), payload]);
    seg.writeUInt32LE(crc32c(seg), 8);
    return seg;
  }
  if ((proto === PROTO.icmp && !v6) || (proto === PROTO.icmpv6 && v6)) {
    const type = k.num('icmp.type');
    const code = k.num('icmp.code');
    const nd = v6 && code === 0 && (type === ND_SOLICIT || type === ND_ADVERT);
    const h = Buffer.alloc(nd ? 24 : 8);
    h[0] = type;
    h[1] = code;
    if (options.echo) {
      h.writeUInt16BE(options.echo.id, 4);
      h.writeUInt16BE(options.echo.seq, 6);
    }
    if (nd) {
      // As OVS's flow_compose: the reserved word from the key; the options type follows from the options written.
      k.bytes('nd_ext.nd_reserved').copy(h, 4);
      k.bytes('nd.target').copy(h, 8);
    }
    const msg = Buffer.concat([h, ...(nd ? ndOptions(k) : []), payload]);
    // ICMPv6 covers the pseudo-header; ICMPv4 only the message.
    msg.writeUInt16BE(checksum(msg, v6 ? pseudo(msg.length) : 0), 2);
    return msg;
  }
  return payload;
}

/** An ND message's link-layer address options, as OVS's flow_compose writes them: one for each address the key has. */
function ndOptions(k: KeyReader): Buffer[] {
  const options: Buffer[] = [];
  for (const [name, type] of [['nd.sll', ND_OPT_SOURCE_LL], ['nd.tll', ND_OPT_TARGET_LL]] as const) {
    const mac = k.bytes(name);
    if (mac.every((b) => b === 0)) continue;
    options.push(Buffer.concat([Buffer.from([type, 1]), mac]));
  }
  return options;
}

function arp(k: KeyReader): Buffer {
  const a = Buffer.alloc(28);
  a.writeUInt16BE(1, 0); // Ethernet
  a.writeUInt16BE(ETH_TYPE.ipv4, 2);
  a[4] = 6;
  a[5] = 4;
  a.writeUInt16BE(k.num('arp.op'), 6);
  k.bytes('arp.sha').copy(a, 8);
  k.bytes('arp.sip').copy(a, 14);
  k.bytes('arp.tha').copy(a, 18);
  k.bytes('arp.tip').copy(a, 24);
  return a;
}

/** The ones'-complement sum of `buf` as 16-bit words (RFC 1071), unfolded, added to `initial`. */
function sum(buf: Buffer, initial = 0): number {
  let s = initial;
  for (let i = 0; i + 1 < buf.length; i += 2) s += buf.readUInt16BE(i);
  if (buf.length % 2) s += buf[buf.length - 1]! << 8;
  return s;
}

/** The Internet checksum of `buf` (its checksum field zero) on top of a pseudo-header's sum. */
function checksum(buf: Buffer, initial = 0): number {
  let s = sum(buf, initial);
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return ~s & 0xffff;
}

/** CRC-32C (Castagnoli), SCTP's checksum (RFC 4960 appendix B), of `buf` with its checksum field zero. */
function crc32c(buf: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of buf) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return ~crc >>> 0;
}
