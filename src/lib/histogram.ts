// A latency histogram as Prometheus keeps one: a count per upper bound
// (cumulative when read), the sum of what was observed, and how many.
// Recording is a short scan over a dozen bounds, cheap enough for once per
// upcall batch.

export interface HistogramSnapshot {
  /** Upper bounds in seconds, ascending; +Inf is implied and equals `count`. */
  buckets: { le: number; count: number }[];
  /** Sum of the observed values, in seconds. */
  sum: number;
  count: number;
}

export class Histogram {
  /** Observations per bucket (not cumulative); the last slot is above every bound. */
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  constructor(private readonly bounds: readonly number[]) {
    if (bounds.some((b, i) => i > 0 && b <= bounds[i - 1]!)) throw new RangeError('histogram bounds must ascend');
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  observe(seconds: number): void {
    let i = 0;
    while (i < this.bounds.length && seconds > this.bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += seconds;
    this.count++;
  }

  snapshot(): HistogramSnapshot {
    let running = 0;
    const buckets = this.bounds.map((le, i) => ({ le, count: (running += this.counts[i]!) }));
    return { buckets, sum: this.sum, count: this.count };
  }
}
