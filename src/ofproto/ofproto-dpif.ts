// ofproto-dpif: bridges (OpenFlow tables, MAC learning, VLANs) running on
// one datapath. It answers upcalls with xlate's megaflows, keeps the
// installed megaflows right as rules, ports and the MAC table change (the
// revalidator), and credits their stats back to the rules and MAC entries.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { FLOW_KEY_LEN, fieldSpan } from '../datapath/flow-key.js';
import { encodeActions } from '../datapath/actions.js';
import { Datapath, extractKey, type ExpiredFlow, type Upcall, type UpcallReply } from '../datapath/dpif.js';
import { USERDATA_KIND } from '../datapath/userdata.js';
import { getLogger } from '../lib/log.js';
import { DatapathMeters } from './dpif-meters.js';
import { InstalledFlows } from './installed-flows.js';
import type { Action } from './actions.js';
import { keyToFlow, wcToMask } from './odp-convert.js';
import { cacheOf, creditStats, revalidate, type XlateCache } from './revalidate.js';
import { FlowWildcards, type Flow } from './flow.js';
import { DynamicFlowLimit, OVER_LIMIT_MAX_IDLE_MS } from './flow-limit.js';
import { packetInIdsOf } from './packet-in-table.js';
import { TunnelPortMap, unwildcardTunnel } from './tunnel.js';
import { UpcallStats } from './upcall-stats.js';
import { xlateMiss, xlatePacketOut, xlateResume, type Continuation, type PacketIn } from './xlate.js';
import type { XBridge } from './xbridge.js';
import type { Rule } from './flow-table.js';

const log = getLogger('ofproto_dpif');

/** How often stats flow back and rules and MAC entries are aged. */
const REVALIDATE_INTERVAL_MS = 500;
/** The mask of an exact-match flow (upcall/disable-megaflows): every bit of the key. */
const EXACT_MASK = Buffer.alloc(FLOW_KEY_LEN, 0xff);
/** The datapath in_port of a packet-out from the controller (no port of the datapath: OVS's ODPP_NONE). */
const NO_DP_PORT = 0xffffffff;
/**
 * Upcall work per event-loop turn (ms): past it the rest of the batches
 * wait for the next turn, so sockets and timers (unixctl, OVSDB, OpenFlow
 * echo) are served between, however many new flows arrive.
 */
const UPCALL_TURN_BUDGET_MS = 5;

/** The datapath's flow settings from Open_vSwitch other_config. */
interface FlowSettings {
  flowLimit: number;
  maxIdleMs: number;
  emcInsertInvProb: number;
}

/** Where a flow key holds the TCP flags of its packet. */
const [TCP_FLAGS_AT] = fieldSpan('tcp_flags');

/** A megaflow this layer installed, with what its translation depended on. */
interface Installed {
  /** The datapath's id for it, set once the datapath has installed it. */
  id: bigint;
  bridge: XBridge;
  /** Key and mask as installed, in the datapath's byte layout (every mask bit with megaflows disabled). */
  key: Buffer;
  mask: Buffer;
  actions: Buffer;
  cache: XlateCache;
  /** The packet-in descriptors its actions name (kept alive while it is installed). */
  packetIns: number[];
  packets: number;
  bytes: number;
}

export interface PacketInEvent {
  bridge: XBridge;
  frame: Buffer;
  /** Why, from which table and rule, and the pipeline metadata (in_port included). */
  packetIn: PacketIn;
}

/** A frame a userspace action of a non-controller kind sent up (an sFlow or IPFIX sample). */
export interface UserspaceUpcall {
  /** The bridge of the port it came in on, if that port is a bridge's. */
  bridge: XBridge | undefined;
  /** The datapath port it came in on. */
  dpInPort: number;
  /** Copies, the handler's to keep. */
  frame: Buffer;
  userdata: Buffer;
}

export interface OfprotoDpifOptions {
  /** Receives frames a CONTROLLER action sent up (packet-ins). */
  onPacketIn?: (ev: PacketInEvent) => void;
}

export class OfprotoDpif {
  readonly datapath: Datapath;
  /** The tunnel ports of every bridge: a tunnel vport is shared, so its frames are sorted by outer header. */
  readonly tunnels = new TunnelPortMap();
  /** Upcall batches' latency and flow setups, for metrics. */
  readonly upcallStats = new UpcallStats();
  /** The limit on datapath flows, shrunk while revalidation passes are slow. */
  readonly flowLimit = new DynamicFlowLimit(200_000);
  /** other_config:max-idle, which the datapath uses while under the flow limit. */
  private maxIdleMs = 10_000;
  /** Whether the datapath was told to expire flows at OVER_LIMIT_MAX_IDLE_MS. */
  private overLimit = false;
  /** Upcall batches arrived and not yet handled: at most the few the datapath keeps in flight. */
  private readonly upcallBacklog: Upcall[][] = [];
  private drainScheduled = false;
  /** How late the event loop ran its callbacks, over each revalidation interval. */
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 10 });
  private readonly meters: DatapathMeters;
  private readonly bridges = new Map<string, XBridge>();
  /** Which bridge each datapath port belongs to. */
  private readonly portOwner = new Map<number, XBridge>();
  private readonly installed = new InstalledFlows<Installed>();
  /** The handler of each userdata kind (its first byte) but the controller's. */
  private readonly userspaceHandlers = new Map<number, (up: UserspaceUpcall) => void>();
  /** changeSeq of each bridge when its flows were last revalidated. */
  private readonly seenSeq = new Map<XBridge, number>();
  private readonly timer: NodeJS.Timeout;
  private revalidatePending = false;
  private megaflows = true;
  /** When periodic() last collected flow counters (performance.now()). */
  private lastStatsPass = performance.now();

  constructor(private readonly options: OfprotoDpifOptions = {}) {
    this.datapath = Datapath.open({
      onUpcall: (batch) => this.queueUpcalls(batch),
      onFlowsExpired: (flows) => this.handleExpired(flows),
    });
    this.meters = new DatapathMeters(this.datapath);
    this.timer = setInterval(() => this.periodic(), REVALIDATE_INTERVAL_MS);
    this.timer.unref();
    this.loopDelay.enable();
  }

  bridge(name: string): XBridge | undefined {
    return this.bridges.get(name);
  }

  bridgeMap(): ReadonlyMap<string, XBridge> {
    return this.bridges;
  }

  addBridge(bridge: XBridge): void {
    if (this.bridges.has(bridge.name)) throw new Error(`bridge ${bridge.name} already exists`);
    bridge.meters.attach(this.meters);
    bridge.tunnels = this.tunnels;
    this.bridges.set(bridge.name, bridge);
    this.seenSeq.set(bridge, bridge.changeSeq());
  }

  /** Remove a bridge; its ports stay in the datapath for the caller to remove. */
  removeBridge(name: string): void {
    const bridge = this.bridges.get(name);
    if (!bridge) return;
    this.bridges.delete(name);
    this.seenSeq.delete(bridge);
    if (!this.datapath.closed) bridge.meters.detach();
    for (const [dpPort, owner] of this.portOwner) if (owner === bridge) this.portOwner.delete(dpPort);
    for (const f of this.installed) {
      if (f.bridge === bridge) this.deleteFlow(f.id);
    }
  }

  /** Attach datapath port `dpPort` to `bridge` (the bridge's own port list is the caller's). */
  attachPort(bridge: XBridge, dpPort: number): void {
    this.portOwner.set(dpPort, bridge);
    this.scheduleRevalidation();
  }

  detachPort(dpPort: number): void {
    this.portOwner.delete(dpPort);
    for (const f of this.installed) {
      if (f.key.readUInt32LE(0) === dpPort) this.deleteFlow(f.id);
    }
    this.scheduleRevalidation();
  }

  /**
   * After a tunnel port on vport `dpPort` came or went: the vport's flows, the drop flows of
   * frames no port took included (which no bridge tracks), are deleted, and the next frames
   * are classified again.
   */
  tunnelsChanged(dpPort: number): void {
    if (this.datapath.closed) return;
    for (const f of this.datapath.dumpFlows()) if (f.key.readUInt32LE(0) === dpPort) this.deleteFlow(f.id);
    this.scheduleRevalidation();
  }

  /**
   * Resolves once every change made so far (rules, groups, ports, the MAC
   * table) has been revalidated and applied to the datapath: a frame sent
   * afterwards meets flows that agree with the tables.
   */
  async revalidated(): Promise<void> {
    this.revalidateChanged();
  }

  /**
   * Runs a revalidation round now rather than at the next tick of its timer:
   * flow counters credited to rules and MAC entries (which may move a MAC
   * back to its port), rules and MACs aged, and changed bridges revalidated.
   * What `revalidator/wait` does.
   */
  async revalidationRound(): Promise<void> {
    this.periodic();
  }

  /** Revalidate soon: after a batch of changes, not once per change. */
  scheduleRevalidation(): void {
    if (this.revalidatePending) return;
    this.revalidatePending = true;
    setImmediate(() => {
      this.revalidatePending = false;
      this.revalidateChanged();
    });
  }

  /** The datapath settings of other_config; the flow limit is the dynamic limit's ceiling. */
  configureFlows(settings: FlowSettings): void {
    this.flowLimit.configure(settings.flowLimit);
    this.maxIdleMs = settings.maxIdleMs;
    this.datapath.configure({
      flowLimit: this.flowLimit.limit,
      maxIdleMs: this.overLimit ? OVER_LIMIT_MAX_IDLE_MS : settings.maxIdleMs,
      emcInsertInvProb: settings.emcInsertInvProb,
    });
  }

  private queueUpcalls(batch: Upcall[]): void {
    this.upcallBacklog.push(batch);
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    setImmediate(() => this.drainUpcalls());
  }

  /** Handles upcall batches for up to UPCALL_TURN_BUDGET_MS, then yields the turn. */
  private drainUpcalls(): void {
    this.drainScheduled = false;
    const started = performance.now();
    for (let batch = this.upcallBacklog.shift(); batch; batch = this.upcallBacklog.shift()) {
      try {
        this.timeUpcalls(batch);
      } catch (e) {
        // As Datapath does for a handler that throws: what it left unanswered is lost now, not after a timeout.
        if (!this.datapath.closed) this.datapath.finishUpcalls(batch);
        throw e;
      }
      if (performance.now() - started >= UPCALL_TURN_BUDGET_MS) break;
    }
    if (this.upcallBacklog.length) {
      this.drainScheduled = true;
      setImmediate(() => this.drainUpcalls());
    }
  }

  private timeUpcalls(batch: Upcall[]): void {
    const started = performance.now();
    try {
      this.handleUpcalls(batch);
    } finally {
      this.upcallStats.batchAnswered(performance.now() - started);
    }
  }

  private handleUpcalls(batch: Upcall[]): void {
    // A batch queued before close() can arrive after it: nothing to answer.
    if (this.datapath.closed) return;
    const replies: UpcallReply[] = [];
    const pending: (Installed | undefined)[] = [];
    // A flood of new flows mostly shares a few action lists: flows with the
    // same actions as the one before share its buffer rather than each
    // keeping its own alive.
    let lastActions: Buffer | undefined;
    let installs = 0;
    for (const upcall of batch) {
      if (upcall.reason === 'action') {
        this.userspace(upcall);
        continue;
      }
      const bridge = this.portOwner.get(upcall.port) ?? this.tunnelBridge(upcall);
      if (bridge === 'unmatched') {
        // A frame from a tunnel no port is configured for: dropped by a megaflow on its outer header.
        this.tunnels.unmatched++;
        const wc = new FlowWildcards().orField('in_port');
        unwildcardTunnel(keyToFlow(upcall.key, 0), wc);
        replies.push({ upcall, actions: [], megaflow: { mask: this.megaflows ? wcToMask(wc, upcall.key) : EXACT_MASK } });
        pending.push(undefined);
        continue;
      }
      if (!bridge) {
        // A port being added or removed: drop without caching.
        replies.push({ upcall, actions: [] });
        pending.push(undefined);
        continue;
      }
      let reply: UpcallReply = { upcall, actions: [] };
      let installed: Installed | undefined;
      try {
        const r = xlateMiss(bridge, upcall.key);
        if (r) {
          if (r.error) log.warn(`${bridge.name}: ${r.error.message}`);
          const encoded = encodeActions(r.actions);
          const actions = lastActions?.equals(encoded) ? lastActions : (lastActions = encoded);
          const mask = this.megaflows ? wcToMask(r.wc, upcall.key) : EXACT_MASK;
          if (this.flowLimit.full(installs)) {
            // Over the flow limit: the frame goes on its way, and its flow stays uncached.
            replies.push({ upcall, actions });
            pending.push(undefined);
            this.upcallStats.overFlowLimit++;
            creditStats(bridge, cacheOf(r), { packets: 1, bytes: upcall.frame.length });
            continue;
          }
          installs++;
          reply = { upcall, actions, megaflow: { mask } };
          // A copy: upcall.key is a view that would hold its whole batch in memory.
          installed = { id: -1n, bridge, key: Buffer.from(upcall.key), mask, actions, cache: cacheOf(r), packetIns: packetInIdsOf(r.actions), packets: 0, bytes: 0 };
          // The frame that missed is counted here, as OVS counts it in xlate:
          // the datapath flow's counters start with the frames after it.
          creditStats(bridge, installed.cache, { packets: 1, bytes: upcall.frame.length });
          if (installed.cache.netflow) {
            bridge.netflow?.update(installed.cache.netflow, { packets: 1, bytes: upcall.frame.length, tcpFlags: upcall.key.readUInt16BE(TCP_FLAGS_AT), usedAt: performance.now() });
          }
        }
      } catch (e) {
        // A bug in translation costs this frame, not the batch: it is
        // dropped uncached, and the next frame of its flow tries again.
        log.warn(`${bridge.name}: cannot translate a frame from datapath port ${upcall.port}, dropping it: ${(e as Error).message}`);
      }
      replies.push(reply);
      pending.push(installed);
    }
    const results = replies.length > 0 ? this.datapath.replyUpcalls(replies) : [];
    // Packet-ins get no reply: the datapath can let go of their batch now.
    if (replies.length < batch.length) this.datapath.finishUpcalls(batch);
    if (replies.length === 0) return;
    for (const [i, res] of results.entries()) {
      const p = pending[i];
      if (typeof res === 'string') {
        log.warn(`cannot install flow: ${res}`);
      } else if (res !== null && p) {
        p.id = res;
        this.installed.add(p);
        this.upcallStats.flowSetups++;
      }
    }
    // Learning a MAC (or moving one) changes what other flows should do.
    for (const b of this.bridges.values()) {
      if (b.changeSeq() !== this.seenSeq.get(b)) {
        this.scheduleRevalidation();
        break;
      }
    }
  }

  /** The bridge installed megaflow `id` belongs to and the rules its translation went through (for a capture's comments). */
  flowOrigin(id: bigint): { bridge: string; rules: readonly Rule[] } | undefined {
    const f = this.installed.get(id);
    return f && { bridge: f.bridge.name, rules: f.cache.rules };
  }

  /** The installed megaflow that a frame with flow key `key` matches, if any (a scan: for captures, not per packet). */
  installedFlowFor(key: Buffer): bigint | undefined {
    outer: for (const f of this.installed) {
      for (let i = 0; i < FLOW_KEY_LEN; i++) {
        const m = f.mask[i]!;
        if ((key[i]! & m) !== (f.key[i]! & m)) continue outer;
      }
      return f.id;
    }
    return undefined;
  }

  /** The bridge a frame from a tunnel vport is for; 'unmatched' if no tunnel port takes it, undefined if not a vport. */
  private tunnelBridge(upcall: Upcall): XBridge | 'unmatched' | undefined {
    if (!this.tunnels.isVport(upcall.port)) return undefined;
    const hit = this.tunnels.receive(upcall.port, keyToFlow(upcall.key, 0));
    return (hit && this.bridges.get(hit.bridge)) ?? 'unmatched';
  }

  /**
   * Send frames that userspace actions with userdata of `kind` (USERDATA_KIND) send up to
   * `handler`; one handler a kind, and undefined removes it.
   */
  onUserspace(kind: number, handler: ((up: UserspaceUpcall) => void) | undefined): void {
    if (kind === USERDATA_KIND.controller) throw new Error('controller upcalls are packet-ins: use the onPacketIn option');
    if (handler) this.userspaceHandlers.set(kind, handler);
    else this.userspaceHandlers.delete(kind);
  }

  /** An action upcall: a packet-in, or to the handler of its userdata's kind. */
  private userspace(upcall: Upcall): void {
    const kind = upcall.userdata?.[0];
    const handler = kind === undefined ? undefined : this.userspaceHandlers.get(kind);
    if (!handler) {
      this.packetIn(upcall);
      return;
    }
    handler({
      bridge: this.portOwner.get(upcall.port),
      dpInPort: upcall.port,
      frame: Buffer.from(upcall.frame),
      userdata: Buffer.from(upcall.userdata!),
    });
  }

  /**
   * A frame a CONTROLLER action sent up; its bridge and in_port come from the descriptor its
   * cookie names (a packet-out's has no port), which one of the bridges holds.
   */
  private packetIn(upcall: Upcall): void {
    const cookie = upcall.cookie ?? 0n;
    for (const bridge of this.bridges.values()) {
      const packetIn = bridge.packetIns.lookup(cookie);
      if (!packetIn) continue;
      this.options.onPacketIn?.({ bridge, frame: Buffer.from(upcall.frame), packetIn });
      return;
    }
    log.dbg(`dropping a frame sent to userspace with cookie ${cookie}: not a packet-in of a bridge here (its flow may have been removed meanwhile)`);
  }

  /**
   * Continues the pipeline a controller(pause) stopped (NXT_RESUME) on `frame`, as the
   * controller sent it back, with the pipeline fields of `pipeline` (in_port, metadata, tun_id,
   * registers), and executes the result in the datapath: the packet goes on to its ports.
   * Returns the translation's error, if it had one.
   */
  resume(bridge: XBridge, frame: Buffer, pipeline: Flow, c: Continuation): string | undefined {
    const inPort = pipeline.num('in_port');
    const dpInPort = bridge.port(inPort)?.dpPort ?? NO_DP_PORT;
    const r = xlateResume(bridge, keyToFlow(extractKey(frame, dpInPort), inPort), pipeline, c);
    if (r.actions.length) this.datapath.execute(dpInPort, frame, encodeActions(r.actions));
    if (bridge.changeSeq() !== this.seenSeq.get(bridge)) this.scheduleRevalidation();
    return r.error?.message;
  }

  /**
   * Sends `frame` through `actions` as a packet-out does: translated as a rule's actions are,
   * with in_port `inPort` (an OpenFlow port of the bridge, or OFPP.CONTROLLER), then executed
   * by the datapath. Returns the translation's error, if it had one.
   */
  packetOut(bridge: XBridge, inPort: number, frame: Buffer, actions: readonly Action[]): string | undefined {
    const port = bridge.port(inPort);
    const dpInPort = port?.dpPort ?? NO_DP_PORT;
    // The datapath's key bytes, as an upcall brings them: no detour through the named-field form.
    const r = xlatePacketOut(bridge, keyToFlow(extractKey(frame, dpInPort), inPort), actions);
    if (r.actions.length) this.datapath.execute(dpInPort, frame, encodeActions(r.actions));
    if (bridge.changeSeq() !== this.seenSeq.get(bridge)) this.scheduleRevalidation();
    return r.error?.message;
  }

  private handleExpired(flows: ExpiredFlow[]): void {
    for (const f of flows) {
      const inst = this.installed.get(f.id);
      if (!inst) continue;
      this.credit(inst, f.packets, f.bytes, undefined, f.tcpFlags);
      this.installed.delete(f.id);
      this.netflowGone(inst);
    }
  }

  /**
   * Credit a flow's new counters; `idleMs`, when known, says how long ago its last frame was,
   * `tcpFlags` (its final counters only) the TCP flags it saw.
   */
  private credit(inst: Installed, packets: number, bytes: number, idleMs?: number, tcpFlags = 0): void {
    const dp = packets - inst.packets;
    if (dp > 0) {
      const seq = inst.bridge.changeSeq();
      const usedAt = idleMs === undefined ? undefined : inst.bridge.tables.now() - idleMs;
      creditStats(inst.bridge, inst.cache, { packets: dp, bytes: bytes - inst.bytes, usedAt });
      // Traffic that moved a MAC back to its port changes the flows toward it.
      if (inst.bridge.changeSeq() !== seq) this.scheduleRevalidation();
      if (inst.cache.netflow) {
        const seenAt = performance.now() - (idleMs ?? 0);
        inst.bridge.netflow?.update(inst.cache.netflow, { packets: dp, bytes: bytes - inst.bytes, tcpFlags, usedAt: seenAt });
      }
    }
    inst.packets = packets;
    inst.bytes = bytes;
  }

  private deleteFlow(id: bigint): void {
    const inst = this.installed.get(id);
    try {
      const final = this.datapath.deleteFlow(id);
      if (inst) this.credit(inst, final.packets, final.bytes, undefined, final.tcpFlags);
    } catch {
      // Already gone (expired meanwhile).
    }
    this.installed.delete(id);
    if (inst) this.netflowGone(inst);
  }

  /** A datapath flow went: its NetFlow flow is exported (OVS's netflow_flow_clear). */
  private netflowGone(inst: Installed): void {
    if (inst.cache.netflow) inst.bridge.netflow?.clear(inst.cache.netflow.key);
  }

  /** A revalidation pass, timed for the dynamic flow limit. */
  private periodic(): void {
    if (this.datapath.closed) return;
    const started = performance.now();
    this.revalidationPass();
    this.adjustFlowLimit(performance.now() - started);
    // The histogram is in nanoseconds, and includes its own 10 ms resolution.
    this.upcallStats.eventLoopLag(this.loopDelay.percentile(99) / 1e6, this.loopDelay.max / 1e6);
    this.loopDelay.reset();
  }

  /**
   * The flow limit after a pass of `passMs`; above it the datapath expires
   * idle flows after OVER_LIMIT_MAX_IDLE_MS rather than max-idle.
   */
  private adjustFlowLimit(passMs: number): void {
    const { flows } = this.datapath.stats();
    const before = this.flowLimit.limit;
    const limit = this.flowLimit.afterPass(passMs, flows);
    const over = flows > limit;
    if (limit === before && over === this.overLimit) return;
    if (limit < before) log.info(`flow limit ${before} -> ${limit}: a revalidation pass over ${flows} flows took ${Math.round(passMs)} ms`);
    this.overLimit = over;
    this.datapath.configure({ flowLimit: limit, maxIdleMs: over ? OVER_LIMIT_MAX_IDLE_MS : this.maxIdleMs });
  }

  /** Stats back to rules and MACs; then age rules and MACs, and revalidate what changed. */
  private revalidationPass(): void {
    // Only flows used since the last pass have new counts (with a margin
    // for a late timer); the others are credited when they go.
    const now = performance.now();
    for (const f of this.datapath.recentFlowStats(now - this.lastStatsPass + REVALIDATE_INTERVAL_MS)) {
      const inst = this.installed.get(f.id);
      if (inst) this.credit(inst, f.packets, f.bytes, f.idleMs);
    }
    this.lastStatsPass = now;
    for (const b of this.bridges.values()) {
      b.expire();
      b.netflow?.run();
    }
    this.revalidateChanged();
    this.sweepPacketIns();
  }

  /** Frees the packet-in descriptors no installed flow names any more (see PacketInTable). */
  private sweepPacketIns(): void {
    const referenced = new Map<XBridge, Set<number>>();
    for (const f of this.installed) {
      if (!f.packetIns.length) continue;
      let ids = referenced.get(f.bridge);
      if (!ids) referenced.set(f.bridge, (ids = new Set()));
      for (const id of f.packetIns) ids.add(id);
    }
    for (const b of this.bridges.values()) {
      const freed = b.packetIns.sweep(referenced.get(b) ?? new Set());
      if (freed) log.dbg(`${b.name}: freed ${freed} packet-in descriptors no datapath flow uses`);
    }
  }

  /** Re-translate the flows of every bridge whose tables, ports or MAC table changed. */
  private revalidateChanged(): void {
    if (this.datapath.closed) return;
    for (const bridge of this.bridges.values()) {
      const seq = bridge.changeSeq();
      if (seq === this.seenSeq.get(bridge)) continue;
      this.seenSeq.set(bridge, seq);
      const flows = [...this.installed].filter((f) => f.bridge === bridge);
      const verdict = revalidate(bridge, flows);
      for (const { flow, cache } of verdict.keep) flow.cache = cache;
      for (const { flow, actions, cache } of verdict.modify) {
        const encoded = encodeActions(actions);
        try {
          this.datapath.putFlow({ key: flow.key, mask: flow.mask, actions: encoded, mode: 'modify' });
          flow.actions = encoded;
          flow.cache = cache;
          flow.packetIns = packetInIdsOf(actions);
        } catch {
          this.deleteFlow(flow.id);
        }
      }
      for (const { flow, reason } of verdict.delete) {
        log.dbg(`${bridge.name}: deleting flow: ${reason}`);
        this.deleteFlow(flow.id);
      }
    }
  }

  /**
   * With megaflows disabled (OVS's upcall/disable-megaflows), each miss
   * installs an exact-match flow, so every new 5-tuple is an upcall. The
   * flows installed so far are flushed either way, as OVS does.
   */
  setMegaflows(enabled: boolean): void {
    this.megaflows = enabled;
    this.flushFlows();
  }

  /** Forget every installed flow (e.g. after `dpctl/del-flows`). */
  flushFlows(): number {
    this.installed.clear();
    return this.datapath.flushFlows();
  }

  close(): void {
    clearInterval(this.timer);
    this.loopDelay.disable();
    this.upcallBacklog.length = 0;
    this.datapath.close();
  }
}
