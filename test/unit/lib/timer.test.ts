import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LongTimeout, MAX_TIMEOUT_STEP_MS } from '../../../src/lib/timer.js';

describe('LongTimeout', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('fires after a delay longer than setTimeout holds, and not a millisecond before', () => {
    const fired = vi.fn();
    new LongTimeout(fired, 2 ** 32);
    vi.advanceTimersByTime(2 ** 32 - 1);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fired).toHaveBeenCalledTimes(1);
  });

  it('fires a short delay at once, as setTimeout would', () => {
    const fired = vi.fn();
    new LongTimeout(fired, 5);
    vi.advanceTimersByTime(5);
    expect(fired).toHaveBeenCalledTimes(1);
  });

  it('can be cleared after its first step, and an infinite delay never fires', () => {
    const fired = vi.fn();
    const t = new LongTimeout(fired, 3 * MAX_TIMEOUT_STEP_MS);
    vi.advanceTimersByTime(MAX_TIMEOUT_STEP_MS + 10);
    t.clear();
    new LongTimeout(fired, Infinity);
    vi.advanceTimersByTime(10 * MAX_TIMEOUT_STEP_MS);
    expect(fired).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
  });
});
