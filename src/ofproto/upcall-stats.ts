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
  /** Per batch, the time from its arrival in the slow path to its answer (seconds); its count is the batches answered. */
  batchLatency: HistogramSnapshot;
}

export class UpcallStats {
  flowSetups = 0;
  private readonly latency = new Histogram(LATENCY_BOUNDS);

  /** One batch answered in `ms` milliseconds. */
  batchAnswered(ms: number): void {
    this.latency.observe(ms / 1000);
  }

  snapshot(): UpcallStatsSnapshot {
    return { flowSetups: this.flowSetups, batchLatency: this.latency.snapshot() };
  }
}
