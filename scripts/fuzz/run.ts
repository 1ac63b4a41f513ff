// Runs one fuzz target for a number of inputs from a seed, counting what the parser accepted, what
// it refused in its own words (its own error, or a result saying so), and what crashed it (any
// other exception), with the slowest input's time as the hang detector's measure.
import { Mutator, xorshift32 } from './mutate.js';
import type { FuzzTarget } from './targets.js';

export interface FuzzCrash {
  /** The input's number in the run: the same seed and count reproduce it. */
  index: number;
  error: string;
  input: Buffer;
}

export interface FuzzResult {
  target: string;
  inputs: number;
  accepted: number;
  refused: number;
  crashes: FuzzCrash[];
  slowestMs: number;
}

export function runFuzz(target: FuzzTarget, opts: { count: number; seed: number; progress?: (done: number) => void }): FuzzResult {
  const m = new Mutator(xorshift32(opts.seed));
  const result: FuzzResult = { target: target.name, inputs: 0, accepted: 0, refused: 0, crashes: [], slowestMs: 0 };
  for (let i = 0; i < opts.count; i++) {
    const input = target.input(m);
    const start = performance.now();
    try {
      // A parser may also refuse by its return value (a stream parser's error event, say).
      if (target.run(input)) result.accepted++;
      else result.refused++;
    } catch (e) {
      if (target.refusal(e)) result.refused++;
      else result.crashes.push({ index: i, error: e instanceof Error ? (e.stack ?? e.message) : String(e), input: target.save(input) });
    }
    result.slowestMs = Math.max(result.slowestMs, performance.now() - start);
    result.inputs++;
    if (opts.progress && (i + 1) % 50_000 === 0) opts.progress(i + 1);
  }
  return result;
}
