/**
 * The packet-header "flow" the slow path classifies, and its wildcard counterpart.
 *
 * A flow is a fixed vector of 32-bit words (`Flow.w`), one or more words per field, most
 * significant word first. The same layout serves `FlowWildcards` (a 1 bit means "this bit
 * matters"), so masking, hashing and comparing are loops over small typed arrays — the classifier
 * never looks at field names. Field-level access goes through `FIELDS`, with values as `bigint`
 * (`get`/`set`) or as `number` for fields of 32 bits or fewer (`num`/`setNum`).
 *
 * Shared storage, as in OVS: `nw_src`/`nw_dst` hold the ARP SPA/TPA for ARP packets, `nw_proto`
 * holds the ARP opcode, `tp_src`/`tp_dst` hold the ICMP type/code, `arp_sha`/`arp_tha` hold the
 * ND source/target link-layer addresses (`nd_target` is the ND target address; `nd_reserved` and
 * `nd_options_type`, OVS's nd_ext, are the reserved word and first option type of an ND message,
 * zero for every other packet). `vlan_tci` carries the 802.1Q TCI with the CFI bit
 * (0x1000) set when a tag is present, so 0 means "no VLAN".
 *
 * The tunnel fields (tun_id, tun_src, tun_dst, tun_flags, tun_tos, tun_ttl) are the outer header
 * of a frame that came in through a tunnel, all zero otherwise; tun_flags holds OVS's
 * FLOW_TNL_F_* bits (TUN_FLAG below), of which OpenFlow sees only `oam`. The Geneve option the
 * datapath carries is tun_metadataN through the bridge's TLV map: tun_metadata_present has bit N
 * set and tun_metadata_value holds its data (./tun-metadata.ts).
 */

/** Every field the classifier can match on. */
export type FieldId =
  | 'in_port'
  | 'tun_id'
  | 'tun_src'
  | 'tun_dst'
  | 'tun_ipv6_src'
  | 'tun_ipv6_dst'
  | 'tun_flags'
  | 'tun_tos'
  | 'tun_ttl'
  | 'tun_metadata_present'
  | 'tun_metadata_value'
  | 'metadata'
  | RegId
  | WideRegId
  | 'dl_src'
  | 'dl_dst'
  | 'dl_type'
  | 'vlan_tci'
  | 'nw_src'
  | 'nw_dst'
  | 'ipv6_src'
  | 'ipv6_dst'
  | 'nw_proto'
  | 'nw_tos'
  | 'nw_ttl'
  | 'tp_src'
  | 'tp_dst'
  | 'tcp_flags'
  | 'arp_sha'
  | 'arp_tha'
  | 'nd_target'
  | 'nd_reserved'
  | 'nd_options_type';

/** The 32-bit registers reg0..reg15 (OVS's FLOW_N_REGS), pipeline scratch space. */
type RegId = `reg${0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10 | 11 | 12 | 13 | 14 | 15}`;
/**
 * The wide registers, as OVS defines them: xregN is reg(2N) (high half) then reg(2N+1), and
 * xxregN is reg(4N) .. reg(4N+3), most significant first. The registers sit in the word vector
 * in that order, so a wide register is simply a longer view of the same words: it has a layout
 * but no storage of its own, and it is not in FIELD_IDS.
 */
type WideRegId = `xreg${0 | 1 | 2 | 3 | 4 | 5 | 6 | 7}` | `xxreg${0 | 1 | 2 | 3}`;

/** reg0..reg15 in order. */
export const REG_FIELDS: readonly RegId[] = Array.from({ length: 16 }, (_, i) => `reg${i}` as RegId);
/** xreg0..xreg7 then xxreg0..xxreg3. */
export const WIDE_REG_FIELDS: readonly WideRegId[] = [...Array.from({ length: 8 }, (_, i) => `xreg${i}` as WideRegId), ...Array.from({ length: 4 }, (_, i) => `xxreg${i}` as WideRegId)];

/** Where a field lives in the word vector. */
export interface FieldLayout {
  readonly id: FieldId;
  /** Index of the field's most significant word. */
  readonly ofs: number;
  /** Width in bits (1..128). */
  readonly bits: number;
  /** Number of 32-bit words (ceil(bits / 32)). */
  readonly words: number;
  /** All-ones value of the field's width. */
  readonly max: bigint;
  /** The all-ones value of each of its words, most significant first. */
  readonly wordMax: readonly number[];
}

const ORDER: ReadonlyArray<readonly [Exclude<FieldId, WideRegId>, number]> = [
  ['in_port', 32],
  ['tun_id', 64],
  ['tun_src', 32],
  ['tun_dst', 32],
  ['tun_ipv6_src', 128],
  ['tun_ipv6_dst', 128],
  ['tun_flags', 16],
  ['tun_tos', 8],
  ['tun_ttl', 8],
  ['tun_metadata_present', 64],
  ['tun_metadata_value', 64],
  ['metadata', 64],
  ...REG_FIELDS.map((r) => [r, 32] as const),
  ['dl_src', 48],
  ['dl_dst', 48],
  ['dl_type', 16],
  ['vlan_tci', 16],
  ['nw_src', 32],
  ['nw_dst', 32],
  ['ipv6_src', 128],
  ['ipv6_dst', 128],
  ['nw_proto', 8],
  ['nw_tos', 8],
  ['nw_ttl', 8],
  ['tp_src', 16],
  ['tp_dst', 16],
  ['tcp_flags', 12],
  ['arp_sha', 48],
  ['arp_tha', 48],
  ['nd_target', 128],
  ['nd_reserved', 32],
  ['nd_options_type', 8],
];

/** The layout of every field, by name. */
export const FIELDS: Readonly<Record<FieldId, FieldLayout>> = (() => {
  const out = {} as Record<FieldId, FieldLayout>;
  const layout = (id: FieldId, ofs: number, bits: number): FieldLayout => {
    const words = Math.ceil(bits / 32);
    const wordMax = Array.from({ length: words }, (_, i) => (i === 0 && bits % 32 ? 2 ** (bits % 32) - 1 : 0xffffffff));
    return { id, ofs, bits, words, max: (1n << BigInt(bits)) - 1n, wordMax };
  };
  let ofs = 0;
  for (const [id, bits] of ORDER) {
    out[id] = layout(id, ofs, bits);
    ofs += Math.ceil(bits / 32);
  }
  for (const id of WIDE_REG_FIELDS) {
    const [, x, n] = /^(x+)reg(\d+)$/.exec(id)!;
    const regs = x!.length === 1 ? 2 : 4;
    out[id] = layout(id, out.reg0.ofs + regs * Number(n), 32 * regs);
  }
  return out;
})();

/** All field ids with storage of their own, in layout order (no wide registers). */
export const FIELD_IDS: readonly FieldId[] = ORDER.map(([id]) => id);

/** Number of 32-bit words in a flow. */
export const FLOW_WORDS = ORDER.reduce((n, [, bits]) => n + Math.ceil(bits / 32), 0);

/** All-ones value of a field's width. */
export function fieldMax(f: FieldId): bigint {
  return FIELDS[f].max;
}

/** The fields that hold an address, and its kind: text syntaxes write these as addresses. */
export const ADDRESS_FIELDS: Readonly<Partial<Record<FieldId, 'mac' | 'ipv4' | 'ipv6'>>> = {
  dl_src: 'mac',
  dl_dst: 'mac',
  arp_sha: 'mac',
  arp_tha: 'mac',
  nw_src: 'ipv4',
  nw_dst: 'ipv4',
  tun_src: 'ipv4',
  tun_dst: 'ipv4',
  tun_ipv6_src: 'ipv6',
  tun_ipv6_dst: 'ipv6',
  ipv6_src: 'ipv6',
  ipv6_dst: 'ipv6',
  nd_target: 'ipv6',
};

function readBig(w: Uint32Array, f: FieldId): bigint {
  const { ofs, words } = FIELDS[f];
  let v = 0n;
  for (let i = 0; i < words; i++) v = (v << 32n) | BigInt(w[ofs + i]!);
  return v;
}

function writeBig(w: Uint32Array, f: FieldId, v: bigint): void {
  const { ofs, words, max, bits } = FIELDS[f];
  if (v < 0n || v > max) throw new RangeError(`${f}: value 0x${v.toString(16)} does not fit in ${bits} bits`);
  for (let i = words - 1; i >= 0; i--) {
    w[ofs + i] = Number(v & 0xffffffffn);
    v >>= 32n;
  }
}

function readNum(w: Uint32Array, f: FieldId): number {
  const l = FIELDS[f];
  if (l.words !== 1) throw new TypeError(`${f} is ${l.bits} bits wide: read it with get(), which returns a bigint`);
  return w[l.ofs]!;
}

function writeNum(w: Uint32Array, f: FieldId, v: number): void {
  const l = FIELDS[f];
  if (l.words !== 1) throw new TypeError(`${f} is ${l.bits} bits wide: write it with set(), which takes a bigint`);
  if (!Number.isInteger(v) || v < 0 || v > l.wordMax[0]!) throw new RangeError(`${f}: value ${v} does not fit in ${l.bits} bits`);
  w[l.ofs] = v;
}

/** Well-known values of dl_type and nw_proto. */
export const ETH_TYPE = { IP: 0x0800, ARP: 0x0806, RARP: 0x8035, VLAN: 0x8100, VLAN_8021AD: 0x88a8, IPV6: 0x86dd } as const;
export const IP_PROTO = { ICMP: 1, IGMP: 2, TCP: 6, UDP: 17, SCTP: 132, ICMPV6: 58 } as const;
/** ICMPv6 types of IPv6 neighbor discovery's solicitation and advertisement (RFC 4861). */
export const ND_TYPE = { SOLICIT: 135, ADVERT: 136 } as const;
/** tun_flags bits, OVS's FLOW_TNL_F_*: OpenFlow matches and sets only OAM (FLOW_TNL_PUB_F_MASK). */
export const TUN_FLAG = { OAM: 0x1, DONT_FRAGMENT: 0x2, CSUM: 0x4, KEY: 0x8 } as const;
/** vlan_tci bits. */
export const VLAN_CFI = 0x1000;
export const VLAN_VID_MASK = 0x0fff;

/**
 * Word storage. A typed array over 64 bytes lives outside V8's heap: making
 * one costs about 1 µs (a malloc, and a finalizer for the GC), 20 times a
 * view into an existing buffer, and tens of thousands of them make every
 * garbage collection slower. A translation makes several flows per upcall,
 * so short-lived flows are carved from shared slabs. Flows kept long (rule
 * matches, classifier masks, `own`) are carved from small slabs of their
 * own, so that a live one pins at most OWN_SLAB_FLOWS - 1 dead neighbours,
 * never a slab full of short-lived ones.
 */
const SLAB_FLOWS = 64;
const OWN_SLAB_FLOWS = 8;

class Slab {
  private words = new Uint32Array(0);
  private used = 0;

  constructor(private readonly flows: number) {}

  carve(): Uint32Array {
    if (this.used === this.words.length) {
      this.words = new Uint32Array(FLOW_WORDS * this.flows);
      this.used = 0;
    }
    const w = this.words.subarray(this.used, this.used + FLOW_WORDS);
    this.used += FLOW_WORDS;
    return w;
  }
}

const shortLived = new Slab(SLAB_FLOWS);
const longLived = new Slab(OWN_SLAB_FLOWS);

/** Zeroed words, carved for a short life, or for a long one when `own`; a copy of `from` if given. */
function newWords(from: Uint32Array | undefined, own: boolean): Uint32Array {
  const w = own ? longLived.carve() : shortLived.carve();
  if (from) w.set(from);
  return w;
}

/** The header fields of one packet (plus metadata: in_port, registers, tunnel id). */
export class Flow {
  readonly w: Uint32Array;

  /** A copy of `words` (all zero when absent); `own` storage for a flow kept long. */
  constructor(words?: Uint32Array, own = false) {
    this.w = newWords(words, own);
  }

  /** Builds a flow from named fields, e.g. `Flow.of({ in_port: 1, dl_type: 0x0800, nw_dst: 0x0a000001 })`. */
  static of(fields: Partial<Record<FieldId, number | bigint>>): Flow {
    const f = new Flow();
    for (const [k, v] of Object.entries(fields) as Array<[FieldId, number | bigint]>) f.set(k, BigInt(v));
    return f;
  }

  get(f: FieldId): bigint {
    return readBig(this.w, f);
  }

  set(f: FieldId, v: bigint | number): this {
    writeBig(this.w, f, BigInt(v));
    return this;
  }

  /** Reads a field of at most 32 bits as a number. */
  num(f: FieldId): number {
    return readNum(this.w, f);
  }

  setNum(f: FieldId, v: number): this {
    writeNum(this.w, f, v);
    return this;
  }

  clone(): Flow {
    return new Flow(this.w);
  }

  equals(o: Flow): boolean {
    for (let i = 0; i < FLOW_WORDS; i++) if (this.w[i] !== o.w[i]) return false;
    return true;
  }

  /** True if this flow and `o` hold the same value in field `f`. */
  sameField(o: Flow, f: FieldId): boolean {
    const { ofs, words } = FIELDS[f];
    for (let i = ofs; i < ofs + words; i++) if (this.w[i] !== o.w[i]) return false;
    return true;
  }

  /** True if this flow and `o` agree on every bit that `wc` marks as significant. */
  equalsUnder(o: Flow, wc: FlowWildcards): boolean {
    for (let i = 0; i < FLOW_WORDS; i++) if ((this.w[i]! ^ o.w[i]!) & wc.w[i]!) return false;
    return true;
  }
}

/**
 * Which bits of a flow matter. In a rule's match: the bits the rule fixes. In a lookup: the bits
 * the decision consulted, which become the megaflow mask.
 */
export class FlowWildcards {
  readonly w: Uint32Array;

  /** A copy of `words` (catch-all when absent); `own` storage for a mask kept long. */
  constructor(words?: Uint32Array, own = false) {
    this.w = newWords(words, own);
  }

  /** Nothing matters: matches every flow. */
  static catchAll(): FlowWildcards {
    return new FlowWildcards();
  }

  /** Every bit matters. */
  static exact(): FlowWildcards {
    const wc = new FlowWildcards();
    for (const id of FIELD_IDS) wc.set(id, fieldMax(id));
    return wc;
  }

  get(f: FieldId): bigint {
    return readBig(this.w, f);
  }

  set(f: FieldId, mask: bigint | number): this {
    writeBig(this.w, f, BigInt(mask));
    return this;
  }

  num(f: FieldId): number {
    return readNum(this.w, f);
  }

  /** Marks bits of one field as significant (ORs `mask` in; whole field by default). */
  orField(f: FieldId, mask?: bigint | number): this {
    const l = FIELDS[f];
    if (mask === undefined) {
      // The whole field, word by word: xlate does this several times a translation.
      for (let i = 0; i < l.words; i++) this.w[l.ofs + i]! |= l.wordMax[i]!;
      return this;
    }
    return this.set(f, this.get(f) | BigInt(mask));
  }

  /** ORs every bit of `o` into this mask. */
  union(o: FlowWildcards): this {
    for (let i = 0; i < FLOW_WORDS; i++) this.w[i]! |= o.w[i]!;
    return this;
  }

  isCatchAll(): boolean {
    for (let i = 0; i < FLOW_WORDS; i++) if (this.w[i]) return false;
    return true;
  }

  /** True if some bit of field `f` is significant. */
  has(f: FieldId): boolean {
    const { ofs, words } = FIELDS[f];
    for (let i = 0; i < words; i++) if (this.w[ofs + i]) return true;
    return false;
  }

  /** True if every significant bit of this mask is also significant in `o`. */
  isSubsetOf(o: FlowWildcards): boolean {
    for (let i = 0; i < FLOW_WORDS; i++) if (this.w[i]! & ~o.w[i]!) return false;
    return true;
  }

  equals(o: FlowWildcards): boolean {
    for (let i = 0; i < FLOW_WORDS; i++) if (this.w[i] !== o.w[i]) return false;
    return true;
  }

  clone(): FlowWildcards {
    return new FlowWildcards(this.w);
  }

  /** A copy in storage of its own, for a mask that lives long (a rule's, a subtable's). */
  keep(): FlowWildcards {
    return new FlowWildcards(this.w, true);
  }

  /** Names of the fields with at least one significant bit, in layout order. */
  fields(): FieldId[] {
    return FIELD_IDS.filter((f) => this.has(f));
  }
}
