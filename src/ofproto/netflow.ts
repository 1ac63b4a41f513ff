/**
 * NetFlow v5 accounting for one bridge (OVS's ofproto/netflow.c). Records come from datapath
 * flow statistics, not from sampling: every megaflow's counters, as the revalidator collects
 * them, are added to a NetFlow flow keyed by in_port and the IPv4 5-tuple with ToS. A flow is
 * exported when its datapath flows go (idle expiry, revalidation) and, while it stays busy,
 * every active timeout; records are batched up to 30 a datagram.
 *
 * Only IPv4 is accounted (v5 carries nothing else). For the counters to be per 5-tuple, xlate
 * unwildcards those fields in the megaflows of a bridge with NetFlow on (netflowWildcards).
 */
import { encodeNetflowV5, NETFLOW_V5_MAX_RECORDS, type NetflowV5Record } from './netflow-v5.js';

/**
 * The output ifIndex of a flow that went out of more than one port (OVS's NF_OUT_*): flooded,
 * sent to several ports, or dropped.
 */
export const NF_OUT = { FLOOD: 0xffff, MULTI: 0xfffe, DROP: 0xfffd } as const;

/** Active timeout when the NetFlow row sets none (OVS's NF_ACTIVE_TIMEOUT_DEFAULT), in seconds. */
export const NF_ACTIVE_TIMEOUT_DEFAULT_SEC = 600;

/** What a NetFlow flow is keyed by (OVS's netflow_flow_lookup). */
export interface NetflowKey {
  /** OpenFlow port the packets came in on. */
  inPort: number;
  /** IPv4 addresses as 32-bit numbers. */
  nwSrc: number;
  nwDst: number;
  nwTos: number;
  nwProto: number;
  /** Transport ports; for ICMP, type and code. */
  tpSrc: number;
  tpDst: number;
}

/** What a translation says of its flow for NetFlow: the key and where the packets went. */
export interface NetflowRef {
  key: NetflowKey;
  /** An OpenFlow port, or one of NF_OUT. */
  output: number;
}

export interface NetflowOptions {
  engineType: number;
  engineId: number;
  /** Seconds; 0 turns active timeouts off. */
  activeTimeoutSec: number;
  /** Put engine_id's low 7 bits above the low 9 bits of the port numbers (to tell bridges apart). */
  addIdToInterface: boolean;
}

/** Traffic a flow saw since the last update. */
export interface NetflowDelta {
  packets: number;
  bytes: number;
  tcpFlags: number;
  /** When its last packet was seen (ms on the Netflow's clock). */
  usedAt: number;
}

interface NetflowFlow extends NetflowRef {
  /** When this flow was last exported for its active timeout (0: not yet timed). */
  lastExpired: number;
  /** When its first packet since the last export was seen (unset until one is). */
  created: number | undefined;
  used: number;
  packets: number;
  bytes: number;
  tcpFlags: number;
}

const IPPROTO_ICMP = 1;
/** NetFlow v5 counters are 32 bits: a larger count goes out as several records. */
const UINT32_MAX = 0xffffffff;
/** How often flows are checked for their active timeout (OVS checks once a second). */
const ACTIVE_CHECK_MS = 1000;

function keyString(k: NetflowKey): string {
  return `${k.inPort} ${k.nwSrc} ${k.nwDst} ${k.nwTos} ${k.nwProto} ${k.tpSrc} ${k.tpDst}`;
}

export class Netflow {
  private options: NetflowOptions = { engineType: 0, engineId: 0, activeTimeoutSec: NF_ACTIVE_TIMEOUT_DEFAULT_SEC, addIdToInterface: false };
  private readonly flows = new Map<string, NetflowFlow>();
  private readonly bootTime: number;
  /** Records exported so far: the next datagram's flow_sequence. */
  private sequence = 0;
  private pending: NetflowV5Record[] = [];
  private nextTimeout: number;
  /** When the active timeout last changed: flows timed before it are timed afresh. */
  private reconfigTime: number;

  constructor(
    /** Sends one datagram to every collector. */
    private readonly send: (datagram: Buffer) => void,
    /** Milliseconds, monotonic. */
    private readonly clock: () => number = () => performance.now(),
    /** Wall-clock time for the datagram header. */
    private readonly wallClock: () => { secs: number; nsecs: number } = wallNow,
  ) {
    this.bootTime = clock();
    this.nextTimeout = this.bootTime;
    this.reconfigTime = this.bootTime;
  }

  setOptions(options: NetflowOptions): void {
    if (options.activeTimeoutSec !== this.options.activeTimeoutSec) {
      this.reconfigTime = this.clock();
      this.nextTimeout = this.reconfigTime;
    }
    this.options = { ...options };
  }

  /** Adds a datapath flow's new traffic to its NetFlow flow. */
  update(ref: NetflowRef, delta: NetflowDelta): void {
    const id = keyString(ref.key);
    let f = this.flows.get(id);
    if (!f) {
      f = { key: ref.key, output: ref.output, lastExpired: 0, created: delta.usedAt, used: 0, packets: 0, bytes: 0, tcpFlags: 0 };
      this.flows.set(id, f);
    }
    if (f.output !== ref.output) {
      // The packets go elsewhere now: what went to the old output is one record, the rest another.
      this.expire(f);
      f.created = delta.usedAt;
      f.output = ref.output;
    }
    f.created ??= delta.usedAt;
    f.packets += delta.packets;
    f.bytes += delta.bytes;
    f.tcpFlags |= delta.tcpFlags;
    if (delta.usedAt > f.used) {
      f.used = delta.usedAt;
      // Timed from its first use, so that flows found at once do not all expire together later.
      if (!this.options.activeTimeoutSec || !f.lastExpired || this.reconfigTime > f.lastExpired) f.lastExpired = this.clock();
    }
  }

  /** The datapath flows of `key` are gone: exports what it has left and forgets it. */
  clear(key: NetflowKey): void {
    const id = keyString(key);
    const f = this.flows.get(id);
    if (!f) return;
    this.expire(f);
    this.flows.delete(id);
  }

  /** Sends what is pending and exports the flows whose active timeout passed. Call often. */
  run(): void {
    this.flush();
    const activeMs = this.options.activeTimeoutSec * 1000;
    const now = this.clock();
    if (!activeMs || now < this.nextTimeout) return;
    this.nextTimeout = now + ACTIVE_CHECK_MS;
    for (const [id, f] of this.flows) {
      if (now <= f.lastExpired + activeMs) continue;
      const idle = f.used < f.lastExpired;
      this.expire(f);
      // Unused for a whole timeout: whatever fed it has lost track of it.
      if (idle) this.flows.delete(id);
    }
    this.flush();
  }

  /** Exports every flow's counters now (the NetFlow row is going away). */
  close(): void {
    for (const f of this.flows.values()) this.expire(f);
    this.flows.clear();
    this.flush();
  }

  /** NetFlow flows being accounted. */
  get size(): number {
    return this.flows.size;
  }

  private expire(f: NetflowFlow): void {
    f.lastExpired += this.options.activeTimeoutSec * 1000;
    if (f.packets === 0) return;
    let { packets, bytes } = f;
    // Counters past 32 bits are spread evenly over as many records as they need.
    while (bytes > 0) {
      const records = Math.ceil(bytes / UINT32_MAX);
      const p = Math.floor(packets / records);
      const b = Math.floor(bytes / records);
      this.record(f, p, b);
      packets -= p;
      bytes -= b;
    }
    f.packets = 0;
    f.bytes = 0;
    f.tcpFlags = 0;
    // The next record covers the packets after this one (OVS keeps the first packet's time).
    f.created = undefined;
  }

  private record(f: NetflowFlow, packets: number, bytes: number): void {
    const { engineId, addIdToInterface } = this.options;
    const iface = (port: number) => (addIdToInterface ? ((engineId & 0x7f) << 9) | (port & 0x1ff) : port & 0xffff);
    const icmp = f.key.nwProto === IPPROTO_ICMP;
    const first = f.created ?? f.used;
    this.pending.push({
      srcAddr: f.key.nwSrc,
      dstAddr: f.key.nwDst,
      input: iface(f.key.inPort),
      output: iface(f.output),
      packets,
      bytes,
      first: Math.round(first - this.bootTime),
      last: Math.round(Math.max(first, f.used) - this.bootTime),
      // NetFlow puts ICMP's type and code together in the destination port.
      srcPort: icmp ? 0 : f.key.tpSrc,
      dstPort: icmp ? ((f.key.tpSrc & 0xff) << 8) | (f.key.tpDst & 0xff) : f.key.tpDst,
      tcpFlags: f.tcpFlags & 0xff,
      proto: f.key.nwProto,
      // The DSCP bits: ECN changes along a flow's path.
      tos: f.key.nwTos & 0xfc,
    });
    if (this.pending.length >= NETFLOW_V5_MAX_RECORDS) this.flush();
  }

  private flush(): void {
    if (!this.pending.length) return;
    const { secs, nsecs } = this.wallClock();
    const datagram = encodeNetflowV5(
      {
        sysUptime: Math.round(this.clock() - this.bootTime),
        unixSecs: secs,
        unixNsecs: nsecs,
        flowSequence: this.sequence,
        engineType: this.options.engineType,
        engineId: this.options.engineId,
      },
      this.pending,
    );
    this.sequence = (this.sequence + this.pending.length) >>> 0;
    this.pending = [];
    this.send(datagram);
  }
}

function wallNow(): { secs: number; nsecs: number } {
  const ns = process.hrtime.bigint() - HRTIME_AT_START + WALL_NS_AT_START;
  return { secs: Number(ns / 1_000_000_000n), nsecs: Number(ns % 1_000_000_000n) };
}
const WALL_NS_AT_START = BigInt(Date.now()) * 1_000_000n;
const HRTIME_AT_START = process.hrtime.bigint();

/**
 * The engine type and id a datapath gives NetFlow when the row sets none, derived as OVS's
 * userspace datapath derives them: a hash of the datapath's name (OVS's hash_string), its
 * high byte of 16 bits the type and its low byte the id.
 */
export function datapathNetflowIds(datapathName: string): { engineType: number; engineId: number } {
  const id = hashString(datapathName) & 0xffff;
  return { engineType: id >> 8, engineId: id & 0xff };
}

/** OVS's hash_bytes with basis 0 (the Murmur3-based lib/hash.h without SSE 4.2). */
function hashString(s: string): number {
  const bytes = Buffer.from(s);
  let hash = 0;
  let at = 0;
  for (; at + 4 <= bytes.length; at += 4) hash = mhashAdd(hash, bytes.readUInt32LE(at));
  if (at < bytes.length) {
    const tail = Buffer.alloc(4);
    bytes.copy(tail, 0, at);
    hash = mhashAdd(hash, tail.readUInt32LE(0));
  }
  return mhashFinish((hash ^ bytes.length) >>> 0);
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

function mhashAdd(hash: number, data: number): number {
  if (data) {
    let d = Math.imul(data, 0xcc9e2d51) >>> 0;
    d = rotl(d, 15);
    d = Math.imul(d, 0x1b873593) >>> 0;
    hash = (hash ^ d) >>> 0;
  }
  hash = rotl(hash, 13);
  return (Math.imul(hash, 5) + 0xe6546b64) >>> 0;
}

function mhashFinish(hash: number): number {
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b) >>> 0;
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35) >>> 0;
  hash ^= hash >>> 16;
  return hash >>> 0;
}
