// Types of everything the addon exports (native/src/ops.rs). Keep in step
// with the OPS list there.

/** Opaque handle of one datapath (an N-API external). */
export interface DatapathHandle {
  readonly __brand: 'DatapathHandle';
}

/** A frame the datapath passed up to the slow path. */
export interface NativeUpcall {
  /** `miss`: no flow matched; `action`: a userspace action sent it (cookie says why). */
  reason: 'miss' | 'action';
  cookie?: bigint;
  port: number;
  /** The 120-byte flow key the datapath extracted (see src/datapath/flow-key.ts). */
  key: Buffer;
  frame: Buffer;
}

export interface NativeFlowStats {
  packets: number;
  bytes: number;
  /** OR of the TCP flags seen. */
  tcpFlags: number;
}

export interface NativeExpiredFlow extends NativeFlowStats {
  id: bigint;
}

export type NativeEvent =
  /**
   * A batch of upcalls, packed: keys and frames in `data`; in `meta`, seven
   * little-endian u32 per upcall: port, reason (0 miss, 1 action), key
   * offset, frame offset, frame length, cookie low and high words.
   * `unpackUpcalls` in src/datapath/dpif.ts makes NativeUpcalls of them.
   */
  | { kind: 'upcall'; data: Buffer; meta: Buffer }
  | { kind: 'expired'; flows: NativeExpiredFlow[] };

export interface NativeFlow extends NativeFlowStats {
  id: bigint;
  /** Key under its mask. */
  key: Buffer;
  mask: Buffer;
  /** Encoded action list (src/datapath/actions.ts). */
  actions: Buffer;
  /** Milliseconds since last use; null when never used. */
  idleMs: number | null;
}

export interface NativePortStats {
  rxPackets: number;
  rxBytes: number;
  rxDropped: number;
  rxErrors: number;
  txPackets: number;
  txBytes: number;
  txDropped: number;
  txErrors: number;
}

export interface NativePortInfo {
  port: number;
  name: string;
  type: 'system' | 'tap';
  ifindex: number;
  /** The device went away; the port rebinds when one of that name returns. */
  detached: boolean;
  stats: NativePortStats;
}

export interface NativeDpStats {
  /** Frames that matched a flow, and of those the ones the exact-match cache found. */
  hit: number;
  emcHit: number;
  missed: number;
  /** Missed frames neither passed up nor held (queue full, or no answer in time). */
  lost: number;
  /** Subtables probed for classifier hits. */
  masksProbed: number;
  upcalls: number;
  actionErrors: number;
  /**
   * Upkeep rounds done (about every 500 ms: MTUs followed, detached ports
   * rebound, idle flows expired). A device change is seen by the first round
   * that starts after it: once this count grows past the value read after the change.
   */
  upkeeps: number;
  flows: number;
  masks: number;
  flowLimit: number;
  maxIdleMs: number;
  /** A classifier hit enters the exact-match cache with probability 1/N (0: never). */
  emcInsertInvProb: number;
}

export interface Addon {
  op_dp_open(onEvent?: (event: NativeEvent) => void): DatapathHandle;
  op_dp_close(dp: DatapathHandle): void;
  op_dp_get_stats(dp: DatapathHandle): NativeDpStats;
  op_dp_configure(dp: DatapathHandle, flowLimit: number | undefined, maxIdleMs: number | undefined, emcInsertInvProb: number | undefined): void;
  op_dp_execute(dp: DatapathHandle, inPort: number, frame: Buffer, actions: Buffer): void;
  /**
   * `replies` packed, per reply: four little-endian u32 (in_port, frame
   * length, actions length, flags: 1 to install a megaflow), then the
   * frame, the actions, the upcall's key and, with flag 1, the mask. `results`
   * has 12 bytes a reply: a u32 status (0 installed, 1 not installed at the
   * flow limit, 2 refused for the next reason in `errors`), then the flow id
   * as a u64. `replyUpcalls` in src/datapath/dpif.ts packs and unpacks them.
   */
  op_upcall_reply(dp: DatapathHandle, replies: Buffer): [results: Buffer, errors: string[]];
  op_port_add(
    dp: DatapathHandle,
    type: string,
    name: string,
    portNo: number,
    mtu: number,
    mac: Buffer | undefined,
  ): { port: number; ifindex: number };
  op_port_del(dp: DatapathHandle, port: number): void;
  op_port_list(dp: DatapathHandle): NativePortInfo[];
  op_fwd_set(dp: DatapathHandle, inPort: number, outPorts: number[]): void;
  op_flow_put(
    dp: DatapathHandle,
    key: Buffer,
    mask: Buffer,
    actions: Buffer,
    mode: 'create' | 'modify' | 'put',
    refuseOverlap: boolean,
  ): bigint;
  op_flow_find(dp: DatapathHandle, key: Buffer, mask: Buffer): bigint | null;
  op_flow_get(dp: DatapathHandle, id: bigint): NativeFlow;
  op_flow_del(dp: DatapathHandle, id: bigint): NativeFlowStats;
  op_flow_flush(dp: DatapathHandle): number;
  op_flow_dump(dp: DatapathHandle): NativeFlow[];
  /** id, packets, bytes (u64 little-endian each) of every flow used in the last `withinMs` ms, least recently used first. */
  op_flow_stats_recent(dp: DatapathHandle, withinMs: number): Buffer;
  op_flow_key_extract(frame: Buffer, inPort: number): Buffer;
  op_flow_key_layout(): [string, number, number][];
}
