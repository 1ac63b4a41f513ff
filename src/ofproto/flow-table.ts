/**
 * OpenFlow tables 0-254 and flow_mod semantics as OpenFlow 1.3 defines them.
 *
 * - ADD: check_overlap rejects a same-priority rule some packet could match together with the new
 *   one (OFPFMFC_OVERLAP). An identical match+priority is replaced: duration restarts, counters
 *   carry over unless reset_counts. No flow-removed message for the replaced rule.
 * - MODIFY / MODIFY_STRICT: replace the instructions of the selected rules (non-strict: every
 *   rule at least as specific as the match, priority ignored; strict: identical match and
 *   priority). Cookie filter applies; out_port/out_group are ignored. Cookie, timeouts, flags,
 *   counters and duration stay, except counters with reset_counts. No match: nothing happens.
 * - DELETE / DELETE_STRICT: the same selection plus out_port/out_group filters; table 255 means
 *   every table. Rules with send_flow_rem report reason "delete".
 * - Timeouts: `expire()` removes rules idle for idle_timeout seconds (since last credited traffic)
 *   or alive for hard_timeout seconds, against an injectable millisecond clock.
 *
 * A new set of tables holds one rule, `priority=0,actions=NORMAL`, as an OVS bridge does.
 *
 * Several flow_mods can be applied as one (an OpenFlow bundle): `begin()` opens an undo log, every
 * change after it records how to take it back, and flow-removed notices wait; `rollback()` undoes
 * the changes in reverse and drops the notices, `commit()` keeps the changes and sends them.
 */
import { outputsToGroup, outputsToPort, OFPG, OFPP, output, type Instructions } from './actions.js';
import { Classifier } from './classifier.js';
import type { Flow, FlowWildcards } from './flow.js';
import { checkPrerequisites, Match } from './match.js';
import { OfpError } from './ofperr.js';

const N_TABLES = 255;
/** "All tables" in flow_mod and stats requests. */
export const OFPTT_ALL = 0xff;
export const OFP_DEFAULT_PRIORITY = 0x8000;

export type FlowModCommand = 'add' | 'modify' | 'modify_strict' | 'delete' | 'delete_strict';

export interface FlowModFlags {
  sendFlowRem?: boolean;
  checkOverlap?: boolean;
  resetCounts?: boolean;
  noPacketCounts?: boolean;
  noByteCounts?: boolean;
}

/** A flow_mod request, protocol-independent. */
export interface FlowMod {
  command: FlowModCommand;
  /** 0-254, or 255 (OFPTT_ALL) for modify/delete in every table. */
  tableId: number;
  match: Match;
  priority: number;
  /** For add: the new rule's cookie. For modify/delete: compared under cookieMask. */
  cookie: bigint;
  cookieMask: bigint;
  /** For modify without a cookie mask: the cookie to set on the modified rules (OVS extension). */
  newCookie?: bigint;
  idleTimeout: number;
  hardTimeout: number;
  importance: number;
  flags: FlowModFlags;
  /** Delete filters; OFPP.ANY / OFPG.ANY disable them. */
  outPort: number;
  outGroup: number;
  instructions: Instructions;
}

/** A flow_mod with OpenFlow's defaults for every field not given. */
export function flowMod(p: Partial<FlowMod> & Pick<FlowMod, 'command'>): FlowMod {
  return {
    tableId: p.command === 'add' ? 0 : OFPTT_ALL,
    match: Match.catchAll(),
    priority: OFP_DEFAULT_PRIORITY,
    cookie: 0n,
    cookieMask: 0n,
    idleTimeout: 0,
    hardTimeout: 0,
    importance: 0,
    flags: {},
    outPort: OFPP.ANY,
    outGroup: OFPG.ANY,
    instructions: { apply: [], clearActions: false },
    ...p,
  };
}

/** Why a rule left its table (ofp_flow_removed_reason). */
export type FlowRemovedReason = 'idle_timeout' | 'hard_timeout' | 'delete' | 'group_delete' | 'meter_delete';

/** One rule of one table. */
export class Rule {
  /** Last time traffic was credited (ms on the tables' clock); starts at creation. */
  usedAt: number;
  modifiedAt: number;
  nPackets = 0n;
  nBytes = 0n;

  constructor(
    readonly tableId: number,
    readonly match: Match,
    readonly priority: number,
    public cookie: bigint,
    public instructions: Instructions,
    readonly idleTimeout: number,
    readonly hardTimeout: number,
    readonly importance: number,
    readonly flags: Readonly<FlowModFlags>,
    readonly createdAt: number,
  ) {
    this.usedAt = createdAt;
    this.modifiedAt = createdAt;
  }
}

export interface FlowRemoved {
  rule: Rule;
  reason: FlowRemovedReason;
}

/** What a flow_mod did. */
export interface FlowModResult {
  added: Rule[];
  modified: Rule[];
  /** Of `modified`, the rules whose actions or cookie changed (what flow monitors report). */
  changed?: Rule[];
  /** Rules removed by delete (all of them, with or without send_flow_rem). */
  removed: FlowRemoved[];
  /** Rule displaced by an ADD of an identical match and priority. */
  replaced?: Rule;
}

export interface FlowTablesOptions {
  /** Milliseconds, monotonic. Defaults to `performance.now()`. */
  clock?: () => number;
  /** Install `priority=0,actions=NORMAL` in table 0 (default true). */
  defaultRule?: boolean;
  /** Called for every removed rule that has send_flow_rem (idle, hard, delete, group delete). */
  onFlowRemoved?: (ev: FlowRemoved) => void;
}

/** Tables 0-254 of one bridge. */
export class FlowTables {
  private readonly tables: Classifier<Rule>[] = [];
  private readonly clock: () => number;
  private readonly onFlowRemoved: ((ev: FlowRemoved) => void) | undefined;
  /** While a transaction is open: how to undo each change, and the flow-removed notices it holds back. */
  private txn: { undo: Array<() => void>; removed: FlowRemoved[] } | undefined;

  constructor(opts: FlowTablesOptions = {}) {
    this.clock = opts.clock ?? (() => performance.now());
    this.onFlowRemoved = opts.onFlowRemoved;
    for (let i = 0; i < N_TABLES; i++) this.tables.push(new Classifier<Rule>());
    if (opts.defaultRule ?? true) {
      this.apply(flowMod({ command: 'add', tableId: 0, priority: 0, instructions: { apply: [output(OFPP.NORMAL)], clearActions: false } }));
    }
  }

  now(): number {
    return this.clock();
  }

  /** The classifier behind one table (for the xlate author who wants more than lookup). */
  table(tableId: number): Classifier<Rule> {
    const t = this.tables[tableId];
    if (!t) throw new OfpError('OFPFMFC_BAD_TABLE_ID', `table ${tableId} does not exist (tables are 0-${N_TABLES - 1})`);
    return t;
  }

  /**
   * The highest-priority rule of `tableId` matching `flow`. ORs into `wc` every field the
   * decision depended on (see Classifier.lookup). Does not touch counters: call `credit`.
   */
  lookup(tableId: number, flow: Flow, wc?: FlowWildcards): Rule | undefined {
    return this.table(tableId).lookup(flow, wc);
  }

  /** Adds traffic to a rule's counters and refreshes its idle timer. */
  credit(rule: Rule, packets: number | bigint, bytes: number | bigint, at = this.clock()): void {
    if (!rule.flags.noPacketCounts) rule.nPackets += BigInt(packets);
    if (!rule.flags.noByteCounts) rule.nBytes += BigInt(bytes);
    if (at > rule.usedAt) rule.usedAt = at;
  }

  /** Number of rules in one table, or in all. */
  count(tableId?: number): number {
    if (tableId !== undefined) return this.table(tableId).size;
    return this.tables.reduce((n, t) => n + t.size, 0);
  }

  /** Rules in table order, then by descending priority (the order dump-flows prints). */
  dump(filter?: { tableId?: number; match?: Match; cookie?: bigint; cookieMask?: bigint; outPort?: number; outGroup?: number }): Rule[] {
    const tid = filter?.tableId ?? OFPTT_ALL;
    const out = this.select(tid, filter?.match ?? Match.catchAll(), undefined, filter?.cookie ?? 0n, filter?.cookieMask ?? 0n, filter?.outPort ?? OFPP.ANY, filter?.outGroup ?? OFPG.ANY);
    return out.sort((a, b) => a.tableId - b.tableId || b.priority - a.priority);
  }

  /** Executes a flow_mod. Throws OfpError for requests OpenFlow rejects. */
  apply(fm: FlowMod): FlowModResult {
    if (!(fm.tableId >= 0 && fm.tableId < N_TABLES) && !(fm.tableId === OFPTT_ALL && fm.command !== 'add')) {
      throw new OfpError('OFPFMFC_BAD_TABLE_ID', `table=${fm.tableId} does not exist: use 0-${N_TABLES - 1}${fm.command === 'add' ? ' (add needs one table)' : ' or 255 for all'}`);
    }
    if (fm.instructions.gotoTable !== undefined && fm.tableId !== OFPTT_ALL && fm.instructions.gotoTable <= fm.tableId) {
      throw new OfpError('OFPBIC_BAD_TABLE_ID', `goto_table:${fm.instructions.gotoTable} must name a table after table ${fm.tableId}`);
    }
    switch (fm.command) {
      case 'add':
        return this.add(fm);
      case 'modify':
      case 'modify_strict':
        return this.modify(fm, fm.command === 'modify_strict');
      case 'delete':
      case 'delete_strict':
        return this.delete(fm, fm.command === 'delete_strict');
      default:
        throw new OfpError('OFPFMFC_BAD_COMMAND', `unknown flow_mod command ${String((fm as { command: unknown }).command)}`);
    }
  }

  /** Opens a transaction: the changes until commit() or rollback() can be undone together. */
  begin(): void {
    if (this.txn) throw new Error('a flow table transaction is already open');
    this.txn = { undo: [], removed: [] };
  }

  /** Keeps the transaction's changes and sends the flow-removed notices it held. */
  commit(): void {
    const txn = this.txn;
    this.txn = undefined;
    for (const ev of txn?.removed ?? []) this.onFlowRemoved?.(ev);
  }

  /** Undoes every change since begin(), newest first; no flow-removed notice leaves. */
  rollback(): void {
    const txn = this.txn;
    this.txn = undefined;
    for (const undo of (txn?.undo ?? []).reverse()) undo();
  }

  /** Removes every rule forwarding to group `groupId` (OpenFlow: deleting a group deletes them). */
  deleteRulesForGroup(groupId: number): FlowRemoved[] {
    const victims = this.select(OFPTT_ALL, Match.catchAll(), undefined, 0n, 0n, OFPP.ANY, groupId);
    return victims.map((r) => this.removeRule(r, 'group_delete'));
  }

  /** Removes every rule metered by `meterId` (OpenFlow: deleting a meter deletes them). */
  deleteRulesForMeter(meterId: number): FlowRemoved[] {
    return this.dump()
      .filter((r) => r.instructions.meter === meterId)
      .map((r) => this.removeRule(r, 'meter_delete'));
  }

  /** Removes rules whose idle or hard timeout has passed. Hard wins when both have. */
  expire(now = this.clock()): FlowRemoved[] {
    const out: FlowRemoved[] = [];
    for (const t of this.tables) {
      if (t.size === 0) continue;
      const due: Array<[Rule, FlowRemovedReason]> = [];
      for (const r of t.rules()) {
        if (r.hardTimeout && now - r.createdAt >= r.hardTimeout * 1000) due.push([r, 'hard_timeout']);
        else if (r.idleTimeout && now - r.usedAt >= r.idleTimeout * 1000) due.push([r, 'idle_timeout']);
      }
      for (const [r, reason] of due) out.push(this.removeRule(r, reason));
    }
    return out;
  }

  private add(fm: FlowMod): FlowModResult {
    checkPrerequisites(fm.match);
    const t = this.table(fm.tableId);
    if (fm.flags.checkOverlap) {
      const o = t.findOverlap(fm.match, fm.priority);
      if (o && !o.match.equals(fm.match)) {
        throw new OfpError('OFPFMFC_OVERLAP', `check_overlap: a priority=${fm.priority} rule in table ${fm.tableId} already matches some of the same packets`);
      }
      if (o) throw new OfpError('OFPFMFC_OVERLAP', `check_overlap: an identical priority=${fm.priority} rule exists in table ${fm.tableId}`);
    }
    const now = this.clock();
    const rule = new Rule(fm.tableId, fm.match.clone(), fm.priority, fm.cookie, fm.instructions, fm.idleTimeout, fm.hardTimeout, fm.importance, { ...fm.flags }, now);
    const replaced = t.insert(rule);
    this.txn?.undo.push(() => {
      t.remove(rule);
      if (replaced) t.insert(replaced);
    });
    if (replaced && !fm.flags.resetCounts) {
      rule.nPackets = replaced.nPackets;
      rule.nBytes = replaced.nBytes;
    }
    return replaced ? { added: [rule], modified: [], removed: [], replaced } : { added: [rule], modified: [], removed: [] };
  }

  private modify(fm: FlowMod, strict: boolean): FlowModResult {
    const rules = this.select(fm.tableId, fm.match, strict ? fm.priority : undefined, fm.cookie, fm.cookieMask, OFPP.ANY, OFPG.ANY);
    const now = this.clock();
    const changed: Rule[] = [];
    for (const r of rules) {
      const { instructions, modifiedAt, cookie, nPackets, nBytes } = r;
      if (!sameInstructions(instructions, fm.instructions) || (fm.newCookie !== undefined && fm.cookieMask === 0n && fm.newCookie !== cookie)) changed.push(r);
      this.txn?.undo.push(() => Object.assign(r, { instructions, modifiedAt, cookie, nPackets, nBytes }));
      r.instructions = fm.instructions;
      r.modifiedAt = now;
      if (fm.newCookie !== undefined && fm.cookieMask === 0n) r.cookie = fm.newCookie;
      if (fm.flags.resetCounts) {
        r.nPackets = 0n;
        r.nBytes = 0n;
      }
    }
    return { added: [], modified: rules, changed, removed: [] };
  }

  private delete(fm: FlowMod, strict: boolean): FlowModResult {
    const rules = this.select(fm.tableId, fm.match, strict ? fm.priority : undefined, fm.cookie, fm.cookieMask, fm.outPort, fm.outGroup);
    return { added: [], modified: [], removed: rules.map((r) => this.removeRule(r, 'delete')) };
  }

  private removeRule(r: Rule, reason: FlowRemovedReason): FlowRemoved {
    const table = this.tables[r.tableId]!;
    table.remove(r);
    const ev = { rule: r, reason };
    if (this.txn) {
      this.txn.undo.push(() => table.insert(r));
      if (r.flags.sendFlowRem) this.txn.removed.push(ev);
    } else if (r.flags.sendFlowRem) {
      this.onFlowRemoved?.(ev);
    }
    return ev;
  }

  /** Selection shared by modify, delete and dump. `priority` set = strict. */
  private select(tableId: number, match: Match, priority: number | undefined, cookie: bigint, cookieMask: bigint, outPort: number, outGroup: number): Rule[] {
    const tables = tableId === OFPTT_ALL ? this.tables : [this.table(tableId)];
    const out: Rule[] = [];
    const keep = (r: Rule) =>
      ((r.cookie ^ cookie) & cookieMask) === 0n && outputsToPort(r.instructions, outPort) && outputsToGroup(r.instructions, outGroup);
    for (const t of tables) {
      if (priority !== undefined) {
        const r = t.findExact(match, priority);
        if (r && keep(r)) out.push(r);
      } else {
        for (const r of t.rulesCoveredBy(match)) if (keep(r)) out.push(r);
      }
    }
    return out;
  }
}

/** Whether two rules' instructions do the same (compared as data). */
function sameInstructions(a: Instructions, b: Instructions): boolean {
  const text = (i: Instructions) => JSON.stringify(i, (_key, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
  return a === b || text(a) === text(b);
}
