/**
 * Ethernet, IPv4 and IPv6 addresses: text to network-order bytes and back, in the forms OVS reads
 * and prints (00:11:22:33:44:55, 10.0.0.1, and IPv6 as inet_ntop writes it, RFC 5952).
 *
 * The datapath keeps addresses as bytes and ofproto's flows keep them as integers, so every
 * formatter takes either; `bytesToBigint` turns parsed bytes into ofproto's integer.
 * A malformed address is an `AddressError` that names the text, the kind of address and what is
 * wrong with it.
 */

export type AddressKind = 'Ethernet' | 'IPv4' | 'IPv6';

const MAC_LEN = 6;
const IPV4_LEN = 4;
const IPV6_LEN = 16;

/** Text that is not an address of the kind expected. */
export class AddressError extends Error {
  constructor(
    readonly text: string,
    readonly kind: AddressKind,
    /** What is wrong, and how an address of this kind is written. */
    readonly reason: string,
  ) {
    super(`${text}: invalid ${kind} address (${reason})`);
    this.name = 'AddressError';
  }

  /** The same complaint, naming the field the address was written for. */
  inField(field: string): string {
    return `${this.text}: invalid ${this.kind} address for ${field} (${this.reason})`;
  }
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

// ---------------------------------------------------------------------------------------------
// Integers

/** Big-endian bytes as an unsigned integer. */
export function bytesToBigint(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

/** The low `len` bytes of `v`, big-endian. */
export function bigintToBytes(v: bigint, len: number): Buffer {
  const out = Buffer.alloc(len);
  for (let i = len - 1; i >= 0; i--, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Ethernet

/** Two hex digits of each byte value: dump-flows formats addresses for every flow it prints. */
const HEX_BYTE = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** `00:11:22:33:44:55` (each byte one or two hex digits) as six bytes. */
export function parseMac(text: string): Buffer {
  const parts = text.split(':');
  const how = 'write six hex bytes like 00:11:22:33:44:55';
  if (parts.length !== MAC_LEN) throw new AddressError(text, 'Ethernet', `${count(parts.length, 'byte')} where there should be 6; ${how}`);
  const bad = parts.find((p) => !/^[0-9a-fA-F]{1,2}$/.test(p));
  if (bad !== undefined) throw new AddressError(text, 'Ethernet', `"${bad}" is not a hex byte; ${how}`);
  return Buffer.from(parts.map((p) => parseInt(p, 16)));
}

/** Six bytes (at `offset`), or a 48-bit integer, as `00:11:22:33:44:55`. */
export function formatMac(mac: Uint8Array | bigint, offset = 0): string {
  const b = typeof mac === 'bigint' ? bigintToBytes(mac, MAC_LEN) : mac;
  const o = typeof mac === 'bigint' ? 0 : offset;
  const hex = (i: number): string => HEX_BYTE[b[o + i]!]!;
  return `${hex(0)}:${hex(1)}:${hex(2)}:${hex(3)}:${hex(4)}:${hex(5)}`;
}

// ---------------------------------------------------------------------------------------------
// IPv4

/** Dotted decimal (`10.0.0.1`) as four bytes. */
export function parseIpv4(text: string): Buffer {
  const parts = text.split('.');
  const how = 'write four decimal bytes like 10.0.0.1';
  if (parts.length !== IPV4_LEN) throw new AddressError(text, 'IPv4', `${count(parts.length, 'part')} where there should be 4; ${how}`);
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) throw new AddressError(text, 'IPv4', `"${p}" is not a decimal byte; ${how}`);
    if (Number(p) > 255) throw new AddressError(text, 'IPv4', `${p} is more than 255; ${how}`);
  }
  return Buffer.from(parts.map(Number));
}

/** Four bytes (at `offset`), or a 32-bit integer, in dotted decimal. */
export function formatIpv4(ip: Uint8Array | number, offset = 0): string {
  if (typeof ip === 'number') return `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
  return `${ip[offset]!}.${ip[offset + 1]!}.${ip[offset + 2]!}.${ip[offset + 3]!}`;
}

// ---------------------------------------------------------------------------------------------
// IPv6

/** IPv6 text in any RFC 4291 form (`2001:db8::1`, `::ffff:10.0.0.1`) as sixteen bytes. */
export function parseIpv6(text: string): Buffer {
  const bad = (reason: string) => new AddressError(text, 'IPv6', `${reason}; write it like 2001:db8::1`);
  // A dotted IPv4 tail stands for the last two groups.
  let groupsText = text;
  let tail: number[] = [];
  const v4 = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    let ip: Buffer;
    try {
      ip = parseIpv4(v4[2]!);
    } catch (e) {
      throw bad(`its IPv4 tail is wrong: ${(e as AddressError).reason}`);
    }
    tail = [ip.readUInt16BE(0), ip.readUInt16BE(2)];
    groupsText = v4[1]!.endsWith('::') ? v4[1]! : v4[1]!.slice(0, -1);
  }
  const halves = groupsText.split('::');
  if (halves.length > 2) throw bad('"::" appears more than once');
  const groups = (h: string): number[] =>
    h === ''
      ? []
      : h.split(':').map((g) => {
          if (!/^[0-9a-fA-F]{1,4}$/.test(g)) throw bad(`"${g}" is not a group of one to four hex digits`);
          return parseInt(g, 16);
        });
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  const given = head.length + rest.length + tail.length;
  const compressed = halves.length === 2;
  if (compressed && given > 7) throw bad(`${given} groups leave no room for the zeros "::" stands for`);
  if (!compressed && given !== 8) throw bad(`${given} groups of 16 bits where there should be 8`);
  const all = [...head, ...new Array<number>(8 - given).fill(0), ...rest, ...tail];
  const out = Buffer.alloc(IPV6_LEN);
  all.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

/**
 * Sixteen bytes (at `offset`), or a 128-bit integer, as inet_ntop prints them: the longest run
 * of two or more zero groups (the first, on a tie) as "::", and IPv4-mapped (::ffff:a.b.c.d) and
 * IPv4-compatible (::a.b.c.d) addresses with a dotted tail, as glibc does.
 */
export function formatIpv6(ip: Uint8Array | bigint, offset = 0): string {
  const b = typeof ip === 'bigint' ? bigintToBytes(ip, IPV6_LEN) : ip;
  const o = typeof ip === 'bigint' ? 0 : offset;
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((b[o + i]! << 8) | b[o + i + 1]!);
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
  if (best === 0 && (bestLen === 6 || (bestLen === 5 && g[5] === 0xffff))) {
    return (bestLen === 5 ? '::ffff:' : '::') + formatIpv4(b, o + 12);
  }
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

// ---------------------------------------------------------------------------------------------
// Prefixes

/** The mask of a `bits`-wide address whose top `len` bits are ones: a /len prefix. */
export function prefixMask(bits: number, len: number): bigint {
  return len === 0 ? 0n : ((1n << BigInt(len)) - 1n) << BigInt(bits - len);
}

/** The prefix length `mask` stands for, or undefined if its ones are not contiguous from the top. */
export function prefixLength(mask: bigint, bits: number): number | undefined {
  const hostBits = ~mask & ((1n << BigInt(bits)) - 1n);
  if ((hostBits & (hostBits + 1n)) !== 0n) return undefined;
  return bits - (hostBits === 0n ? 0 : hostBits.toString(2).length);
}
