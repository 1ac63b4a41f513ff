// The fuzzing tests' random numbers: seeded, so a failing input reproduces from the test's seed.

/** xorshift32 from `seed` (0 is taken as 1, on which xorshift would stay): numbers in [0, 1). */
export function xorshift32(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}
