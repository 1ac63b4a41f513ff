// The dynamic flow limit, after OVS's revalidator (udpif_revalidator in
// ofproto-dpif-upcall.c): after each revalidation pass the limit on datapath
// flows shrinks when the pass took too long and grows back by 1000 when it
// was quick, never above other_config:flow-limit nor below 1000. Above the
// limit the slow path forwards a missed frame without installing its
// megaflow, and the datapath expires idle flows after 100 ms rather than
// max-idle, so a flood of new flows cannot grow the table (and the passes
// over it) without bound.
//
// OVS's revalidators run on threads of their own and allow a dump a second
// or two. TVS's pass runs on the one JS thread that also answers OVSDB,
// OpenFlow and unixctl, so its thresholds are a tenth of OVS's: a pass over
// 200 ms already delays every answer by as much.

/** A pass slower than this divides the limit by (duration / SHRINK_FAST_MS). */
const SHRINK_FAST_MS = 200;
/** A pass slower than this takes a quarter off the limit. */
const SHRINK_MS = 130;
/** A pass quicker than this lets the limit grow, by GROW_STEP flows a pass. */
const GROW_MS = 100;
const GROW_STEP = 1000;
/** The limit never shrinks below OVS's floor. */
const MIN_LIMIT = 1000;
/** Idle time of datapath flows while there are more than the limit (OVS's). */
export const OVER_LIMIT_MAX_IDLE_MS = 100;

export class DynamicFlowLimit {
  /** other_config:flow-limit: the ceiling the dynamic limit grows back to. */
  private ceiling: number;
  /** The limit in force now. */
  limit: number;
  /** Flows in the datapath at the last pass, their running average over the passes, and the most seen. */
  flows = 0;
  avgFlows = 0;
  maxFlows = 0;
  /** How long the last revalidation pass took (ms). */
  lastPassMs = 0;

  constructor(configured: number) {
    this.ceiling = configured;
    this.limit = configured;
  }

  /** A new other_config:flow-limit: the limit starts over from it. */
  configure(configured: number): void {
    if (configured === this.ceiling) return;
    this.ceiling = configured;
    this.limit = configured;
  }

  /** Whether a flow installed now would exceed the limit, with `pending` installs already on their way. */
  full(pending = 0): boolean {
    return this.flows + pending >= this.limit;
  }

  /** After a revalidation pass of `durationMs` with `flows` datapath flows: the new limit. */
  afterPass(durationMs: number, flows: number): number {
    this.lastPassMs = durationMs;
    this.flows = flows;
    this.avgFlows = this.avgFlows === 0 ? flows : Math.round((this.avgFlows + flows) / 2);
    this.maxFlows = Math.max(this.maxFlows, flows);
    let limit = this.limit;
    if (durationMs > SHRINK_FAST_MS) limit = Math.floor(limit / (durationMs / SHRINK_FAST_MS));
    else if (durationMs > SHRINK_MS) limit = Math.floor((limit * 3) / 4);
    else if (durationMs < GROW_MS && limit < (flows * GROW_MS) / Math.max(durationMs, 1)) limit += GROW_STEP;
    this.limit = Math.min(this.ceiling, Math.max(limit, MIN_LIMIT));
    return this.limit;
  }
}
