// The fuzzers, for long runs outside CI (the suite runs each briefly with a fixed seed):
//
//   node dist/scripts/fuzz.js [--count N] [--seed S] [--target NAME]...
//
// Each target takes N inputs mutated from the corpus that scripts/fuzz/capture.ts recorded from
// Debian's OVS; the datapath's targets run in Rust (native/src/bin/tvs-fuzz.rs, built here). A
// crash's input is saved under fuzz-crashes/ with its target and index, to become a regression test.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runFuzz } from './fuzz/run.js';
import { TARGETS } from './fuzz/targets.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '1000000' },
    seed: { type: 'string', default: '1' },
    target: { type: 'string', multiple: true },
  },
});
const count = Number(values.count);
const seed = Number(values.seed);
if (!Number.isInteger(count) || count <= 0 || !Number.isInteger(seed)) throw new Error('--count takes a positive integer and --seed an integer');
const nativeTargets = ['frames', 'actions', 'tunnel'];
const wanted = values.target ?? [...Object.keys(TARGETS), 'native'];
for (const name of wanted) {
  if (!(name in TARGETS) && name !== 'native') throw new Error(`unknown target "${name}": the targets are ${[...Object.keys(TARGETS), 'native'].join(', ')}`);
}

let crashes = 0;
const rows: string[] = [];
for (const name of wanted.filter((n) => n !== 'native')) {
  const target = TARGETS[name]!();
  const rssBefore = process.memoryUsage().rss;
  const started = Date.now();
  console.log(`${name}: ${target.about}`);
  const r = runFuzz(target, { count, seed, progress: (done) => console.log(`  ${name}: ${done} inputs, ${Math.round((Date.now() - started) / 1000)} s`) });
  const rssAfter = process.memoryUsage().rss;
  for (const c of r.crashes) {
    mkdirSync('fuzz-crashes', { recursive: true });
    writeFileSync(join('fuzz-crashes', `${name}-${seed}-${c.index}.input`), c.input);
    if (crashes++ < 20) console.log(`  CRASH ${name} #${c.index}: ${c.error.split('\n').slice(0, 3).join(' | ')}`);
  }
  rows.push(`| ${name} | ${r.inputs} | ${r.accepted} | ${r.refused} | ${r.crashes.length} | ${r.slowestMs.toFixed(1)} ms | ${Math.round(rssBefore / 1e6)} -> ${Math.round(rssAfter / 1e6)} MB | ${Math.round((Date.now() - started) / 1000)} s |`);
  // Each target's row as soon as it is done: a long run is worth its partial results.
  console.log(`  done: ${rows.at(-1)!}`);
}
if (wanted.includes('native')) {
  console.log('native: frames through key extraction and every action, action lists through validation, tunnel headers through decapsulation');
  execFileSync('cargo', ['build', '--release', '--quiet', '--bin', 'tvs-fuzz'], { cwd: 'native', stdio: 'inherit' });
  const out = execFileSync(join('native', 'target', 'release', 'tvs-fuzz'), [String(count), String(seed)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  for (const line of out.trim().split('\n')) {
    const r = JSON.parse(line) as { target: string; inputs: number; accepted: number; refused: number; panics: number; slowest_us: number; seconds: number };
    crashes += r.panics;
    if (!nativeTargets.includes(r.target)) throw new Error(`tvs-fuzz reported an unknown target ${r.target}`);
    rows.push(`| native ${r.target} | ${r.inputs} | ${r.accepted} | ${r.refused} | ${r.panics} | ${(r.slowest_us / 1000).toFixed(1)} ms | - | ${r.seconds} s |`);
  }
}
console.log(`\n| target | inputs | accepted | refused | crashes | slowest input | RSS | time |\n|---|---|---|---|---|---|---|---|\n${rows.join('\n')}`);
process.exitCode = crashes === 0 ? 0 : 1;
