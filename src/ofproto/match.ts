/**
 * A match: the values a rule requires (`flow`) under the bits it cares about (`wc`).
 *
 * Invariant: `flow` has no bit set outside `wc`, so two matches that accept the same packets are
 * equal word for word. Field setters enforce it by masking.
 *
 * Also here: the relations flow_mod needs (strict identity, "at least as specific as" for
 * non-strict modify/delete, overlap for check_overlap) and the OpenFlow prerequisite check.
 */
import { ETH_TYPE, FIELDS, FLOW_WORDS, Flow, FlowWildcards, IP_PROTO, ND_TYPE, fieldMax, type FieldId } from './flow.js';
import { OfpError } from './ofperr.js';

export class Match {
  readonly flow: Flow;
  readonly wc: FlowWildcards;

  constructor(flow?: Flow, wc?: FlowWildcards) {
    // Matches live as long as their rules: their own storage, not a slab's.
    this.wc = new FlowWildcards(wc?.w, true);
    this.flow = new Flow(flow?.w, true);
    for (let i = 0; i < FLOW_WORDS; i++) this.flow.w[i]! &= this.wc.w[i]!;
  }

  /** The match that accepts every packet. */
  static catchAll(): Match {
    return new Match();
  }

  /** Builds a match from exact field values, e.g. `Match.of({ dl_type: 0x0800, nw_proto: 6 })`. */
  static of(fields: Partial<Record<FieldId, number | bigint>>): Match {
    const m = new Match();
    for (const [k, v] of Object.entries(fields) as Array<[FieldId, number | bigint]>) m.set(k, v);
    return m;
  }

  /** Requires `field` to equal `value` on the bits of `mask` (all bits by default). */
  set(field: FieldId, value: bigint | number, mask: bigint | number = fieldMax(field)): this {
    const m = BigInt(mask);
    this.wc.set(field, m);
    this.flow.set(field, BigInt(value) & m);
    return this;
  }

  /** Stops matching on `field`. */
  clear(field: FieldId): this {
    this.wc.set(field, 0n);
    this.flow.set(field, 0n);
    return this;
  }

  /** The value and mask of one field. */
  field(field: FieldId): { value: bigint; mask: bigint } {
    return { value: this.flow.get(field), mask: this.wc.get(field) };
  }

  /** True if the field is matched on every bit. */
  isExact(field: FieldId): boolean {
    return this.wc.get(field) === fieldMax(field);
  }

  /** True if `flow` satisfies this match. */
  matches(flow: Flow): boolean {
    const fw = this.flow.w;
    const mw = this.wc.w;
    const w = flow.w;
    for (let i = 0; i < FLOW_WORDS; i++) if ((w[i]! ^ fw[i]!) & mw[i]!) return false;
    return true;
  }

  /** Same mask and same values: the "strict" identity of flow_mod. */
  equals(o: Match): boolean {
    return this.wc.equals(o.wc) && this.flow.equals(o.flow);
  }

  /**
   * True if every packet this match accepts is also accepted by `loose`: `loose` fixes no bit
   * this match leaves free, and agrees on the bits it fixes. This is how non-strict
   * OFPFC_MODIFY/OFPFC_DELETE select rules.
   */
  isSubsetOf(loose: Match): boolean {
    const lw = loose.wc.w;
    const lf = loose.flow.w;
    const mw = this.wc.w;
    const mf = this.flow.w;
    for (let i = 0; i < FLOW_WORDS; i++) {
      if (lw[i]! & ~mw[i]!) return false;
      if ((lf[i]! ^ mf[i]!) & lw[i]!) return false;
    }
    return true;
  }

  /** True if some packet could satisfy both matches (they agree wherever both fix a bit). */
  overlaps(o: Match): boolean {
    for (let i = 0; i < FLOW_WORDS; i++) {
      if ((this.flow.w[i]! ^ o.flow.w[i]!) & this.wc.w[i]! & o.wc.w[i]!) return false;
    }
    return true;
  }

  clone(): Match {
    return new Match(this.flow, this.wc);
  }
}

/** Describes an unmet prerequisite: which field, and what the match must also contain. */
export interface PrereqProblem {
  /** The field by the name a user knows it in this match (nd_sll, not arp_sha, in an IPv6 one). */
  field: string;
  /** Human description of what is needed, e.g. `dl_type=0x0800 (ip) or dl_type=0x0806 (arp)`. */
  needs: string;
  /** Shorthand a user can prepend to fix it, e.g. `ip`. */
  fix: string;
}

/** `f` (dl_type or nw_proto: one word) matched exactly to `v`; compared as numbers, as every flow_mod checks it. */
function exactEq(m: Match, f: 'dl_type' | 'nw_proto', v: number): boolean {
  return m.wc.num(f) === FIELDS[f].wordMax[0] && m.flow.num(f) === v;
}

function isIp4(m: Match): boolean {
  return exactEq(m, 'dl_type', ETH_TYPE.IP);
}
function isIp6(m: Match): boolean {
  return exactEq(m, 'dl_type', ETH_TYPE.IPV6);
}
function isArp(m: Match): boolean {
  return exactEq(m, 'dl_type', ETH_TYPE.ARP) || exactEq(m, 'dl_type', ETH_TYPE.RARP);
}
/** An ICMPv6 neighbor solicitation (135) or advertisement (136), as OVS tests it: on the values of type and code. */
function isNd(m: Match, type: number): boolean {
  return isIp6(m) && exactEq(m, 'nw_proto', IP_PROTO.ICMPV6) && m.flow.num('tp_src') === type && m.flow.num('tp_dst') === 0;
}

/** Returns the first unmet prerequisite of `m`, or undefined if every matched field is legal. */
export function findPrereqProblem(m: Match): PrereqProblem | undefined {
  const has = (f: FieldId) => m.wc.has(f);
  for (const f of ['nw_src', 'nw_dst'] as const) {
    if (has(f) && !isIp4(m) && !isArp(m)) {
      return { field: f, needs: 'dl_type=0x0800 (ip) or dl_type=0x0806 (arp)', fix: 'ip' };
    }
  }
  for (const f of ['ipv6_src', 'ipv6_dst'] as const) {
    if (has(f) && !isIp6(m)) return { field: f, needs: 'dl_type=0x86dd (ipv6)', fix: 'ipv6' };
  }
  if (has('nw_proto') && !isIp4(m) && !isIp6(m) && !isArp(m)) {
    return { field: 'nw_proto', needs: 'dl_type=0x0800 (ip), 0x86dd (ipv6) or 0x0806 (arp)', fix: 'ip' };
  }
  for (const f of ['nw_tos', 'nw_ttl'] as const) {
    if (has(f) && !isIp4(m) && !isIp6(m)) return { field: f, needs: 'dl_type=0x0800 (ip) or dl_type=0x86dd (ipv6)', fix: 'ip' };
  }
  for (const f of ['tp_src', 'tp_dst'] as const) {
    if (!has(f)) continue;
    const ip = isIp4(m) || isIp6(m);
    const proto = m.wc.num('nw_proto') === FIELDS.nw_proto.wordMax[0] ? m.flow.num('nw_proto') : -1;
    const l4 = proto === IP_PROTO.TCP || proto === IP_PROTO.UDP || proto === IP_PROTO.SCTP;
    const icmp = (isIp4(m) && proto === IP_PROTO.ICMP) || (isIp6(m) && proto === IP_PROTO.ICMPV6);
    if (!ip || !(l4 || icmp)) {
      return { field: f, needs: 'an IP protocol with ports: nw_proto=6 (tcp), 17 (udp), 132 (sctp), or icmp/icmp6 for icmp_type/icmp_code', fix: 'tcp' };
    }
  }
  if (has('tcp_flags') && !((isIp4(m) || isIp6(m)) && exactEq(m, 'nw_proto', IP_PROTO.TCP))) {
    return { field: 'tcp_flags', needs: 'nw_proto=6 over IPv4 or IPv6', fix: 'tcp' };
  }
  for (const f of ['nd_target', 'nd_reserved', 'nd_options_type'] as const) {
    if (has(f) && !isNd(m, ND_TYPE.SOLICIT) && !isNd(m, ND_TYPE.ADVERT)) {
      return { field: f, needs: 'icmp6 with icmp_type=135 (neighbor solicitation) or icmp_type=136 (advertisement) and icmp_code=0', fix: 'icmp6,icmp_type=135' };
    }
  }
  for (const [f, nd, ndType] of [['arp_sha', 'nd_sll', ND_TYPE.SOLICIT], ['arp_tha', 'nd_tll', ND_TYPE.ADVERT]] as const) {
    if (!has(f) || isArp(m) || isNd(m, ndType)) continue;
    if (isIp6(m)) return { field: nd, needs: `icmp6 with icmp_type=${ndType} and icmp_code=0 (${nd} is in ${ndType === ND_TYPE.SOLICIT ? 'neighbor solicitations' : 'neighbor advertisements'})`, fix: `icmp6,icmp_type=${ndType}` };
    return { field: f, needs: 'dl_type=0x0806 (arp)', fix: 'arp' };
  }
  return undefined;
}

/** Throws OFPBMC_BAD_PREREQ if some matched field lacks its prerequisites. */
export function checkPrerequisites(m: Match): void {
  const p = findPrereqProblem(m);
  if (p) throw new OfpError('OFPBMC_BAD_PREREQ', `match on ${p.field} requires ${p.needs}`);
}
