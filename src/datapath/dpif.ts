// The TypeScript face of the datapath (OVS's "dpif"): ports, flows,
// counters and upcalls, over the Rust addon.
import type {
  DatapathHandle,
  NativeDpStats,
  NativeExpiredFlow,
  NativeFlow,
  NativeFlowStats,
  NativePortInfo,
  NativeUpcall,
} from '../../native/index.js';
import { encodeActions, type Action } from './actions.js';
import { loadAddon } from './addon.js';
import { getLogger } from '../lib/log.js';
import { encodeKey, FLOW_KEY_LEN, parseMac, type FlowKey, type FlowMask } from './flow-key.js';

export type PortType = 'system' | 'tap';
export type PortInfo = NativePortInfo;
export type Upcall = NativeUpcall;
export type DatapathStats = NativeDpStats;
export type DatapathFlow = NativeFlow;
export type FlowStats = NativeFlowStats;
export type ExpiredFlow = NativeExpiredFlow;

export interface AddPortOptions {
  /** `system`: an existing interface through AF_PACKET; `tap`: a tap device the switch creates and holds. */
  type: PortType;
  name: string;
  /** Wanted port number (OVS's ofport_request); the lowest free one when absent. */
  portNo?: number;
  /** tap only: MTU to set on the device. */
  mtu?: number;
  /** tap only: MAC address of the kernel side, `aa:bb:cc:dd:ee:ff`. */
  mac?: string;
}

export interface DatapathOptions {
  /** Receives, in batches, the frames that missed the flow table or that a userspace action sent up. */
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

/** The slow path's answer to one missed upcall. */
export interface UpcallReply {
  upcall: Upcall;
  actions: ActionsLike;
  /** Install a megaflow: the upcall's key under this mask. */
  megaflow?: { mask: KeyLike };
}

const log = getLogger('dpif');

const toKey = (k: KeyLike): Buffer => (Buffer.isBuffer(k) ? k : encodeKey(k));
const toActions = (a: ActionsLike): Buffer => (Buffer.isBuffer(a) ? a : encodeActions(a));

export class Datapath {
  private handle: DatapathHandle | undefined;
  private readonly addon = loadAddon();

  private constructor(handle: DatapathHandle) {
    this.handle = handle;
  }

  static open(options: DatapathOptions = {}): Datapath {
    const addon = loadAddon();
    const { onUpcall, onFlowsExpired } = options;
    const onEvent =
      onUpcall || onFlowsExpired
        ? (event: Parameters<NonNullable<Parameters<typeof addon.op_dp_open>[0]>>[0]) => {
            // A handler that throws loses its batch, but the exception must
            // not reach N-API: Node only warns of it today (DEP0168) and
            // will treat it as uncaught, which ends a daemon.
            try {
              if (event.kind === 'upcall') onUpcall?.(unpackUpcalls(event.data, event.meta));
              else onFlowsExpired?.(event.flows);
            } catch (e) {
              log.err(`${event.kind} handler failed, its batch is lost: ${(e as Error).message ?? String(e)}`);
              log.dbg(`${(e as Error).stack}`);
            }
          }
        : undefined;
    return new Datapath(addon.op_dp_open(onEvent));
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
    let mac: Buffer | undefined;
    try {
      mac = options.mac === undefined ? undefined : parseMac(options.mac);
    } catch (e) {
      throw new Error(`port "${options.name}": invalid MAC address: ${(e as Error).message}`);
    }
    return this.addon.op_port_add(this.dp, options.type, options.name, options.portNo ?? 0, options.mtu ?? 0, mac);
  }

  removePort(port: number): void {
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
  recentFlowStats(withinMs: number): { id: bigint; packets: number; bytes: number }[] {
    const packed = this.addon.op_flow_stats_recent(this.dp, Math.min(Math.ceil(withinMs), 0xffffffff));
    const out = [];
    for (let at = 0; at < packed.length; at += 24) {
      out.push({ id: packed.readBigUInt64LE(at), packets: Number(packed.readBigUInt64LE(at + 8)), bytes: Number(packed.readBigUInt64LE(at + 16)) });
    }
    return out;
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
   * Answer a missed upcall: install `megaflow` (the upcall's key under
   * `mask`) if given; the missed frame and every frame of the flow the
   * datapath held meanwhile are then executed in order, by the poll thread,
   * before any frame it receives later. Returns the new flow's id (null
   * when not installed, e.g. at the flow limit).
   */
  replyUpcall(upcall: Upcall, actions: ActionsLike, megaflow?: { mask: KeyLike }): bigint | null {
    const [result] = this.replyUpcalls([{ upcall, actions, megaflow }]);
    if (typeof result === 'string') throw new Error(result);
    return result;
  }

  /**
   * Answer a batch of upcalls in one call (one lock on the datapath): per
   * reply the new flow's id, null when not installed, or the error text.
   */
  replyUpcalls(replies: UpcallReply[]): (bigint | null | string)[] {
    const [results, errors] = this.addon.op_upcall_reply(this.dp, packReplies(replies));
    const out: (bigint | null | string)[] = [];
    let nextError = 0;
    for (let at = 0; at < results.length; at += REPLY_RESULT_BYTES) {
      const status = results.readUInt32LE(at);
      out.push(status === 0 ? results.readBigUInt64LE(at + 4) : status === 1 ? null : errors[nextError++]!);
    }
    return out;
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
  }
}

const UPCALL_META_BYTES = 7 * 4;
const REPLY_HEADER_BYTES = 4 * 4;
const REPLY_RESULT_BYTES = 4 + 8;

/** Upcall replies in one buffer, as op_upcall_reply reads them (native/index.d.ts). */
function packReplies(replies: UpcallReply[]): Buffer {
  const parts = replies.map(({ upcall, actions, megaflow }) => ({
    upcall,
    actions: toActions(actions),
    mask: megaflow ? toKey(megaflow.mask) : undefined,
  }));
  let size = 0;
  for (const p of parts) {
    if (p.upcall.key.length !== FLOW_KEY_LEN || (p.mask && p.mask.length !== FLOW_KEY_LEN)) {
      throw new Error(`an upcall's key and a megaflow's mask are ${FLOW_KEY_LEN} bytes each, not ${p.upcall.key.length} and ${p.mask?.length}`);
    }
    size += REPLY_HEADER_BYTES + p.upcall.frame.length + p.actions.length + (p.mask ? 2 : 1) * FLOW_KEY_LEN;
  }
  const packed = Buffer.allocUnsafe(size);
  let at = 0;
  for (const { upcall, actions, mask } of parts) {
    at = packed.writeUInt32LE(upcall.port, at);
    at = packed.writeUInt32LE(upcall.frame.length, at);
    at = packed.writeUInt32LE(actions.length, at);
    at = packed.writeUInt32LE(mask ? 1 : 0, at);
    at += upcall.frame.copy(packed, at);
    at += actions.copy(packed, at);
    at += upcall.key.copy(packed, at);
    if (mask) at += mask.copy(packed, at);
  }
  return packed;
}

/**
 * The upcalls of one packed batch (see NativeEvent). Keys and frames are
 * views into the batch's one buffer: a slow path that keeps a frame keeps
 * that buffer alive, so copy it (Buffer.from) to hold it long.
 */
function unpackUpcalls(data: Buffer, meta: Buffer): Upcall[] {
  const upcalls: Upcall[] = [];
  for (let at = 0; at < meta.length; at += UPCALL_META_BYTES) {
    const keyAt = meta.readUInt32LE(at + 8);
    const frameAt = meta.readUInt32LE(at + 12);
    const frame = data.subarray(frameAt, frameAt + meta.readUInt32LE(at + 16));
    const key = data.subarray(keyAt, keyAt + FLOW_KEY_LEN);
    const port = meta.readUInt32LE(at);
    if (meta.readUInt32LE(at + 4) === 0) {
      upcalls.push({ reason: 'miss', port, key, frame });
    } else {
      const cookie = (BigInt(meta.readUInt32LE(at + 24)) << 32n) | BigInt(meta.readUInt32LE(at + 20));
      upcalls.push({ reason: 'action', cookie, port, key, frame });
    }
  }
  return upcalls;
}

/** The key the datapath extracts from `frame` received on `inPort` (120 bytes). */
export function extractKey(frame: Buffer, inPort: number): Buffer {
  return loadAddon().op_flow_key_extract(frame, inPort);
}

/** The datapath's key layout: [field name, byte offset, length]. */
export function nativeKeyLayout(): [string, number, number][] {
  return loadAddon().op_flow_key_layout();
}


export type { FlowKey, FlowMask, Action };
