/**
 * Port mirroring (OVS's ofproto-dpif-mirror): the Mirror rows of one bridge, which frames each
 * selects, where its copies go, and what it has sent.
 *
 * A mirror selects the frames received on its source ports and those sent to its destination
 * ports (every port with select_all), optionally only in some VLANs (select_vlan), and sends a
 * copy of each out its output port (SPAN) or tagged with its output VLAN on every port that
 * carries that VLAN (RSPAN). xlate asks this set at input and at each output which mirrors
 * apply (see Ctx.mirrorPacket); the copies are datapath outputs in the megaflow, so mirroring
 * costs no extra upcall. As in OVS, a mirror's output port is reserved for mirroring: NORMAL
 * neither forwards to it nor accepts frames from it.
 *
 * Mirrors are bits of a 32-bit mask (OVS's mirror_mask_t, MAX_MIRRORS), so a translation can
 * remember cheaply which ones it has already served: a frame goes once to each output, however
 * many mirrors select it.
 */
import { VLAN_CFI } from './flow.js';
import type { ResolvedVlan } from './vlan.js';

/** Most mirrors per bridge (OVS's MAX_MIRRORS). */
export const MAX_MIRRORS = 32;

/** One mirror's configuration, in OpenFlow port numbers (the Mirror row, resolved). */
export interface MirrorSpec {
  /** What identifies the mirror across reconfigurations (its Mirror row's uuid): its counters stay. */
  id: string;
  name: string;
  /** Every port, both directions, including ports added later (select_all). */
  selectAll: boolean;
  /** Ports whose received frames it selects (select_src_port). */
  srcPorts: readonly number[];
  /** Ports whose sent frames it selects (select_dst_port). */
  dstPorts: readonly number[];
  /** Only frames in these VLANs (select_vlan); empty: every VLAN. */
  vlans: readonly number[];
  /** SPAN: copies go out this port. */
  outPort?: number;
  /** RSPAN: copies go, tagged with this VLAN, to every port that carries it (when there is no outPort). */
  outVlan?: number;
}

/** A configured mirror and what it has sent (OVS writes these as Mirror.statistics). */
export class Mirror {
  txPackets = 0n;
  txBytes = 0n;
  /** The mirrors, this one included, with the same output: a frame sent by one is not sent by the others. */
  dup = 0;
  spec: MirrorSpec;
  /** The VLANs it selects; undefined: every VLAN. */
  vlans: ReadonlySet<number> | undefined;

  constructor(
    /** This mirror's bit in the masks. */
    readonly bit: number,
    spec: MirrorSpec,
  ) {
    this.spec = spec;
    this.vlans = vlansOf(spec);
  }

  configure(spec: MirrorSpec): void {
    this.spec = spec;
    this.vlans = vlansOf(spec);
  }

  /** The key mirrors with the same output share. */
  outputKey(): string {
    return this.spec.outPort !== undefined ? `port ${this.spec.outPort}` : `vlan ${this.spec.outVlan ?? 'none'}`;
  }
}

/** The mirrors of one bridge. */
export class MirrorSet {
  private byId = new Map<string, Mirror>();
  /** By bit position. */
  private byBit: (Mirror | undefined)[] = [];
  private allMask = 0;
  private readonly src = new Map<number, number>();
  private readonly dst = new Map<number, number>();
  private readonly out = new Set<number>();

  /**
   * Replaces the configuration with `specs` (each with an outPort or an outVlan). Mirrors that
   * stay keep their bit and counters. Returns the specs refused, with why (more than
   * MAX_MIRRORS), the others applied, and whether anything translations see changed.
   */
  set(specs: readonly MirrorSpec[]): { changed: boolean; refused: Array<{ spec: MirrorSpec; why: string }> } {
    const before = this.describe();
    const wanted = new Set(specs.map((s) => s.id));
    for (const [id, m] of this.byId) {
      if (wanted.has(id)) continue;
      this.byId.delete(id);
      this.byBit[bitIndex(m.bit)] = undefined;
    }
    const refused: Array<{ spec: MirrorSpec; why: string }> = [];
    for (const spec of specs) {
      const m = this.byId.get(spec.id);
      if (m) {
        m.configure(spec);
        continue;
      }
      const free = [...Array(MAX_MIRRORS).keys()].find((i) => !this.byBit[i]);
      if (free === undefined) {
        refused.push({ spec, why: `maximum of ${MAX_MIRRORS} port mirrors reached, cannot create ${spec.name} (delete another mirror of this bridge first)` });
        continue;
      }
      const created = new Mirror((1 << free) >>> 0, spec);
      this.byId.set(spec.id, created);
      this.byBit[free] = created;
    }
    this.index();
    return { changed: this.describe() !== before, refused };
  }

  /** True if the bridge has any mirror (the translation's fast check). */
  get active(): boolean {
    return this.byId.size > 0;
  }

  list(): Mirror[] {
    return [...this.byId.values()];
  }

  /** The mirror whose bit is `bit`. */
  byMask(bit: number): Mirror | undefined {
    return this.byBit[bitIndex(bit)];
  }

  /** The mirrors selecting frames received on `ofport`. */
  srcMirrors(ofport: number): number {
    return (this.allMask | (this.src.get(ofport) ?? 0)) >>> 0;
  }

  /** The mirrors selecting frames sent to `ofport`. */
  dstMirrors(ofport: number): number {
    return (this.allMask | (this.dst.get(ofport) ?? 0)) >>> 0;
  }

  /** True if `ofport` is a mirror's output port, reserved for mirroring. */
  isOutput(ofport: number): boolean {
    return this.out.has(ofport);
  }

  private index(): void {
    this.allMask = 0;
    this.src.clear();
    this.dst.clear();
    this.out.clear();
    const byOutput = new Map<string, number>();
    for (const m of this.byId.values()) {
      const s = m.spec;
      if (s.selectAll) this.allMask |= m.bit;
      for (const p of s.srcPorts) this.src.set(p, (this.src.get(p) ?? 0) | m.bit);
      for (const p of s.dstPorts) this.dst.set(p, (this.dst.get(p) ?? 0) | m.bit);
      if (s.outPort !== undefined) this.out.add(s.outPort);
      byOutput.set(m.outputKey(), (byOutput.get(m.outputKey()) ?? 0) | m.bit);
    }
    for (const m of this.byId.values()) m.dup = byOutput.get(m.outputKey())!;
  }

  /** The configuration as text, to tell whether a `set` changed anything translations see. */
  private describe(): string {
    return JSON.stringify([...this.byId.values()].map((m) => [m.bit, m.spec]));
  }
}

/**
 * The TCI a SPAN copy of a frame in `vlan` leaves the output port with (OVS's
 * xvlan_output_translate): untagged on an access port, and on a native-untagged port for its
 * native VLAN; tagged otherwise, whether or not the port's trunks list the VLAN, so that the
 * analyzer sees every VLAN the mirror selects.
 */
export function spanTci(v: ResolvedVlan, vlan: number, pcp: number): number {
  if (v.mode === 'access' || vlan === 0 || (v.mode === 'native-untagged' && vlan === v.tag)) return 0;
  return VLAN_CFI | ((pcp & 7) << 13) | vlan;
}

function vlansOf(spec: MirrorSpec): ReadonlySet<number> | undefined {
  return spec.vlans.length ? new Set(spec.vlans) : undefined;
}

function bitIndex(bit: number): number {
  return 31 - Math.clz32(bit);
}
