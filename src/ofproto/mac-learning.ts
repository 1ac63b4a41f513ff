/**
 * The MAC learning table behind the NORMAL action: (MAC, VLAN) -> port, as OVS's
 * lib/mac-learning.c keeps it.
 *
 * - An entry ages out `agingSec` seconds (default 300) after its MAC was last seen.
 * - The table holds at most `maxEntries` (default 8192); learning a new MAC into a full table
 *   evicts the least recently learned entry (an LRU list in Map insertion order: every learn
 *   moves its entry to the back).
 * - Multicast source addresses are never learned.
 * - `version` counts changes that can alter forwarding (new entry, a host moving, eviction,
 *   expiry, flush). Refreshing an entry's age does not count. The revalidator compares it with
 *   the version it last saw to know when datapath flows must be checked again.
 *
 * Times are milliseconds on an injectable clock.
 */
import { formatMac } from '../lib/addr.js';
import { OFPP } from './actions.js';

const MAC_DEFAULT_AGING_SEC = 300;
const MAC_DEFAULT_MAX_ENTRIES = 8192;

export interface MacEntry {
  mac: bigint;
  vlan: number;
  /** OpenFlow port number. */
  port: number;
  /** When the MAC was last seen (ms). */
  seenAt: number;
}

export interface MacLearningOptions {
  agingSec?: number;
  maxEntries?: number;
  clock?: () => number;
}

/** What `learn` did. */
export type LearnResult = 'new' | 'moved' | 'refreshed' | 'ignored';

export function isMulticastMac(mac: bigint): boolean {
  return ((mac >> 40n) & 1n) === 1n;
}

function keyOf(mac: bigint, vlan: number): string {
  return `${vlan}/${mac.toString(16)}`;
}

export class MacLearningTable {
  private readonly entries_ = new Map<string, MacEntry>();
  private readonly clock: () => number;
  agingSec: number;
  maxEntries: number;
  /** Bumped on every change that can alter forwarding. */
  version = 0;
  /** How many times a known MAC was learned on another port (a host moved, or a loop). */
  moves = 0;

  constructor(opts: MacLearningOptions = {}) {
    this.clock = opts.clock ?? (() => performance.now());
    this.agingSec = opts.agingSec ?? MAC_DEFAULT_AGING_SEC;
    this.maxEntries = opts.maxEntries ?? MAC_DEFAULT_MAX_ENTRIES;
    if (!(this.agingSec > 0)) throw new RangeError(`mac aging time must be positive, got ${this.agingSec}`);
    if (!(Number.isInteger(this.maxEntries) && this.maxEntries > 0)) throw new RangeError(`mac table size must be a positive integer, got ${this.maxEntries}`);
  }

  get size(): number {
    return this.entries_.size;
  }

  now(): number {
    return this.clock();
  }

  /**
   * Records that `mac` was seen on `port` in `vlan`. Returns 'new' or 'moved' when forwarding
   * changes (the caller should revalidate), 'refreshed' when only the age resets, 'ignored' for
   * multicast sources.
   */
  learn(mac: bigint, vlan: number, port: number, now = this.clock()): LearnResult {
    if (isMulticastMac(mac)) return 'ignored';
    const k = keyOf(mac, vlan);
    const e = this.entries_.get(k);
    if (e) {
      this.entries_.delete(k);
      this.entries_.set(k, e);
      e.seenAt = Math.max(e.seenAt, now);
      if (e.port === port) return 'refreshed';
      e.port = port;
      this.version++;
      this.moves++;
      return 'moved';
    }
    while (this.entries_.size >= this.maxEntries) {
      const oldest = this.entries_.keys().next().value as string;
      this.entries_.delete(oldest);
    }
    this.entries_.set(k, { mac, vlan, port, seenAt: now });
    this.version++;
    return 'new';
  }

  /**
   * Learning again for traffic a cached datapath flow saw on `port`, last at `seenAt` (OVS's
   * XC_NORMAL). It moves an entry that is on another port only when this traffic is newer than the
   * last sighting there: frames a host sent before it moved must not drag its MAC back to where
   * it was, while a host's own traffic after a spoofed frame wins its MAC back. With `seenAt`
   * unknown, it only refreshes an entry that is already on `port`.
   */
  relearn(mac: bigint, vlan: number, port: number, seenAt: number | undefined): LearnResult {
    const e = this.entries_.get(keyOf(mac, vlan));
    if (seenAt === undefined) {
      if (!e || e.port !== port) return 'ignored';
      return this.learn(mac, vlan, port);
    }
    if (e && e.port !== port && e.seenAt >= seenAt) return 'ignored';
    return this.learn(mac, vlan, port, seenAt);
  }

  /** The port `mac` was learned on in `vlan`, or undefined. */
  lookup(mac: bigint, vlan: number): number | undefined {
    return this.entries_.get(keyOf(mac, vlan))?.port;
  }

  /** Removes every entry, or those on one port and/or VLAN. Returns how many. */
  flush(filter: { port?: number; vlan?: number } = {}): number {
    let n = 0;
    for (const [k, e] of this.entries_) {
      if ((filter.port === undefined || e.port === filter.port) && (filter.vlan === undefined || e.vlan === filter.vlan)) {
        this.entries_.delete(k);
        n++;
      }
    }
    if (n) this.version++;
    return n;
  }

  /** Removes entries not seen for agingSec. Returns them. */
  expire(now = this.clock()): MacEntry[] {
    const out: MacEntry[] = [];
    for (const [k, e] of this.entries_) {
      if (now - e.seenAt >= this.agingSec * 1000) {
        this.entries_.delete(k);
        out.push(e);
      }
    }
    if (out.length) this.version++;
    return out;
  }

  /** Changes the table size, evicting the oldest entries if it shrinks. */
  setMaxEntries(n: number): void {
    if (!(Number.isInteger(n) && n > 0)) throw new RangeError(`mac table size must be a positive integer, got ${n}`);
    this.maxEntries = n;
    let evicted = false;
    while (this.entries_.size > n) {
      this.entries_.delete(this.entries_.keys().next().value as string);
      evicted = true;
    }
    if (evicted) this.version++;
  }

  /** Entries, least recently seen first. */
  entries(): MacEntry[] {
    return [...this.entries_.values()];
  }

  /**
   * The `fdb/show` table, as OVS prints it: a header, then one line per entry with the port
   * (number, or LOCAL), VLAN, MAC and age in seconds.
   */
  format(now = this.clock(), portName: (port: number) => string = defaultPortName): string {
    let s = ' port  VLAN  MAC                Age\n';
    for (const e of this.entries()) {
      const age = Math.max(0, Math.floor((now - e.seenAt) / 1000));
      s += `${portName(e.port).padStart(5)}  ${String(e.vlan).padStart(4)}  ${formatMac(e.mac)}  ${String(age).padStart(3)}\n`;
    }
    return s;
  }
}

function defaultPortName(port: number): string {
  return port === OFPP.LOCAL ? 'LOCAL' : String(port);
}
