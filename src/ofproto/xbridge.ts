/**
 * A concrete bridge for xlate: ports with their VLAN config, OpenFlow tables, groups, meters and the MAC
 * table, plus a change sequence the revalidator watches.
 *
 * Every change that can alter how a datapath flow is translated goes through a method here and
 * bumps `changeSeq()`: flow_mods, group_mods, meter_mods, port add/remove/config, and the MAC table's own
 * version (learning, moves, expiry, flush). As OVS does, a port's learned MACs are flushed when
 * its VLAN configuration changes or it leaves the bridge.
 */
import { randomUUID } from 'node:crypto';
import type { FlowMod, FlowModResult, FlowRemoved, FlowRemovedReason, Rule } from './flow-table.js';
import { FlowTables } from './flow-table.js';
import { GroupTable, type GroupMod } from './groups.js';
import { MacLearningTable, type MacLearningOptions } from './mac-learning.js';
import { MirrorSet, type MirrorSpec } from './mirror.js';
import type { Netflow } from './netflow.js';
import type { IpfixSampling } from './ipfix-sampling.js';
import { MeterTable, OFPM, type MeterMod, type MeterStats } from './meters.js';
import { OfpError } from './ofperr.js';
import { PacketInTable } from './packet-in-table.js';
import { resolveVlan, type PortVlanConfig } from './vlan.js';
import type { BridgeConfig, BridgeContext, BridgePort } from './xlate.js';
import type { TunnelConfig, TunnelPortMap } from './tunnel.js';
import { presentBit, resolveTunMetadataMatch, TlvMap, tunMetadataInActions } from './tun-metadata.js';
import type { SflowSampling } from './sflow.js';

export interface PortSpec {
  ofport: number;
  dpPort: number;
  name: string;
  vlan?: PortVlanConfig;
  adminUp?: boolean;
  linkUp?: boolean;
  noFlood?: boolean;
  noRecv?: boolean;
  /** A tunnel port; its dpPort is the shared vport, so it is found by the tunnel map, not by dpPort. */
  tunnel?: TunnelConfig;
}

export interface XBridgeOptions {
  name: string;
  /** Milliseconds clock shared by tables, groups and the MAC table. */
  clock?: () => number;
  /** Install priority=0,actions=NORMAL (default true). */
  defaultRule?: boolean;
  mac?: Omit<MacLearningOptions, 'clock'>;
  config?: Partial<BridgeConfig>;
  onFlowRemoved?: (ev: FlowRemoved) => void;
  /** Called with every change to the rules (flow monitors watch them); a transaction's only once it commits. */
  onRulesChanged?: (changes: RuleChange[]) => void;
}

/** One rule added, modified (its actions or cookie) or deleted, as OpenFlow flow monitors report it. */
export type RuleChange = { event: 'added' | 'modified'; rule: Rule } | { event: 'deleted'; rule: Rule; reason: FlowRemovedReason };

export class XBridge implements BridgeContext {
  readonly name: string;
  readonly tables: FlowTables;
  readonly groups: GroupTable;
  readonly meters: MeterTable;
  readonly mac: MacLearningTable;
  readonly packetIns = new PacketInTable();
  readonly tlvMap = new TlvMap();
  readonly mirrors = new MirrorSet();
  /** sFlow sampling, while the bridge has an sFlow row (setSflow). */
  sflow: SflowSampling | undefined;
  /**
   * This bridge's identity for the life of the process (OVS's ofproto uuid): a paused packet-in's
   * continuation names it, so NXT_RESUME is refused as stale on another bridge or after a restart.
   */
  readonly uuid = randomUUID();
  config: BridgeConfig;
  /** The tunnel ports of every bridge on the datapath (OfprotoDpif's), for frames from tunnel vports. */
  tunnels: TunnelPortMap | undefined;
  /** NetFlow accounting (setNetflow); undefined while the bridge has none. */
  netflow: Netflow | undefined = undefined;
  /** IPFIX sampling (setIpfix); undefined while the bridge has none. */
  ipfix: IpfixSampling | undefined = undefined;
  private readonly byOf = new Map<number, BridgePort>();
  private readonly byDp = new Map<number, BridgePort>();
  private sorted: BridgePort[] = [];
  private generation = 0;
  private readonly onRulesChanged: ((changes: RuleChange[]) => void) | undefined;
  /** Changes of an open transaction, reported when it commits. */
  private heldChanges: RuleChange[] | undefined;

  constructor(opts: XBridgeOptions) {
    const clock = opts.clock ?? (() => performance.now());
    this.name = opts.name;
    this.tables = new FlowTables({ clock, defaultRule: opts.defaultRule ?? true, ...(opts.onFlowRemoved ? { onFlowRemoved: opts.onFlowRemoved } : {}) });
    this.groups = new GroupTable(clock);
    this.meters = new MeterTable(clock);
    this.mac = new MacLearningTable({ ...opts.mac, clock });
    this.onRulesChanged = opts.onRulesChanged;
    this.config = { upcallPid: 0, forwardBpdu: false, invalidTtlToController: false, missToController: false, ...opts.config };
  }

  port(ofport: number): BridgePort | undefined {
    return this.byOf.get(ofport);
  }

  portByDp(dpPort: number): BridgePort | undefined {
    return this.byDp.get(dpPort);
  }

  ports(): readonly BridgePort[] {
    return this.sorted;
  }

  /** Changes whenever a translation could come out differently. */
  changeSeq(): number {
    return this.generation + this.mac.version + this.tlvMap.version();
  }

  /** Adds or replaces a port. Throws VlanConfigError for a bad VLAN config. */
  addPort(spec: PortSpec): BridgePort {
    const old = this.byOf.get(spec.ofport);
    if (old) this.removePort(spec.ofport);
    const clash = spec.tunnel ? undefined : this.byDp.get(spec.dpPort);
    if (clash) throw new Error(`datapath port ${spec.dpPort} is already ${clash.name} (ofport ${clash.ofport})`);
    const p: BridgePort = {
      ofport: spec.ofport,
      dpPort: spec.dpPort,
      name: spec.name,
      vlan: resolveVlan(spec.vlan),
      adminUp: spec.adminUp ?? true,
      linkUp: spec.linkUp ?? true,
      noFlood: spec.noFlood ?? false,
      noRecv: spec.noRecv ?? false,
      ...(spec.tunnel ? { tunnel: spec.tunnel } : {}),
    };
    this.byOf.set(p.ofport, p);
    if (!p.tunnel) this.byDp.set(p.dpPort, p);
    this.resort();
    return p;
  }

  removePort(ofport: number): void {
    const p = this.byOf.get(ofport);
    if (!p) return;
    this.byOf.delete(ofport);
    if (!p.tunnel) this.byDp.delete(p.dpPort);
    this.mac.flush({ port: ofport });
    this.resort();
  }

  /** Changes a port's VLAN config; its learned MACs are flushed, as OVS does. */
  setPortVlan(ofport: number, vlan: PortVlanConfig): void {
    const p = this.mustPort(ofport);
    const next = { ...p, vlan: resolveVlan(vlan) };
    this.replace(next);
    this.mac.flush({ port: ofport });
  }

  setPortState(ofport: number, state: { adminUp?: boolean; linkUp?: boolean; noFlood?: boolean; noRecv?: boolean }): void {
    const p = this.mustPort(ofport);
    this.replace({ ...p, ...state });
  }

  /** Changes how the bridge translates (table-miss behaviour, fail-open); flows are revalidated. */
  setConfig(change: Partial<BridgeConfig>): void {
    const next = { ...this.config, ...change };
    if (JSON.stringify(next) === JSON.stringify(this.config)) return;
    this.config = next;
    this.generation++;
  }

  /**
   * Replaces the bridge's mirrors (see MirrorSet.set); a change revalidates its flows, so a
   * mirror removed stops its copies as soon as the revalidation is applied.
   */
  setMirrors(specs: readonly MirrorSpec[]): ReturnType<MirrorSet['set']>['refused'] {
    const { changed, refused } = this.mirrors.set(specs);
    if (changed) this.generation++;
    return refused;
  }

  /**
   * Starts, changes or stops sFlow sampling; a change revalidates the bridge's flows, so
   * the sample action appears in (or leaves) every megaflow at once.
   */
  setSflow(sflow: SflowSampling | undefined): void {
    if (sflow === this.sflow) return;
    this.sflow = sflow;
    this.generation++;
  }

  /**
   * Turns NetFlow on (or off, with undefined): the flows are revalidated, so that megaflows
   * installed without the 5-tuple NetFlow keys on make way for ones with it.
   */
  setNetflow(netflow: Netflow | undefined): void {
    if (netflow === this.netflow) return;
    this.netflow?.close();
    this.netflow = netflow;
    this.generation++;
  }

  /** Changes what IPFIX samples; a change revalidates the flows, so their sample actions follow. */
  setIpfix(sampling: IpfixSampling | undefined): void {
    const text = (s: IpfixSampling | undefined) => JSON.stringify(s && { ...s, collectorSets: [...s.collectorSets].sort((a, b) => a - b) });
    if (text(sampling) === text(this.ipfix)) return;
    this.ipfix = sampling;
    this.generation++;
  }

  flowMod(fm: FlowMod): FlowModResult {
    const meter = fm.instructions.meter;
    if (meter !== undefined && (fm.command === 'add' || fm.command.startsWith('modify')) && !this.meters.get(meter)) {
      throw new OfpError('OFPMMFC_INVALID_METER', `meter:${meter} names a meter bridge ${this.name} does not have: add-meter it first`);
    }
    if (fm.command === 'add' || fm.command.startsWith('modify')) this.checkTunMetadata(fm);
    const r = this.tables.apply(fm);
    this.generation++;
    this.report([
      ...r.added.map((rule) => ({ event: 'added' as const, rule })),
      ...(r.changed ?? []).map((rule) => ({ event: 'modified' as const, rule })),
      ...deletions(r.removed),
    ]);
    return r;
  }

  /** True if some rule matches tun_metadata<index> or names it in its actions (del-tlv-map refuses then). */
  usesTunMetadata(index: number): boolean {
    const bit = presentBit(index);
    return this.tables.dump().some((r) => r.match.wc.get('tun_metadata_present') & bit || tunMetadataInActions([...r.instructions.apply, ...(r.instructions.write ?? [])]).includes(index));
  }

  /** A flow's tun_metadata match and actions name mapped fields only; its match is put in the switch's form. */
  private checkTunMetadata(fm: FlowMod): void {
    resolveTunMetadataMatch(fm.match, this.tlvMap);
    for (const index of tunMetadataInActions([...fm.instructions.apply, ...(fm.instructions.write ?? [])])) {
      if (!this.tlvMap.get(index)) {
        throw new OfpError('OFPBAC_BAD_SET_ARGUMENT', `the actions use tun_metadata${index}, which is not mapped to a Geneve option: map it first with add-tlv-map`);
      }
    }
  }

  /**
   * Runs `changes` (flow_mods and group_mods) as one: if it throws, every rule and group is as
   * it was before and no flow-removed notice was sent; the error is rethrown.
   */
  transact<T>(changes: () => T): T {
    this.tables.begin();
    this.groups.begin();
    this.heldChanges = [];
    try {
      const result = changes();
      this.tables.commit();
      this.groups.commit();
      const held = this.heldChanges;
      this.heldChanges = undefined;
      this.report(held);
      return result;
    } catch (e) {
      this.tables.rollback();
      this.groups.rollback();
      throw e;
    } finally {
      this.heldChanges = undefined;
      this.generation++;
    }
  }

  /** Executes a group_mod; deleting a group also deletes the rules that use it. */
  groupMod(gm: GroupMod): FlowRemoved[] {
    const deleted = this.groups.apply(gm);
    const removed = deleted.flatMap((id) => this.tables.deleteRulesForGroup(id));
    this.generation++;
    this.report(deletions(removed));
    return removed;
  }

  /** Executes a meter_mod; deleting a meter also deletes the rules that use it. */
  meterMod(mm: MeterMod): FlowRemoved[] {
    const deleted = this.meters.apply(mm);
    const removed = deleted.flatMap((id) => this.tables.deleteRulesForMeter(id));
    this.generation++;
    this.report(deletions(removed));
    return removed;
  }

  /** Counters of meter `meterId` (OFPM_ALL: of every meter), with the number of rules using each. */
  meterStats(meterId: number): MeterStats[] {
    const ids = meterId === OFPM.ALL ? this.meters.dump().map((m) => m.meterId) : [meterId];
    const flows = this.tables.dump().filter((r) => r.instructions.meter !== undefined);
    return ids.flatMap((id) => this.meters.stats(id, flows.filter((r) => r.instructions.meter === id).length) ?? []);
  }

  /** Expires idle/hard timed-out rules and aged MACs. */
  expire(now?: number): { rules: FlowRemoved[]; macs: number } {
    const rules = this.tables.expire(now);
    if (rules.length) this.generation++;
    this.report(deletions(rules));
    const macs = this.mac.expire(now).length;
    return { rules, macs };
  }

  /** The name `fdb/show` prints for a port. */
  portName(ofport: number): string {
    return ofport === 0xfffe ? 'LOCAL' : String(ofport);
  }

  private report(changes: RuleChange[]): void {
    if (changes.length === 0) return;
    if (this.heldChanges) this.heldChanges.push(...changes);
    else this.onRulesChanged?.(changes);
  }

  private mustPort(ofport: number): BridgePort {
    const p = this.byOf.get(ofport);
    if (!p) throw new Error(`bridge ${this.name} has no port ${ofport}`);
    return p;
  }

  private replace(p: BridgePort): void {
    this.byOf.set(p.ofport, p);
    if (!p.tunnel) this.byDp.set(p.dpPort, p);
    this.resort();
  }

  private resort(): void {
    this.sorted = [...this.byOf.values()].sort((a, b) => a.ofport - b.ofport);
    this.generation++;
  }
}

function deletions(removed: readonly FlowRemoved[]): RuleChange[] {
  return removed.map(({ rule, reason }) => ({ event: 'deleted', rule, reason }));
}
