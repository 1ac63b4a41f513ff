/**
 * OpenFlow meters (OpenFlow 1.3 meter_mod): a meter limits the rate of the traffic its rules send
 * to it, with bands that drop or DSCP-remark what exceeds a rate. The table here keeps their
 * configuration and answers their statistics; the datapath enforces the bands per frame, through
 * a `MeterProvider` (ofproto-dpif's) that gives each meter a datapath meter id of its own.
 *
 * Meter mods follow OVS: ADD of an existing id is OFPMMFC_METER_EXISTS, MODIFY of a missing id
 * OFPMMFC_UNKNOWN_METER, DELETE of a missing id is silently fine, DELETE of OFPM_ALL empties the
 * table. Deleting a meter also deletes the rules that use it: the caller passes the ids returned
 * by `apply` to `FlowTables.deleteRulesForMeter`. Modifying a meter restarts its counters (OVS's
 * userspace datapath does the same).
 */
import { OfpError } from './ofperr.js';

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

/** Reserved meter ids (OpenFlow 1.3's ofp_meter). */
export const OFPM = {
  /** The last meter id a user can have. */
  MAX: 0xffff0000,
  /** Meters for slow-path and controller traffic (not configurable here). */
  SLOWPATH: 0xfffffffd,
  CONTROLLER: 0xfffffffe,
  /** Every meter (delete, stats requests). */
  ALL: 0xffffffff,
} as const;

/** Most bands one meter may have (OVS's userspace datapath allows as many). */
const MAX_METER_BANDS = 8;

/** What the datapath counted for one meter. */
export interface ProviderMeterStats {
  packets: number;
  bytes: number;
  bands: Array<{ packets: number; bytes: number }>;
}

/** The datapath side of meters (ofproto-dpif implements it). */
export interface MeterProvider {
  /** Installs `config` as a new datapath meter, or in place of `providerId`; returns its id. */
  set(providerId: number | undefined, config: MeterConfig): number;
  delete(providerId: number): void;
  stats(providerId: number): ProviderMeterStats | undefined;
}

export interface Meter extends MeterConfig {
  /** The datapath meter that enforces it, once the bridge runs on a datapath. */
  providerId: number | undefined;
  createdAt: number;
}

export class MeterTable {
  private readonly meters = new Map<number, Meter>();
  private provider: MeterProvider | undefined;

  constructor(private readonly clock: () => number = () => performance.now()) {}

  get(meterId: number): Meter | undefined {
    return this.meters.get(meterId);
  }

  /** Meters by ascending id (the order dump-meters prints). */
  dump(): Meter[] {
    return [...this.meters.values()].sort((a, b) => a.meterId - b.meterId);
  }

  /** Executes a meter_mod. Returns the ids of the meters deleted (for rule cleanup). */
  apply(mm: MeterMod): number[] {
    if (mm.command === 'delete') return this.delete(mm.meterId);
    if (mm.meterId === 0 || mm.meterId > OFPM.MAX) {
      throw new OfpError('OFPMMFC_INVALID_METER', `meter=${mm.meterId} is reserved: use 1-${OFPM.MAX}`);
    }
    validate(mm);
    const old = this.meters.get(mm.meterId);
    if (mm.command === 'add' && old) throw new OfpError('OFPMMFC_METER_EXISTS', `meter ${mm.meterId} already exists: use mod-meter to change it`);
    if (mm.command === 'modify' && !old) throw new OfpError('OFPMMFC_UNKNOWN_METER', `meter ${mm.meterId} does not exist: use add-meter first`);
    const config: MeterConfig = { meterId: mm.meterId, flags: { ...mm.flags }, bands: mm.bands.map((b) => ({ ...b })) };
    // The datapath first: a meter it refuses is not half added.
    const providerId = this.provider ? this.install(old?.providerId, config) : undefined;
    this.meters.set(mm.meterId, { ...config, providerId, createdAt: old && mm.command === 'modify' ? old.createdAt : this.clock() });
    return [];
  }

  /**
   * Counters of meter `meterId`, with `flowCount` rules using it; undefined for a meter that does
   * not exist. Without the stats flag (or a datapath) the counters are zero, as in OVS.
   */
  stats(meterId: number, flowCount: number): MeterStats | undefined {
    const m = this.meters.get(meterId);
    if (!m) return undefined;
    const dp = m.providerId !== undefined ? this.provider?.stats(m.providerId) : undefined;
    return {
      meterId,
      flowCount,
      packetInCount: BigInt(dp?.packets ?? 0),
      byteInCount: BigInt(dp?.bytes ?? 0),
      durationMs: Math.max(0, Math.floor(this.clock() - m.createdAt)),
      bands: m.bands.map((_, i) => ({ packetCount: BigInt(dp?.bands[i]?.packets ?? 0), byteCount: BigInt(dp?.bands[i]?.bytes ?? 0) })),
    };
  }

  /** Enforces every meter, present and future, through `provider`. */
  attach(provider: MeterProvider): void {
    this.provider = provider;
    for (const m of this.meters.values()) m.providerId = this.install(undefined, m);
  }

  /** Stops enforcing: every datapath meter of this table goes. */
  detach(): void {
    for (const m of this.meters.values()) {
      if (m.providerId !== undefined) this.provider?.delete(m.providerId);
      m.providerId = undefined;
    }
    this.provider = undefined;
  }

  private install(providerId: number | undefined, config: MeterConfig): number {
    try {
      return this.provider!.set(providerId, config);
    } catch (e) {
      throw new OfpError('OFPMMFC_OUT_OF_METERS', `the datapath cannot hold meter ${config.meterId}: ${(e as Error).message}`);
    }
  }

  private delete(meterId: number): number[] {
    const ids = meterId === OFPM.ALL ? [...this.meters.keys()] : this.meters.has(meterId) ? [meterId] : [];
    for (const id of ids) {
      const providerId = this.meters.get(id)?.providerId;
      if (providerId !== undefined) this.provider?.delete(providerId);
      this.meters.delete(id);
    }
    return ids;
  }
}

function validate(mm: MeterMod): void {
  const name = `meter ${mm.meterId}`;
  if (mm.flags.kbps && mm.flags.pktps) throw new OfpError('OFPMMFC_BAD_FLAGS', `${name}: kbps and pktps exclude each other: give one`);
  if (mm.bands.length === 0) throw new OfpError('OFPMMFC_BAD_BAND', `${name} has no band: add bands=type=drop,rate=N`);
  if (mm.bands.length > MAX_METER_BANDS) {
    throw new OfpError('OFPMMFC_OUT_OF_BANDS', `${name} has ${mm.bands.length} bands: a meter has at most ${MAX_METER_BANDS}`);
  }
  mm.bands.forEach((b, i) => {
    if (!Number.isInteger(b.rate) || b.rate <= 0 || b.rate > 0xffffffff) {
      throw new OfpError('OFPMMFC_BAD_RATE', `${name} band ${i + 1}: rate=${b.rate} must be 1-4294967295`);
    }
    if (!Number.isInteger(b.burstSize) || b.burstSize < 0 || b.burstSize > 0xffffffff) {
      throw new OfpError('OFPMMFC_BAD_BURST', `${name} band ${i + 1}: burst_size=${b.burstSize} must be 0-4294967295`);
    }
    if (b.type === 'dscp_remark' && ![1, 2, 3].includes(b.precLevel)) {
      throw new OfpError('OFPMMFC_BAD_BAND_VALUE', `${name} band ${i + 1}: prec_level=${b.precLevel} must be 1, 2 or 3`);
    }
  });
}
