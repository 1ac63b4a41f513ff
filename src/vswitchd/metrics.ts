// The switch's metrics as typed values: one snapshot, read from the counters
// the datapath, the slow path, the MAC tables, the controllers' connections
// and the embedded database already keep. The TypeScript API returns it and
// the Prometheus endpoint renders it (metrics-text.ts), so both say the same.
import type { HistogramSnapshot } from '../lib/histogram.js';
import type { NativePortStats } from '../../native/index.js';
import type { OfprotoDpif } from '../ofproto/ofproto-dpif.js';
import type { ConnMgr } from './connmgr.js';

/** An Interface row's counters (the numbers its `statistics` column holds). */
/** An interface's datapath counters, named by where the interface is. */
export interface InterfaceMetrics extends NativePortStats {
  bridge: string;
  port: string;
  interface: string;
}

export interface DatapathMetrics {
  /** Frames that matched a datapath flow. */
  hits: number;
  /** Frames that matched none and went to the slow path. */
  misses: number;
  /** Missed frames neither passed up nor held (upcall queue full, or no answer in time). */
  lost: number;
  /** Upcalls queued to the slow path (misses and frames an action sent up). */
  upcalls: number;
  /** Megaflows installed now. */
  flows: number;
  /** Distinct megaflow masks now. */
  masks: number;
}

export interface UpcallMetrics {
  /** Megaflows installed by answering misses. */
  flowSetups: number;
  /** Per batch of upcalls, the seconds the slow path took to answer it; its count is the batches answered. */
  batchLatency: HistogramSnapshot;
}

export interface BridgeMetrics {
  bridge: string;
  /** MAC learning table entries now. */
  macEntries: number;
  /** Times a known MAC was learned on another port. */
  macMoves: number;
}

export interface ControllerMetrics {
  bridge: string;
  /** The Controller row's target, e.g. tcp:127.0.0.1:6653. */
  target: string;
  connected: boolean;
  /** master, slave or other while connected (Controller.role). */
  role?: string;
}

/** Transactions of the database the daemon embeds. */
export interface OvsdbMetrics {
  /** Transactions that changed the database and were written. */
  committed: number;
  /** Transactions answered with an error. */
  failed: number;
}

export interface SwitchMetrics {
  interfaces: InterfaceMetrics[];
  datapath: DatapathMetrics;
  upcalls: UpcallMetrics;
  bridges: BridgeMetrics[];
  controllers: ControllerMetrics[];
  /** Absent when the daemon follows a separate tvsdb-server, whose transactions it does not see. */
  ovsdb?: OvsdbMetrics;
}

/** Where the numbers live: the daemon's parts, reached read-only. */
export interface MetricsSources {
  of: OfprotoDpif;
  /** The interfaces the daemon opened, by name, with their bridge and port and datapath port. */
  interfaces(): { name: string; bridge: string; port: string; dpPort?: number }[];
  connmgr(bridge: string): ConnMgr | undefined;
  ovsdb?: OvsdbMetrics;
}

/** A snapshot of every metric, read now. */
export function collectMetrics(src: MetricsSources): SwitchMetrics {
  const dp = src.of.datapath;
  const dpStats = dp.stats();
  const dpPorts = new Map(dp.ports().map((p) => [p.port, p.stats]));
  const interfaces: InterfaceMetrics[] = [];
  for (const iface of src.interfaces()) {
    const s = iface.dpPort === undefined ? undefined : dpPorts.get(iface.dpPort);
    if (!s) continue;
    interfaces.push({ bridge: iface.bridge, port: iface.port, interface: iface.name, ...s });
  }
  const bridges: BridgeMetrics[] = [];
  const controllers: ControllerMetrics[] = [];
  for (const [name, xb] of src.of.bridgeMap()) {
    bridges.push({ bridge: name, macEntries: xb.mac.size, macMoves: xb.mac.moves });
    for (const c of src.connmgr(name)?.status() ?? []) {
      controllers.push({ bridge: name, target: c.target, connected: c.isConnected, ...(c.role === undefined ? {} : { role: c.role }) });
    }
  }
  const metrics: SwitchMetrics = {
    interfaces,
    datapath: { hits: dpStats.hit, misses: dpStats.missed, lost: dpStats.lost, upcalls: dpStats.upcalls, flows: dpStats.flows, masks: dpStats.masks },
    upcalls: src.of.upcallStats.snapshot(),
    bridges,
    controllers,
  };
  if (src.ovsdb) metrics.ovsdb = { ...src.ovsdb };
  return metrics;
}
