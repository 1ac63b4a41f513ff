/**
 * OpenFlow meters (OpenFlow 1.3 meter_mod): a meter limits the rate of the traffic its rules send
 * to it, with bands that drop or DSCP-remark what exceeds a rate. The table here keeps their
 * configuration and counters; the datapath enforces the bands per frame.
 */

export type MeterBand =
  | { type: 'drop'; rate: number; burstSize: number }
  /** Raises the drop precedence in the DSCP by `precLevel`. */
  | { type: 'dscp_remark'; rate: number; burstSize: number; precLevel: number };

export interface MeterFlags {
  /** Rates in kilobits per second (the default). */
  kbps?: boolean;
  /** Rates in packets per second. */
  pktps?: boolean;
  /** Honour the bands' burst sizes. */
  burst?: boolean;
  /** Keep statistics. */
  stats?: boolean;
}

export interface MeterMod {
  command: 'add' | 'modify' | 'delete';
  /** 1..0xffff0000, or OFPM_ALL (0xffffffff) for delete. */
  meterId: number;
  flags: MeterFlags;
  bands: MeterBand[];
}

export interface MeterConfig {
  meterId: number;
  flags: MeterFlags;
  bands: MeterBand[];
}

export interface MeterStats {
  meterId: number;
  flowCount: number;
  packetInCount: bigint;
  byteInCount: bigint;
  durationMs: number;
  bands: Array<{ packetCount: bigint; byteCount: bigint }>;
}
