// Types of everything the addon exports (native/src/ops.rs). Keep in step
// with the OPS list there: test/unit/datapath/abi.test.ts checks that the
// op_* members of Addon are exactly the addon's exports. The packed buffers
// are laid out in src/datapath/abi.ts (and native/src/abi.rs).

/** Opaque handle of one datapath (an N-API external). */
export interface DatapathHandle {
  readonly __brand: 'DatapathHandle';
}

export interface NativeFlowStats {
  packets: number;
  bytes: number;
  /** OR of the TCP flags seen. */
  tcpFlags: number;
}

/** A datapath meter's counters: every frame it saw, and the frames each band acted on. */
export interface NativeMeterStats {
  packets: number;
  bytes: number;
  bands: Array<{ packets: number; bytes: number }>;
}

export interface NativeExpiredFlow extends NativeFlowStats {
  id: bigint;
}

export type NativeEvent =
  /**
   * A batch of upcalls, packed in `data` and `meta` (UPCALL_META in
   * src/datapath/abi.ts). The datapath keeps the batch until each upcall
   * in it is answered (op_upcall_reply names it by `batch` and its index)
   * or op_upcall_finish gives it up; `unpackUpcalls` in
   * src/datapath/dpif.ts makes Upcalls of it.
   */
  | { kind: 'upcall'; batch: number; data: Buffer; meta: Buffer }
  | { kind: 'expired'; flows: NativeExpiredFlow[] }
  /**
   * Dummy ports that sent frames since JS last took theirs
   * (op_port_take_transmitted): one notice per port until it does.
   */
  | { kind: 'transmitted'; ports: number[] };

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
  type: 'system' | 'tap' | 'dummy' | 'patch' | 'vxlan' | 'geneve' | 'gre';
  ifindex: number;
  /** The device went away; the port rebinds when one of that name returns. */
  detached: boolean;
  stats: NativePortStats;
  /** This port's frames that missed and were lost: its upcall queue was full, or no answer came in time. */
  upcallsLost: number;
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
  /** Upcalls waiting in the ports' queues for a batch to the slow path. */
  upcallsQueued: number;
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
  /** Every constant of native/src/abi.rs by name, for src/datapath/abi.ts to check itself against. */
  op_abi_describe(): Record<string, number>;
  /** `upcalls`: whether `onEvent` answers upcalls (without, misses are only counted, as lost). */
  op_dp_open(onEvent: ((event: NativeEvent) => void) | undefined, upcalls: boolean): DatapathHandle;
  op_dp_close(dp: DatapathHandle): void;
  op_dp_get_stats(dp: DatapathHandle): NativeDpStats;
  op_dp_configure(dp: DatapathHandle, flowLimit: number | undefined, maxIdleMs: number | undefined, emcInsertInvProb: number | undefined): void;
  op_dp_execute(dp: DatapathHandle, inPort: number, frame: Buffer, actions: Buffer): void;
  /**
   * `replies` packed as REPLY in src/datapath/abi.ts says, each naming its
   * upcall by batch and index; `results` has a RESULT record a reply, and
   * `errors` the reason of each refused one, in order. `replyUpcalls` in
   * src/datapath/dpif.ts packs and unpacks them.
   */
  op_upcall_reply(dp: DatapathHandle, replies: Buffer): [results: Buffer, errors: string[]];
  /** The slow path is done with `batch`: its unanswered upcalls are given up (their misses counted as lost). */
  op_upcall_finish(dp: DatapathHandle, batch: number): void;
  op_port_add(
    dp: DatapathHandle,
    type: string,
    name: string,
    portNo: number,
    mtu: number,
    mac: Buffer | undefined,
    peer: string | undefined,
    dstPort: number,
  ): { port: number; ifindex: number };
  op_port_del(dp: DatapathHandle, port: number): void;
  op_port_list(dp: DatapathHandle): NativePortInfo[];
  /** Queue frames on a dummy port as if received; returns how many fitted (the rest count as rx_dropped). */
  op_port_inject(dp: DatapathHandle, port: number, frames: Buffer[]): number;
  /** The frames a dummy port sent since the last call, oldest first. */
  op_port_take_transmitted(dp: DatapathHandle, port: number): Buffer[];
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
  /** The counters of every flow used in the last `withinMs` ms, least recently used first, a RECENT record each (src/datapath/abi.ts). */
  op_flow_stats_recent(dp: DatapathHandle, withinMs: number): Buffer;
  op_flow_key_extract(frame: Buffer, inPort: number): Buffer;
  /** Adds or reconfigures a meter (buckets full, counters at 0); `bands` packed as METER_BAND in src/datapath/abi.ts. */
  op_meter_set(dp: DatapathHandle, id: number, pktps: boolean, bands: Buffer): void;
  /** Removes a meter; its last counters, null if there was none. */
  op_meter_del(dp: DatapathHandle, id: number): NativeMeterStats | null;
  op_meter_get_stats(dp: DatapathHandle, id: number): NativeMeterStats | null;
  /**
   * Takes an exclusive open-file-description lock (F_OFD_SETLK) on the whole
   * file open on `fd`, without waiting: true when it is now held through
   * `fd`, false when another open of the file (in any process, this one
   * included) holds it. Closing `fd`, or the death of the process, releases it.
   */
  op_sys_lock_fd(fd: number): boolean;
  /** malloc_trim(0): hands the allocator's free memory back to the kernel; whether any was released. */
  op_sys_trim_memory(): boolean;
  /**
   * Capture `port`: `directions` CAPTURE_DIR_IN | CAPTURE_DIR_OUT (0 stops
   * it), `snaplen` bytes of each frame that the classic BPF `filter` (8-byte
   * `struct sock_filter` instructions, or null: every frame) takes.
   */
  op_capture_set(dp: DatapathHandle, port: number, directions: number, snaplen: number, filter: Buffer | null): void;
  /** The frames captured since the last call, CAPTURE records (src/datapath/abi.ts) one after another, and how many a full ring lost. */
  op_capture_drain(dp: DatapathHandle): { records: Buffer; lost: number };
}
