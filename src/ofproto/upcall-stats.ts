// What the slow path counts of its upcall handling, for metrics: how long
// each batch of upcalls took to answer, and the megaflows answering them
// installed (flow setups). Counted once per batch, never per frame of the
// fast path.
import { Histogram, type HistogramSnapshot } from '../lib/histogram.js';

/** Seconds: a batch is answered in tens of microseconds when idle, in milliseconds under a flood of new flows. */
const LATENCY_BOUNDS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

export interface UpcallStatsSnapshot {
  /** Megaflows installed in the datapath by answering misses. */
  flowSetups: number;
  /** Misses forwarded without installing their megaflow: the datapath was at the flow limit. */
  overFlowLimit: number;
  /** Per batch, the time from its arrival in the slow path to its answer (seconds); its count is the batches answered. */
  batchLatency: HistogramSnapshot;
}

export class UpcallStats {
  flowSetups = 0;
  overFlowLimit = 0;
  /** The event loop's delay over the last revalidation interval (ms): its 99th percentile and maximum, and the maximum of any interval. */
  lag = { p99Ms: 0, maxMs: 0, worstMs: 0 };
  private readonly latency = new Histogram(LATENCY_BOUNDS);

  /** The event loop's delay over the interval just ended. */
  eventLoopLag(p99Ms: number, maxMs: number): void {
    this.lag = { p99Ms, maxMs, worstMs: Math.max(this.lag.worstMs, maxMs) };
  }

  /** One batch answered in `ms` milliseconds. */
  batchAnswered(ms: number): void {
    this.latency.observe(ms / 1000);
  }

  snapshot(): UpcallStatsSnapshot {
    return { flowSetups: this.flowSetups, overFlowLimit: this.overFlowLimit, batchLatency: this.latency.snapshot() };
  }
}
