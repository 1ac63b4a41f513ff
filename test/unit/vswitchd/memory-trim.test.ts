// When the daemon hands a flood's memory back: only after a real flood, only once its load has
// stayed down, and for as long as trimming still gains.
import { describe, expect, it } from 'vitest';
import { MemoryTrimmer, trimMemory, type Trimmed } from '../../../src/vswitchd/memory-trim.js';

/** A trimmer over a scripted load, whose trims report the RSS values given in turn. */
function rig(rssAfterTrims: number[]) {
  let load = 0;
  const trims: number[] = [];
  const trimmer = new MemoryTrimmer(
    () => load,
    (): Trimmed => {
      trims.push(load);
      return { rssBefore: 0, rssAfter: rssAfterTrims[trims.length - 1] ?? 0 };
    },
  );
  return {
    trims,
    checkAt(n: number) {
      load = n;
      trimmer.check();
    },
  };
}

const MB = 2 ** 20;

describe('memory trimming after a flood', () => {
  it('trims once the load has stayed at a quarter of its peak for two checks, and again while that gains a megabyte', () => {
    const r = rig([150 * MB, 90 * MB, 89.5 * MB]);
    r.checkAt(20_000);
    r.checkAt(12_000);
    expect(r.trims).toEqual([]);
    r.checkAt(3000); // down, not yet settled
    expect(r.trims).toEqual([]);
    r.checkAt(2000);
    r.checkAt(10);
    r.checkAt(10); // gained less than a megabyte: done with this flood
    r.checkAt(10);
    r.checkAt(10);
    expect(r.trims).toEqual([2000, 10, 10]);
  });

  it('leaves ordinary traffic alone: a peak under a thousand flows and MACs is no flood', () => {
    const r = rig([]);
    for (const n of [900, 10, 10, 10]) r.checkAt(n);
    expect(r.trims).toEqual([]);
  });

  it('waits again when the load climbs back between checks', () => {
    const r = rig([50 * MB, 50 * MB]);
    r.checkAt(8000);
    r.checkAt(100);
    r.checkAt(7000); // busy again
    r.checkAt(100);
    expect(r.trims).toEqual([]);
    r.checkAt(100);
    expect(r.trims).toEqual([100]);
  });

  it('collects garbage and trims for real, reporting RSS around it', () => {
    const t = trimMemory();
    expect(t.rssBefore).toBeGreaterThan(0);
    expect(t.rssAfter).toBeGreaterThan(0);
  });
});
