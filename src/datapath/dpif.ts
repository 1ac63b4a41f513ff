// The TypeScript face of the datapath (OVS's "dpif"): ports, flows,
// counters and upcalls, over the Rust addon. The packed buffers it trades
// with the addon are laid out in abi.ts.
import type {
  DatapathHandle,
  NativeDpStats,
  NativeEvent,
  NativeExpiredFlow,
  NativeFlow,
  NativeFlowStats,
  NativeMeterStats,
  NativePortInfo,
} from '../../native/index.js';
import { FLOW_KEY_LEN, METER_BAND, RECENT, REPLY, RESULT, UPCALL_META, UPCALL_REASON } from './abi.js';
import { encodeActions, type Action } from './actions.js';
import { loadAddon } from '../lib/addon.js';
import { getLogger } from '../lib/log.js';
import { parseMac } from '../lib/addr.js';
import { encodeKey, type FlowKey } from './flow-key.js';

/**
 * `system`: an existing interface through AF_PACKET; `tap`: a tap device
 * the switch creates and holds; `dummy`: no device, frames injected and
 * read from JS (injectFrames, nextTransmitted); `patch`: one end of a pair
 * joined inside the datapath. `dummy` and `patch` need no privilege.
 */
export type PortType = 'system' | 'tap' | 'dummy' | 'patch';

/**
 * Tunnel vports, one per type and UDP port (OVS's vxlan_sys_4789,
 * genev_sys_6081, gre_sys), over the host's own IP stack.
 */
export type TunnelPortType = 'vxlan' | 'geneve' | 'gre';
export type PortInfo = NativePortInfo;
export type DatapathStats = NativeDpStats;
export type DatapathFlow = NativeFlow;
export type FlowStats = NativeFlowStats;
export type DatapathMeterStats = NativeMeterStats;

/** A band of a datapath meter: rate in kbit/s (packets/s for a pktps meter), burst in kbit (packets). */
export type DatapathMeterBand =
  | { type: 'drop'; rate: number; burstSize: number }
  | { type: 'dscp_remark'; rate: number; burstSize: number; precLevel: number };
export type ExpiredFlow = NativeExpiredFlow;

/** A frame the datapath passed up to the slow path. */
export interface Upcall {
  /** `miss`: no flow matched; `action`: a userspace action sent it (cookie says why). */
  reason: 'miss' | 'action';
  cookie?: bigint;
  /** The userspace action's whole userdata (its first 8 bytes are `cookie`); a view like `frame`. */
  userdata?: Buffer;
  /** The datapath port the frame came in on. */
  port: number;
  /**
   * The 152-byte flow key the datapath extracted (see flow-key.ts), and the
   * frame. Both are views into their batch's one buffer: a slow path that
   * keeps one keeps that buffer alive, so copy it (Buffer.from) to hold it long.
   */
  key: Buffer;
  frame: Buffer;
  /**
   * Which upcall this is. The datapath keeps each batch's frames and keys
   * until every upcall in it is answered (or finishUpcalls says the slow
   * path is done with it, or 2 s pass): a reply names its upcall by these,
   * and the frame and key do not cross back.
   */
  readonly batch: number;
  readonly index: number;
}

export interface AddPortOptions {
  type: PortType | TunnelPortType;
  /** The interface's name for `system` and `tap`; for `dummy` and `patch`, any name unique in the datapath. */
  name: string;
  /** Wanted port number (OVS's ofport_request); the lowest free one when absent. */
  portNo?: number;
  /** tap only: MTU to set on the device. */
  mtu?: number;
  /** tap only: MAC address of the kernel side, `aa:bb:cc:dd:ee:ff`. */
  mac?: string;
  /**
   * patch only: the name of the patch port at the other end, which names
   * this one as its peer (OVS's `options:peer`). Frames sent out of a patch
   * port whose peer is missing count as its tx_dropped.
   */
  peer?: string;
  /**
   * vxlan and geneve only: the UDP port to receive on and send to
   * (default 4789 for vxlan, 6081 for geneve). Frames output to a tunnel
   * vport need a set(tunnel(...)) before the output, or are dropped.
   */
  options?: { dstPort?: number };
}

export interface DatapathOptions {
  /**
   * Receives, in batches, the frames that missed the flow table or that a
   * userspace action sent up. Answer them with replyUpcalls; call
   * finishUpcalls for a batch the handler leaves partly unanswered. Without
   * a handler, misses are only counted (as lost).
   */
  onUpcall?: (batch: Upcall[]) => void;
  /** Receives flows the datapath removed after max-idle, with their final stats. */
  onFlowsExpired?: (flows: ExpiredFlow[]) => void;
}

/** A key or mask: structured (field names as in OVS datapath syntax) or already encoded. */
export type KeyLike = FlowKey | Buffer;
/** An action list: structured or already encoded. */
export type ActionsLike = Action[] | Buffer;

export interface PutFlowOptions {
  key: KeyLike;
  mask: KeyLike;
  actions: ActionsLike;
  /** `create` fails if the flow exists (add-flow), `modify` if it does not (mod-flow); `put` either. */
  mode?: 'create' | 'modify' | 'put';
  /** Refuse a flow that overlaps an installed one under another mask instead of shadowing it. */
  refuseOverlap?: boolean;
}

/** The slow path's answer to one upcall. */
export interface UpcallReply {
  upcall: Upcall;
  actions: ActionsLike;
  /** Install a megaflow: the upcall's key under this mask. */
  megaflow?: { mask: KeyLike };
}

export interface NextTransmittedOptions {
  /** Resolve once at least this many frames were sent (default 1). */
  count?: number;
  /** Reject after this long (default 5000 ms). */
  timeoutMs?: number;
}

/** A nextTransmitted() call waiting for frames. */
interface TransmitWaiter {
  port: number;
  count: number;
  frames: Buffer[];
  resolve(frames: Buffer[]): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

const log = getLogger('dpif');

const toKey = (k: KeyLike): Buffer => (Buffer.isBuffer(k) ? k : encodeKey(k));
const toActions = (a: ActionsLike): Buffer => (Buffer.isBuffer(a) ? a : encodeActions(a));

export class Datapath {
  private handle: DatapathHandle | undefined;
  private readonly addon = loadAddon();
  private readonly waiters = new Set<TransmitWaiter>();
  /** Dummy ports whose sent frames go straight to a listener (setTransmitListener). */
  private readonly listeners = new Map<number, (frames: Buffer[]) => void>();

  private constructor(private readonly options: DatapathOptions) {
    this.handle = this.addon.op_dp_open((event) => this.onEvent(event), options.onUpcall !== undefined);
  }

  /** Open a datapath; opening one and using dummy and patch ports needs no privilege. */
  static open(options: DatapathOptions = {}): Datapath {
    return new Datapath(options);
  }

  private onEvent(event: NativeEvent): void {
    // A handler that throws loses its batch, but the exception must not
    // reach N-API: Node only warns of it today (DEP0168) and will treat it
    // as uncaught, which ends a daemon.
    try {
      if (event.kind === 'upcall') this.deliverUpcalls(unpackUpcalls(event.batch, event.data, event.meta));
      else if (event.kind === 'expired') this.options.onFlowsExpired?.(event.flows);
      else this.deliverTransmitted(event.ports);
    } catch (e) {
      log.err(`${event.kind} handler failed, its batch is lost: ${e instanceof Error ? e.message : String(e)}`);
      if (e instanceof Error && e.stack) log.dbg(e.stack);
    }
  }

  private deliverUpcalls(batch: Upcall[]): void {
    const { onUpcall } = this.options;
    try {
      // Without a handler op_dp_open asked for no upcalls; none is kept if one comes.
      if (onUpcall) onUpcall(batch);
      else this.finishUpcalls(batch);
    } catch (e) {
      // What the handler left unanswered is lost now, not after a timeout.
      if (!this.closed) this.finishUpcalls(batch);
      throw e;
    }
  }

  private get dp(): DatapathHandle {
    if (!this.handle) throw new Error('datapath is closed: open a new one');
    return this.handle;
  }

  // ------------------------------------------------------------ ports

  addPort(options: AddPortOptions): { port: number; ifindex: number } {
    if (options.type !== 'tap' && (options.mtu !== undefined || options.mac !== undefined)) {
      throw new Error(`port "${options.name}": mtu and mac can only be set on a tap port`);
    }
    if (options.type === 'patch' ? options.peer === undefined : options.peer !== undefined) {
      throw new Error(`port "${options.name}": a patch port needs a peer, and only a patch port has one`);
    }
    const dstPort = options.options?.dstPort;
    if (dstPort !== undefined && options.type !== 'vxlan' && options.type !== 'geneve') {
      throw new Error(`port "${options.name}": dst_port can only be set on a vxlan or geneve port`);
    }
    if (dstPort !== undefined && (!Number.isInteger(dstPort) || dstPort < 1 || dstPort > 65535)) {
      throw new Error(`port "${options.name}": dst_port ${dstPort} is not a UDP port (1-65535)`);
    }
    let mac: Buffer | undefined;
    try {
      mac = options.mac === undefined ? undefined : parseMac(options.mac);
    } catch (e) {
      throw new Error(`port "${options.name}": ${(e as Error).message}`, { cause: e });
    }
    return this.addon.op_port_add(this.dp, options.type, options.name, options.portNo ?? 0, options.mtu ?? 0, mac, options.peer, dstPort ?? 0);
  }

  removePort(port: number): void {
    this.listeners.delete(port);
    this.addon.op_port_del(this.dp, port);
  }

  ports(): PortInfo[] {
    return this.addon.op_port_list(this.dp);
  }

  port(nameOrNumber: string | number): PortInfo {
    const found = this.ports().find((p) => p.name === nameOrNumber || p.port === nameOrNumber);
    if (!found) throw new Error(`no port ${JSON.stringify(nameOrNumber)} in the datapath`);
    return found;
  }

  /**
   * Queue frames on dummy port `port` as if it had received them: they go
   * through the poll loop, caches, classifier and upcalls as any port's.
   * Returns how many were queued; those beyond the port's queue (1024
   * frames) count as its rx_dropped.
   */
  injectFrames(port: number, frames: Buffer[]): number {
    return this.addon.op_port_inject(this.dp, port, frames);
  }

  /** The frames dummy port `port` sent since the last call (up to 4096; more count as tx_dropped), oldest first. */
  takeTransmitted(port: number): Buffer[] {
    return this.addon.op_port_take_transmitted(this.dp, port);
  }

  /**
   * Wait for dummy port `port` to send frames, without polling: resolves
   * with every frame taken (at least `count`) once they are there, or
   * rejects after `timeoutMs`. Frames already sent and not taken count.
   * Waiters on one port are served in the order they came.
   */
  nextTransmitted(port: number, options: NextTransmittedOptions = {}): Promise<Buffer[]> {
    const count = options.count ?? 1;
    const timeoutMs = options.timeoutMs ?? 5000;
    const frames = this.takeTransmitted(port);
    if (frames.length >= count) return Promise.resolve(frames);
    return new Promise((resolve, reject) => {
      const waiter: TransmitWaiter = {
        port,
        count,
        frames,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          reject(new Error(`port ${port} sent ${waiter.frames.length} of the ${count} frames awaited within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  /**
   * Hand every frame dummy port `port` sends to `listener` as it is sent
   * (those sent already and not taken first), rather than keep them for
   * takeTransmitted and nextTransmitted; `undefined` stops that. A
   * long-lived user such as the daemon listens this way, so that no port's
   * queue fills up and counts what it sends as dropped.
   */
  setTransmitListener(port: number, listener: ((frames: Buffer[]) => void) | undefined): void {
    if (!listener) {
      this.listeners.delete(port);
      return;
    }
    const sent = this.takeTransmitted(port);
    this.listeners.set(port, listener);
    if (sent.length) listener(sent);
  }

  /**
   * Hand what listening dummy port `port` sent so far to its listener now,
   * rather than when the datapath's notice of it comes: every copy of a
   * frame the datapath has sent is then with its listener.
   */
  flushTransmitted(port: number): void {
    if (this.listeners.has(port)) this.deliverTransmitted([port]);
  }

  /** Dummy ports sent frames: hand them to their listener, or to whoever waits for them. */
  private deliverTransmitted(ports: number[]): void {
    for (const port of ports) {
      const listener = this.listeners.get(port);
      if (listener) {
        // One listener's failure must not keep the other ports' frames
        // from theirs: a port is told again only once its frames are taken.
        try {
          const frames = this.takeTransmitted(port);
          if (frames.length) listener(frames);
        } catch (e) {
          log.err(`the listener of dummy port ${port} failed, frames it was handed are lost: ${(e as Error).message}`);
        }
        continue;
      }
      const waiter = [...this.waiters].find((w) => w.port === port);
      if (!waiter) continue;
      waiter.frames.push(...this.takeTransmitted(port));
      if (waiter.frames.length >= waiter.count) {
        clearTimeout(waiter.timer);
        this.waiters.delete(waiter);
        waiter.resolve(waiter.frames);
      }
    }
  }

  /**
   * Forward every frame received on `inPort` to `outPorts` with no lookup at
   * all (the benchmark's "bare forwarder"); an empty list removes the entry.
   */
  setForward(inPort: number, outPorts: number[]): void {
    this.addon.op_fwd_set(this.dp, inPort, outPorts);
  }

  // ------------------------------------------------------------ flows

  putFlow(options: PutFlowOptions): bigint {
    return this.addon.op_flow_put(
      this.dp,
      toKey(options.key),
      toKey(options.mask),
      toActions(options.actions),
      options.mode ?? 'put',
      options.refuseOverlap ?? false,
    );
  }

  /** The id of the flow installed with exactly this key and mask, or null. */
  findFlow(key: KeyLike, mask: KeyLike): bigint | null {
    return this.addon.op_flow_find(this.dp, toKey(key), toKey(mask));
  }

  getFlow(id: bigint): DatapathFlow {
    return this.addon.op_flow_get(this.dp, id);
  }

  /** Remove a flow; returns its final stats. */
  deleteFlow(id: bigint): FlowStats {
    return this.addon.op_flow_del(this.dp, id);
  }

  /** Remove every flow; returns how many there were. */
  flushFlows(): number {
    return this.addon.op_flow_flush(this.dp);
  }

  dumpFlows(): DatapathFlow[] {
    return this.addon.op_flow_dump(this.dp);
  }

  /**
   * Counters of the flows used in the last `withinMs` milliseconds, for a
   * periodic stats pass: far cheaper than dumpFlows with many idle flows.
   * Least recently used first, so the latest traffic is credited last.
   */
  recentFlowStats(withinMs: number): { id: bigint; packets: number; bytes: number; idleMs: number }[] {
    const packed = this.addon.op_flow_stats_recent(this.dp, Math.min(Math.ceil(withinMs), 0xffffffff));
    const out = [];
    for (let at = 0; at < packed.length; at += RECENT.len) {
      out.push({
        id: packed.readBigUInt64LE(at + RECENT.flowId),
        packets: Number(packed.readBigUInt64LE(at + RECENT.packets)),
        bytes: Number(packed.readBigUInt64LE(at + RECENT.bytes)),
        idleMs: Number(packed.readBigUInt64LE(at + RECENT.idleMs)),
      });
    }
    return out;
  }

  // ------------------------------------------------------------ meters

  /** Add or reconfigure meter `id` (0..65535): its buckets start full and its counters at 0. */
  setMeter(id: number, meter: { pktps: boolean; bands: DatapathMeterBand[] }): void {
    const packed = Buffer.alloc(METER_BAND.len * meter.bands.length);
    meter.bands.forEach((b, i) => {
      const at = i * METER_BAND.len;
      packed.writeUInt32LE(b.type === 'drop' ? METER_BAND.drop : METER_BAND.dscpRemark, at + METER_BAND.type);
      packed.writeUInt32LE(b.rate, at + METER_BAND.rate);
      packed.writeUInt32LE(b.burstSize, at + METER_BAND.burst);
      packed.writeUInt32LE(b.type === 'dscp_remark' ? b.precLevel : 0, at + METER_BAND.precLevel);
    });
    this.addon.op_meter_set(this.dp, id, meter.pktps, packed);
  }

  /** Remove meter `id`; its last counters, null if there was none. */
  deleteMeter(id: number): DatapathMeterStats | null {
    return this.addon.op_meter_del(this.dp, id);
  }

  meterStats(id: number): DatapathMeterStats | null {
    return this.addon.op_meter_get_stats(this.dp, id);
  }

  configure(settings: { flowLimit?: number; maxIdleMs?: number; emcInsertInvProb?: number }): void {
    this.addon.op_dp_configure(this.dp, settings.flowLimit, settings.maxIdleMs, settings.emcInsertInvProb);
  }

  // ------------------------------------------------------------ packets

  /** Run `actions` on a frame (a packet-out, or a frame built by the slow path). */
  execute(inPort: number, frame: Buffer, actions: ActionsLike): void {
    this.addon.op_dp_execute(this.dp, inPort, frame, toActions(actions));
  }

  /** Send a complete Ethernet frame out of `port`. */
  sendFrame(port: number, frame: Buffer): void {
    this.execute(0, frame, [{ type: 'output', port }]);
  }

  /**
   * Answer an upcall: install `megaflow` (the upcall's key under `mask`) if
   * given; the upcall's frame and every frame of its flow the datapath held
   * meanwhile are then executed in order, by the poll thread, before any
   * frame it receives later. Returns the new flow's id (null when not
   * installed, e.g. at the flow limit).
   */
  replyUpcall(upcall: Upcall, actions: ActionsLike, megaflow?: { mask: KeyLike }): bigint | null {
    const result = this.replyUpcalls([{ upcall, actions, megaflow }])[0]!;
    if (typeof result === 'string') throw new Error(result);
    return result;
  }

  /**
   * Answer a batch of upcalls in one call (one lock on the datapath): per
   * reply the new flow's id, null when not installed, or the error text.
   * Each reply uses up its upcall, even a refused one (whose frames are
   * then lost); a batch is released when all its upcalls are answered.
   */
  replyUpcalls(replies: UpcallReply[]): (bigint | null | string)[] {
    const [results, errors] = this.addon.op_upcall_reply(this.dp, packReplies(replies));
    const out: (bigint | null | string)[] = [];
    let nextError = 0;
    for (let at = 0; at < results.length; at += RESULT.len) {
      const status = results.readUInt32LE(at + RESULT.status);
      if (status === RESULT.installed) out.push(results.readBigUInt64LE(at + RESULT.flowId));
      else if (status === RESULT.notInstalled) out.push(null);
      else out.push(errors[nextError++]!);
    }
    return out;
  }

  /**
   * The slow path is done with the batches of these upcalls: the datapath
   * gives up those not answered, counting their misses and the frames held
   * for them as lost (the next frame of each such flow misses again), and
   * frees the batch. A batch whose upcalls were all answered is released
   * already; one left alone is given up after 2 s.
   */
  finishUpcalls(upcalls: readonly Upcall[]): void {
    for (const batch of new Set(upcalls.map((u) => u.batch))) this.addon.op_upcall_finish(this.dp, batch);
  }

  stats(): DatapathStats {
    return this.addon.op_dp_get_stats(this.dp);
  }

  get closed(): boolean {
    return this.handle === undefined;
  }

  /** Stop the poll thread and close every port (tap devices the switch created disappear). */
  close(): void {
    if (this.handle) {
      this.addon.op_dp_close(this.handle);
      this.handle = undefined;
    }
    this.listeners.clear();
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.reject(new Error(`datapath closed while waiting for port ${w.port} to send ${w.count} frames`));
    }
    this.waiters.clear();
  }
}

/** Upcall replies in one buffer, as op_upcall_reply reads them (abi.ts). */
function packReplies(replies: UpcallReply[]): Buffer {
  const parts = replies.map(({ upcall, actions, megaflow }) => ({
    upcall,
    actions: toActions(actions),
    mask: megaflow ? toKey(megaflow.mask) : undefined,
  }));
  let size = 0;
  for (const p of parts) {
    if (p.mask && p.mask.length !== FLOW_KEY_LEN) {
      throw new Error(`a megaflow's mask is ${FLOW_KEY_LEN} bytes, not ${p.mask.length}`);
    }
    size += REPLY.headerLen + p.actions.length + (p.mask ? FLOW_KEY_LEN : 0);
  }
  const packed = Buffer.allocUnsafe(size);
  let at = 0;
  for (const { upcall, actions, mask } of parts) {
    packed.writeUInt32LE(upcall.batch, at + REPLY.batch);
    packed.writeUInt32LE(upcall.index, at + REPLY.index);
    packed.writeUInt32LE(actions.length, at + REPLY.actionsLen);
    packed.writeUInt32LE(mask ? REPLY.hasMask : 0, at + REPLY.flags);
    at += REPLY.headerLen;
    at += actions.copy(packed, at);
    if (mask) at += mask.copy(packed, at);
  }
  return packed;
}

/** The upcalls of one packed batch (abi.ts). */
function unpackUpcalls(batch: number, data: Buffer, meta: Buffer): Upcall[] {
  const upcalls: Upcall[] = [];
  for (let at = 0, index = 0; at < meta.length; at += UPCALL_META.len, index++) {
    const keyAt = meta.readUInt32LE(at + UPCALL_META.keyAt);
    const frameAt = meta.readUInt32LE(at + UPCALL_META.frameAt);
    const frameEnd = frameAt + meta.readUInt32LE(at + UPCALL_META.frameLen);
    const frame = data.subarray(frameAt, frameEnd);
    const key = data.subarray(keyAt, keyAt + FLOW_KEY_LEN);
    const port = meta.readUInt32LE(at + UPCALL_META.port);
    if (meta.readUInt32LE(at + UPCALL_META.reason) === UPCALL_REASON.miss) {
      upcalls.push({ reason: 'miss', port, key, frame, batch, index });
    } else {
      const userdata = data.subarray(frameEnd, frameEnd + meta.readUInt32LE(at + UPCALL_META.userdataLen));
      upcalls.push({ reason: 'action', cookie: meta.readBigUInt64LE(at + UPCALL_META.cookie), userdata, port, key, frame, batch, index });
    }
  }
  return upcalls;
}

/** The key the datapath extracts from `frame` received on `inPort` (152 bytes). */
export function extractKey(frame: Buffer, inPort: number): Buffer {
  return loadAddon().op_flow_key_extract(frame, inPort);
}
