// Memory back after a flood. A flood of new MACs or 5-tuples fills the MAC tables and the flow
// cache; once they expire the daemon's own structures are small again, but its RSS is not:
// V8 collects garbage only when the program allocates, which an idle daemon hardly does, and
// glibc keeps freed blocks in its arenas. Like OVS's memory trimming (lib/memory-trim.c, which
// calls malloc_trim once ovs-vswitchd has been quiet for a while after being busy), the daemon
// collects and trims once the load has fallen to a quarter of its peak and stayed there.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { loadAddon } from '../lib/addon.js';
import { getLogger } from '../lib/log.js';

const log = getLogger('memory');
/** A peak smaller than this many flows and MACs is ordinary traffic, not a flood worth a trim. */
const FLOOD = 1000;

let gc: (() => void) | undefined;

/** A full garbage collection, through the gc() V8 gives a context made after --expose-gc is set. */
function collectGarbage(): void {
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
}

export interface Trimmed {
  rssBefore: number;
  rssAfter: number;
}

/** Collects garbage and hands free memory back to the kernel (also `tvs-appctl memory/trim`). */
export function trimMemory(): Trimmed {
  const rssBefore = process.memoryUsage.rss();
  collectGarbage();
  loadAddon().op_sys_trim_memory();
  return { rssBefore, rssAfter: process.memoryUsage.rss() };
}

export function describeTrim(t: Trimmed): string {
  return `collected and trimmed, RSS ${mb(t.rssBefore)} -> ${mb(t.rssAfter)}`;
}

export class MemoryTrimmer {
  private peak = 0;
  /** Whether the last check already found the load down from its peak. */
  private settled = false;
  /** RSS after the last trim of this flood's aftermath. */
  private trimmedRss: number | undefined;

  /** `load` counts what a flood fills: datapath flows plus learned MACs. */
  constructor(
    private readonly load: () => number,
    private readonly trim: () => Trimmed = trimMemory,
  ) {}

  /**
   * Called periodically. Once the load has been down at a quarter of its peak for two checks,
   * trims at every check until a trim gains less than a megabyte: V8 frees the pages of a
   * collection's garbage after it, so the second trim is often the one that counts.
   */
  check(): void {
    const now = this.load();
    if (now > this.peak) this.peak = now;
    if (this.peak < FLOOD || now * 4 > this.peak) {
      this.settled = false;
      return;
    }
    if (!this.settled) {
      this.settled = true;
      return;
    }
    const trimmed = this.trim();
    log.info(`load down from ${this.peak} flows and MACs to ${now}: ${describeTrim(trimmed)}`);
    const rss = trimmed.rssAfter;
    if (this.trimmedRss !== undefined && this.trimmedRss - rss < 2 ** 20) {
      this.peak = now;
      this.settled = false;
      this.trimmedRss = undefined;
    } else this.trimmedRss = rss;
  }
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;
