// Timers whose delay comes from a user: an OVSDB "wait" timeout, a tool's --timeout. Node's
// setTimeout holds at most 2^31-1 ms (about 24.8 days) and fires at once for anything longer,
// with a TimeoutOverflowWarning, so a longer delay is waited out in steps that fit.

/** The longest delay setTimeout honours. */
export const MAX_TIMEOUT_STEP_MS = 2 ** 31 - 1;

/** A one-shot timer for any delay: Infinity never fires. */
export class LongTimeout {
  private handle: NodeJS.Timeout | undefined;

  constructor(
    private readonly fn: () => void,
    ms: number,
  ) {
    this.arm(ms);
  }

  clear(): void {
    clearTimeout(this.handle);
    this.handle = undefined;
  }

  private arm(remainingMs: number): void {
    if (remainingMs === Infinity) return;
    const step = Math.min(remainingMs, MAX_TIMEOUT_STEP_MS);
    this.handle = setTimeout(() => (remainingMs > step ? this.arm(remainingMs - step) : this.fn()), step);
  }
}
