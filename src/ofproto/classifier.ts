/**
 * Tuple-space classifier: rules grouped into subtables by mask, one hash table per subtable,
 * subtables visited in order of their highest priority so the walk stops as soon as no remaining
 * subtable can beat the best rule found (max-priority pruning).
 *
 * `lookup(flow, wc)` reports what the decision consulted: it ORs into `wc` the mask of every
 * subtable it probed, including higher-priority subtables that did not match. A subtable it
 * pruned cannot change the outcome for any flow equal to this one under `wc` (the walk up to the
 * pruning point is identical for such a flow), so leaving its mask out is safe. This is the
 * conservative wildcard of OVS's classifier without staged lookup or prefix tries.
 */
import { FLOW_WORDS, Flow, FlowWildcards } from './flow.js';
import type { Match } from './match.js';

/** What the classifier needs from a rule. */
export interface ClsRule {
  readonly match: Match;
  readonly priority: number;
}

/** Rules sharing one exact masked value within a subtable, highest priority first. */
interface Bucket<R extends ClsRule> {
  /** Masked values of the subtable's significant words (signed, as `&` yields them). */
  readonly key: Int32Array;
  readonly rules: R[];
  next: Bucket<R> | undefined;
}

function mix(h: number, x: number): number {
  h = Math.imul(h ^ x, 0x9e3779b1);
  return (h ^ (h >>> 15)) | 0;
}

class Subtable<R extends ClsRule> {
  /** Indices of the mask's nonzero words and their masks: the only words hashed or compared. */
  readonly idx: Uint8Array;
  readonly msk: Uint32Array;
  readonly mask: FlowWildcards;
  readonly buckets = new Map<number, Bucket<R>>();
  /** Count of rules per priority, to keep maxPriority right when rules leave. */
  readonly priorities = new Map<number, number>();
  maxPriority = -1;
  nRules = 0;

  constructor(mask: FlowWildcards) {
    this.mask = mask.keep();
    const idx: number[] = [];
    for (let i = 0; i < FLOW_WORDS; i++) if (mask.w[i]) idx.push(i);
    this.idx = Uint8Array.from(idx);
    this.msk = Uint32Array.from(idx.map((i) => mask.w[i]!));
  }

  hashFlow(w: Uint32Array): number {
    let h = 0x811c9dc5;
    const idx = this.idx;
    const msk = this.msk;
    for (let j = 0; j < idx.length; j++) h = mix(h, w[idx[j]!]! & msk[j]!);
    return h;
  }

  keyOf(w: Uint32Array): Int32Array {
    const k = new Int32Array(this.idx.length);
    for (let j = 0; j < this.idx.length; j++) k[j] = w[this.idx[j]!]! & this.msk[j]!;
    return k;
  }

  /** The bucket holding rules whose masked values equal `w`'s. */
  find(w: Uint32Array, h: number): Bucket<R> | undefined {
    const idx = this.idx;
    const msk = this.msk;
    let b = this.buckets.get(h);
    while (b) {
      const k = b.key;
      let j = 0;
      while (j < idx.length && (w[idx[j]!]! & msk[j]!) === k[j]) j++;
      if (j === idx.length) return b;
      b = b.next;
    }
    return undefined;
  }

  notePriorityAdded(p: number): void {
    this.priorities.set(p, (this.priorities.get(p) ?? 0) + 1);
    if (p > this.maxPriority) this.maxPriority = p;
  }

  notePriorityRemoved(p: number): void {
    const n = (this.priorities.get(p) ?? 1) - 1;
    if (n > 0) {
      this.priorities.set(p, n);
      return;
    }
    this.priorities.delete(p);
    if (p === this.maxPriority) {
      let max = -1;
      for (const q of this.priorities.keys()) if (q > max) max = q;
      this.maxPriority = max;
    }
  }
}

/** A mask's words hashed: subtables are found by it, then told apart by comparing the masks. */
function maskHash(wc: FlowWildcards): number {
  let h = 0x811c9dc5;
  const w = wc.w;
  for (let i = 0; i < w.length; i++) h = mix(h, w[i]!);
  return h;
}

/** A set of rules searchable by packet, by exact match, or by covering match. */
export class Classifier<R extends ClsRule> {
  /** Subtables in the order they were made (the order rules() walks them). */
  private subtables: Subtable<R>[] = [];
  /** Subtables by maskHash of their mask. */
  private readonly byMask = new Map<number, Subtable<R>[]>();
  /** Subtables by descending maxPriority; rebuilt lazily when a maximum changes. */
  private ordered: Subtable<R>[] = [];
  private dirty = false;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Number of distinct masks (tuples). */
  get nSubtables(): number {
    return this.subtables.length;
  }

  private subtableOf(wc: FlowWildcards, h = maskHash(wc)): Subtable<R> | undefined {
    const chain = this.byMask.get(h);
    if (chain) for (const st of chain) if (st.mask.equals(wc)) return st;
    return undefined;
  }

  /**
   * Inserts `rule`. If a rule with an identical match and priority is present it is replaced and
   * returned (OpenFlow ADD semantics are the caller's; the classifier only keeps one).
   */
  insert(rule: R): R | undefined {
    const mh = maskHash(rule.match.wc);
    let st = this.subtableOf(rule.match.wc, mh);
    if (!st) {
      st = new Subtable<R>(rule.match.wc);
      const chain = this.byMask.get(mh);
      if (chain) chain.push(st);
      else this.byMask.set(mh, [st]);
      this.subtables.push(st);
      this.ordered.push(st);
      this.dirty = true;
    }
    const w = rule.match.flow.w;
    const h = st.hashFlow(w);
    let b = st.find(w, h);
    if (!b) {
      b = { key: st.keyOf(w), rules: [], next: st.buckets.get(h) };
      st.buckets.set(h, b);
    }
    const rules = b.rules;
    let i = 0;
    while (i < rules.length && rules[i]!.priority > rule.priority) i++;
    if (i < rules.length && rules[i]!.priority === rule.priority) {
      const old = rules[i]!;
      rules[i] = rule;
      return old;
    }
    rules.splice(i, 0, rule);
    const before = st.maxPriority;
    st.notePriorityAdded(rule.priority);
    st.nRules++;
    this.count++;
    if (st.maxPriority !== before) this.dirty = true;
    return undefined;
  }

  /** Removes `rule` (by identity). Returns false if it was not present. */
  remove(rule: R): boolean {
    const mh = maskHash(rule.match.wc);
    const st = this.subtableOf(rule.match.wc, mh);
    if (!st) return false;
    const w = rule.match.flow.w;
    const h = st.hashFlow(w);
    const b = st.find(w, h);
    if (!b) return false;
    const i = b.rules.indexOf(rule);
    if (i < 0) return false;
    b.rules.splice(i, 1);
    if (b.rules.length === 0) {
      // Unlink the bucket from its hash chain.
      let head = st.buckets.get(h);
      if (head === b) {
        if (b.next) st.buckets.set(h, b.next);
        else st.buckets.delete(h);
      } else {
        while (head && head.next !== b) head = head.next;
        if (head) head.next = b.next;
      }
    }
    const before = st.maxPriority;
    st.notePriorityRemoved(rule.priority);
    st.nRules--;
    this.count--;
    if (st.nRules === 0) {
      const chain = this.byMask.get(mh)!.filter((s) => s !== st);
      if (chain.length) this.byMask.set(mh, chain);
      else this.byMask.delete(mh);
      this.subtables = this.subtables.filter((s) => s !== st);
      this.ordered = this.ordered.filter((s) => s !== st);
    } else if (st.maxPriority !== before) {
      this.dirty = true;
    }
    return true;
  }

  /** The rule with exactly this match and priority (the "strict" rule of flow_mod). */
  findExact(match: Match, priority: number): R | undefined {
    const st = this.subtableOf(match.wc);
    if (!st) return undefined;
    const w = match.flow.w;
    const b = st.find(w, st.hashFlow(w));
    return b?.rules.find((r) => r.priority === priority);
  }

  /**
   * The highest-priority rule matching `flow`, or undefined. Ties between equal-priority rules in
   * different subtables go to the subtable visited first, which does not depend on `flow`.
   * ORs into `wc` the mask of every subtable probed.
   */
  lookup(flow: Flow, wc?: FlowWildcards): R | undefined {
    if (this.dirty) this.reorder();
    const w = flow.w;
    let best: R | undefined;
    let bestPri = -1;
    const ordered = this.ordered;
    for (let s = 0; s < ordered.length; s++) {
      const st = ordered[s]!;
      if (st.maxPriority <= bestPri) break;
      if (wc) {
        const idx = st.idx;
        const msk = st.msk;
        for (let j = 0; j < idx.length; j++) wc.w[idx[j]!]! |= msk[j]!;
      }
      const b = st.find(w, st.hashFlow(w));
      if (b) {
        const r = b.rules[0]!;
        if (r.priority > bestPri) {
          best = r;
          bestPri = r.priority;
        }
      }
    }
    return best;
  }

  /** Every rule, in no particular order. */
  *rules(): IterableIterator<R> {
    for (const st of this.subtables) {
      for (const b of st.buckets.values()) {
        for (let x: Bucket<R> | undefined = b; x; x = x.next) yield* x.rules;
      }
    }
  }

  /** Rules at least as specific as `loose` (non-strict flow_mod selection). */
  *rulesCoveredBy(loose: Match): IterableIterator<R> {
    for (const st of this.subtables) {
      if (!loose.wc.isSubsetOf(st.mask)) continue;
      for (const b of st.buckets.values()) {
        for (let x: Bucket<R> | undefined = b; x; x = x.next) {
          const r = x.rules[0];
          if (r && r.match.isSubsetOf(loose)) yield* x.rules;
        }
      }
    }
  }

  /** A rule of the same priority that some packet could match together with `match`. */
  findOverlap(match: Match, priority: number): R | undefined {
    for (const st of this.subtables) {
      if (!st.priorities.has(priority)) continue;
      for (const b of st.buckets.values()) {
        for (let x: Bucket<R> | undefined = b; x; x = x.next) {
          const r = x.rules.find((q) => q.priority === priority);
          if (r && r.match.overlaps(match)) return r;
        }
      }
    }
    return undefined;
  }

  private reorder(): void {
    this.ordered.sort((a, b) => b.maxPriority - a.maxPriority);
    this.dirty = false;
  }
}
