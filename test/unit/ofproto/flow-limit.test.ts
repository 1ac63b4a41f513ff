import { describe, expect, it } from 'vitest';
import { DynamicFlowLimit } from '../../../src/ofproto/flow-limit.js';

describe('the dynamic flow limit', () => {
  it('starts at other_config:flow-limit and stays there while passes are quick', () => {
    const l = new DynamicFlowLimit(200_000);
    expect(l.afterPass(5, 1000)).toBe(200_000);
  });

  it('takes a quarter off after a slow pass, and divides by the slowness after a very slow one', () => {
    const l = new DynamicFlowLimit(200_000);
    expect(l.afterPass(150, 100_000)).toBe(150_000);
    // 400 ms is twice the 200 ms a pass may take before the limit is divided.
    expect(l.afterPass(400, 100_000)).toBe(75_000);
  });

  it('never shrinks below 1000 flows', () => {
    const l = new DynamicFlowLimit(200_000);
    for (let i = 0; i < 20; i++) l.afterPass(5000, 1000);
    expect(l.limit).toBe(1000);
  });

  it('grows back by 1000 a quick pass while the flows press on it, up to the configured ceiling', () => {
    const l = new DynamicFlowLimit(3500);
    l.afterPass(5000, 3000);
    expect(l.limit).toBe(1000);
    expect(l.afterPass(10, 1000)).toBe(2000);
    expect(l.afterPass(10, 2000)).toBe(3000);
    expect(l.afterPass(10, 3000)).toBe(3500);
  });

  it('does not grow while the table is far from the limit', () => {
    const l = new DynamicFlowLimit(200_000);
    const shrunk = l.afterPass(5000, 1000);
    expect(shrunk).toBe(8000);
    expect(l.afterPass(10, 5)).toBe(8000);
  });

  it('reports the table full once the flows (and the installs on their way) reach the limit', () => {
    const l = new DynamicFlowLimit(2000);
    l.afterPass(1, 1990);
    expect(l.full()).toBe(false);
    expect(l.full(10)).toBe(true);
  });

  it('starts over from a new configured limit', () => {
    const l = new DynamicFlowLimit(200_000);
    l.afterPass(5000, 1000);
    l.configure(5000);
    expect(l.limit).toBe(5000);
  });
});
