/**
 * Classifier micro-benchmark: 100 000 rules spread over 20 masks (tuples), then lookups of
 * random flows, half of them hitting a rule. Reports insert rate, lookup rate (with the
 * wildcard being accumulated, as xlate does) and the subtable count.
 *
 * `runClassifierBench()` is called by the main bench; run alone with
 * `npx tsc -p tsconfig.json && node dist/scripts/bench-classifier.js`.
 */
import { pathToFileURL } from 'node:url';
import { Classifier, type ClsRule } from '../src/ofproto/classifier.js';
import { Flow, FlowWildcards, type FieldId } from '../src/ofproto/flow.js';
import { Match } from '../src/ofproto/match.js';

interface BenchRule extends ClsRule {
  id: number;
}

/** Deterministic PRNG so runs are comparable. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

type MaskSpec = Array<[FieldId, bigint]>;

/** Twenty masks shaped like real tables: L2, L3 prefixes, 5-tuples, registers, tunnels. */
const MASKS: MaskSpec[] = [
  [['in_port', 0xffffffffn]],
  [['dl_dst', 0xffffffffffffn]],
  [['in_port', 0xffffffffn], ['dl_src', 0xffffffffffffn]],
  [['vlan_tci', 0x1fffn], ['dl_dst', 0xffffffffffffn]],
  [['dl_type', 0xffffn], ['nw_dst', 0xffffffffn]],
  [['dl_type', 0xffffn], ['nw_dst', 0xffffff00n]],
  [['dl_type', 0xffffn], ['nw_dst', 0xffff0000n]],
  [['dl_type', 0xffffn], ['nw_src', 0xffffffffn]],
  [['dl_type', 0xffffn], ['nw_src', 0xffffff00n], ['nw_dst', 0xffffff00n]],
  [['dl_type', 0xffffn], ['nw_proto', 0xffn], ['tp_dst', 0xffffn]],
  [['dl_type', 0xffffn], ['nw_proto', 0xffn], ['nw_dst', 0xffffffffn], ['tp_dst', 0xffffn]],
  [['dl_type', 0xffffn], ['nw_proto', 0xffn], ['nw_src', 0xffffffffn], ['nw_dst', 0xffffffffn], ['tp_src', 0xffffn], ['tp_dst', 0xffffn]],
  [['dl_type', 0xffffn], ['nw_proto', 0xffn], ['tp_dst', 0xfff0n]],
  [['reg0', 0xffffffffn]],
  [['reg0', 0xffffffffn], ['reg1', 0xffffn]],
  [['metadata', 0xffffffffffffffffn], ['nw_dst', 0xffffff00n], ['dl_type', 0xffffn]],
  [['tun_id', 0xffffffffn], ['dl_dst', 0xffffffffffffn]],
  [['in_port', 0xffffffffn], ['dl_type', 0xffffn], ['nw_src', 0xffffffffn]],
  [['dl_type', 0xffffn], ['ipv6_dst', 0xffffffffffffffff0000000000000000n]],
  [['in_port', 0xffffffffn], ['vlan_tci', 0x1fffn]],
];

function randomValue(r: () => number, mask: bigint): bigint {
  let v = 0n;
  for (let bits = mask.toString(2).length; bits > 0; bits -= 30) v = (v << 30n) | BigInt(Math.floor(r() * 2 ** 30));
  return v & mask;
}

export interface ClassifierBenchResult {
  rules: number;
  masks: number;
  subtables: number;
  insertPerSec: number;
  lookups: number;
  lookupPerSec: number;
  hitRate: number;
}

export async function runClassifierBench(opts: { rules?: number; lookups?: number } = {}): Promise<ClassifierBenchResult> {
  const nRules = opts.rules ?? 100_000;
  const nLookups = opts.lookups ?? 200_000;
  const r = rng(7);

  const rules: BenchRule[] = [];
  for (let i = 0; i < nRules; i++) {
    const spec = MASKS[i % MASKS.length]!;
    const m = new Match();
    for (const [f, mask] of spec) m.set(f, f === 'dl_type' ? 0x0800n : f === 'nw_proto' ? 6n : randomValue(r, mask), mask);
    rules.push({ id: i, priority: Math.floor(r() * 1000), match: m });
  }

  const cls = new Classifier<BenchRule>();
  const t0 = performance.now();
  for (const rule of rules) cls.insert(rule);
  const insertMs = performance.now() - t0;

  // Half the flows are built from a rule (so they hit), half are random.
  const flows: Flow[] = [];
  for (let i = 0; i < 4096; i++) {
    const f = new Flow();
    if (i % 2 === 0) {
      const rule = rules[Math.floor(r() * rules.length)]!;
      f.w.set(rule.match.flow.w);
    } else {
      f.set('in_port', BigInt(Math.floor(r() * 64))).set('dl_type', 0x0800n).set('nw_proto', 6n);
      f.set('nw_dst', randomValue(r, 0xffffffffn)).set('tp_dst', randomValue(r, 0xffffn));
    }
    flows.push(f);
  }

  let hits = 0;
  const wc = new FlowWildcards();
  // Warm up the JIT, then measure.
  for (let i = 0; i < 20_000; i++) cls.lookup(flows[i & 4095]!, wc);
  const t1 = performance.now();
  for (let i = 0; i < nLookups; i++) {
    wc.w.fill(0);
    if (cls.lookup(flows[i & 4095]!, wc)) hits++;
  }
  const lookupMs = performance.now() - t1;

  const result: ClassifierBenchResult = {
    rules: cls.size,
    masks: MASKS.length,
    subtables: cls.nSubtables,
    insertPerSec: Math.round(nRules / (insertMs / 1000)),
    lookups: nLookups,
    lookupPerSec: Math.round(nLookups / (lookupMs / 1000)),
    hitRate: Math.round((hits / nLookups) * 1000) / 1000,
  };
  console.log('classifier (tuple space, max-priority pruning)');
  console.table({
    'rules inserted': result.rules,
    subtables: result.subtables,
    'inserts/s': result.insertPerSec,
    'lookups/s (with wildcards)': result.lookupPerSec,
    'hit rate': result.hitRate,
  });
  return result;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(await runClassifierBench()));
}
