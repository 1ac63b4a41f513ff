// A short seeded run of every fuzz target (scripts/fuzz/targets.ts; `node dist/scripts/fuzz.js`
// runs them for a million inputs each): every input mutated from the real captures in
// scripts/fuzz/corpus/ is either accepted or refused with the parser's own error, never a crash.
import { describe, expect, it } from 'vitest';
import { runFuzz } from '../../scripts/fuzz/run.js';
import { TARGETS } from '../../scripts/fuzz/targets.js';

/** Inputs per target: a database file replays its whole schema per input, so it gets fewer. */
const COUNT: Record<string, number> = { 'db-file': 300 };

describe('fuzzed input', () => {
  it.each(Object.keys(TARGETS))('%s: mutated seeds, no crash', (name) => {
    const count = COUNT[name] ?? 2000;
    const result = runFuzz(TARGETS[name]!(), { count, seed: 2026 });
    expect(result.crashes.map((c) => `#${c.index}: ${c.error}`)).toEqual([]);
    expect(result.inputs).toBe(count);
    // The mutations must reach past the parsers' first checks, or the run proves little.
    expect(result.accepted).toBeGreaterThan(20);
  });
});
