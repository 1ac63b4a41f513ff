/**
 * Revalidation (OVS's revalidators, as pure logic): re-translate each installed megaflow from the
 * key that created it and decide whether the datapath copy is still right.
 *
 * - keep: same actions, and the mask the tables now need is no wider than the installed one.
 * - modify: different actions (a rule changed, a VLAN changed, a host moved...), same class of
 *   traffic: replace the actions in place.
 * - delete: the installed mask is too wide for what the tables now consult (it would catch
 *   packets that deserve other actions), or the in_port left the bridge. The next packet misses
 *   and installs a fresh flow.
 *
 * Translation runs without side effects: revalidation never learns MACs.
 *
 * Stats: `creditStats` pushes a megaflow's packet/byte delta to the rules and groups that produced
 * it (so idle timeouts see traffic that never reaches the slow path) and learns again from the
 * MACs NORMAL learned from, as OVS's xlate cache does: a host that talks only through the fast
 * path does not age out, and a host whose MAC a spoofed frame moved to another port wins it back
 * within a revalidation round, although its own traffic never misses.
 */
import { encodeActions, type Action as DpAction } from '../datapath/actions.js';
import type { Rule } from './flow-table.js';
import type { Group } from './groups.js';
import type { Mirror } from './mirror.js';
import type { NetflowRef } from './netflow.js';
import type { BridgeContext, MacRef, XlateResult } from './xlate.js';
import { wcToMask } from './odp-convert.js';
import { portCarriesVlan } from './vlan.js';
import { xlateMiss } from './xlate.js';

/** What a megaflow remembers of the translation that made it (OVS's xlate cache). */
export interface XlateCache {
  rules: Rule[];
  groups: Group[];
  macs: MacRef[];
  /** The mirrors that sent a copy (OVS's XC_MIRROR). */
  mirrors: Mirror[];
  /** The NetFlow flow its traffic counts toward (OVS's XC_NETFLOW). */
  netflow?: NetflowRef;
}

export function cacheOf(r: XlateResult): XlateCache {
  const macs = r.sideEffects.macRefs;
  if (r.ruleHits.length === 1 && r.groupHits.length === 0 && macs.length === 0 && r.mirrorHits.length === 0 && !r.netflow) return singleRuleCache(r.ruleHits[0]!);
  const cache: XlateCache = { rules: [...new Set(r.ruleHits)], groups: [...new Set(r.groupHits)], macs, mirrors: r.mirrorHits };
  if (r.netflow) cache.netflow = r.netflow;
  return cache;
}

/**
 * Megaflows made by one rule alone share one cache (caches are replaced,
 * never changed): a flood of new flows through a single rule then keeps
 * no per-flow cache alive for the collector to copy.
 */
const SINGLE_RULE_CACHES = new WeakMap<Rule, XlateCache>();

function singleRuleCache(rule: Rule): XlateCache {
  let cache = SINGLE_RULE_CACHES.get(rule);
  if (!cache) {
    cache = { rules: [rule], groups: [], macs: [], mirrors: [] };
    SINGLE_RULE_CACHES.set(rule, cache);
  }
  return cache;
}

/** An installed datapath flow as the revalidator sees it: key and mask in the datapath's byte layout. */
export interface InstalledFlow {
  key: Buffer;
  mask: Buffer;
  /** Structural actions, or their encoding as the addon holds it. */
  actions: DpAction[] | Buffer;
  cache?: XlateCache;
}

export type Verdict =
  | { kind: 'keep'; cache: XlateCache }
  | { kind: 'modify'; actions: DpAction[]; cache: XlateCache }
  | { kind: 'delete'; reason: string };

export interface RevalidateResult<F extends InstalledFlow> {
  keep: Array<{ flow: F; cache: XlateCache }>;
  modify: Array<{ flow: F; actions: DpAction[]; cache: XlateCache }>;
  delete: Array<{ flow: F; reason: string }>;
}

function encoded(a: DpAction[] | Buffer): Buffer {
  return Buffer.isBuffer(a) ? a : encodeActions(a);
}

/** True if every bit set in mask `inner` is set in mask `outer`. */
function maskWithin(inner: Buffer, outer: Buffer): boolean {
  for (let i = 0; i < inner.length; i++) if (inner[i]! & ~outer[i]!) return false;
  return true;
}

/** Re-translates one installed flow and says what to do with it. */
function revalidateFlow(bridge: BridgeContext, f: InstalledFlow): Verdict {
  const r = xlateMiss(bridge, f.key, { sideEffects: false });
  if (!r) return { kind: 'delete', reason: `datapath port ${f.key.readUInt32LE(0)} is no longer on bridge ${bridge.name}` };
  if (!maskWithin(wcToMask(r.wc, f.key), f.mask)) return { kind: 'delete', reason: 'the tables now consult fields the installed megaflow wildcards' };
  const cache = cacheOf(r);
  if (encoded(r.actions).equals(encoded(f.actions))) return { kind: 'keep', cache };
  return { kind: 'modify', actions: r.actions, cache };
}

/** Revalidates every flow; the caller applies modify/delete to the datapath. */
export function revalidate<F extends InstalledFlow>(bridge: BridgeContext, flows: Iterable<F>): RevalidateResult<F> {
  const out: RevalidateResult<F> = { keep: [], modify: [], delete: [] };
  for (const flow of flows) {
    const v = revalidateFlow(bridge, flow);
    if (v.kind === 'keep') out.keep.push({ flow, cache: v.cache });
    else if (v.kind === 'modify') out.modify.push({ flow, actions: v.actions, cache: v.cache });
    else out.delete.push({ flow, reason: v.reason });
  }
  return out;
}

/** Traffic a megaflow saw since the last report. */
export interface StatsDelta {
  packets: number | bigint;
  bytes: number | bigint;
  /**
   * When it was last used (ms on the bridge's clock). Rules count it as used now when absent;
   * MAC entries move back only for traffic whose time is known (see MacLearningTable.relearn).
   */
  usedAt?: number;
}

/** Credits a megaflow's stats delta to its rules, groups and mirrors and learns again from its MACs. */
export function creditStats(bridge: BridgeContext, cache: XlateCache, delta: StatsDelta): void {
  if (BigInt(delta.packets) === 0n) return;
  const at = delta.usedAt ?? bridge.tables.now();
  for (const r of cache.rules) bridge.tables.credit(r, delta.packets, delta.bytes, at);
  for (const g of cache.groups) {
    g.nPackets += BigInt(delta.packets);
    g.nBytes += BigInt(delta.bytes);
  }
  for (const m of cache.mirrors) {
    m.txPackets += BigInt(delta.packets);
    m.txBytes += BigInt(delta.bytes);
  }
  for (const m of cache.macs) relearn(bridge, m, delta.usedAt);
}

/**
 * NORMAL's learning, run again for traffic a cached megaflow saw (OVS's
 * XC_NORMAL): the entry's age resets, and if the table has the MAC on
 * another port now and this traffic is newer than what put it there, it
 * moves back to the port this traffic came in on. A move bumps the table's
 * version, so the flows toward the MAC are revalidated. A port that has left
 * the bridge, or no longer carries the VLAN, learns nothing: its MACs were
 * flushed on purpose.
 */
function relearn(bridge: BridgeContext, m: MacRef, seenAt: number | undefined): void {
  const port = bridge.port(m.port);
  if (!port || !portCarriesVlan(port.vlan, m.vlan)) return;
  bridge.mac.relearn(m.mac, m.vlan, m.port, seenAt);
}
