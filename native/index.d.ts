// Types of everything the addon exports (native/src/ops.rs). Keep in step
// with the OPS list there.

/** Opaque handle of one datapath (an N-API external). */
export interface DatapathHandle {
  readonly __brand: 'DatapathHandle';
}

/** A frame the datapath passed up to the slow path. */
export interface NativeUpcall {
  port: number;
  frame: Buffer;
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
  upcalls: number;
  upcallsLost: number;
}

export interface Addon {
  op_dp_open(onUpcall?: (batch: NativeUpcall[]) => void): DatapathHandle;
  op_dp_close(dp: DatapathHandle): void;
  op_dp_get_stats(dp: DatapathHandle): NativeDpStats;
  op_dp_send_frame(dp: DatapathHandle, port: number, frame: Buffer): void;
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
}
