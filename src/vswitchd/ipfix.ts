// A bridge's IPFIX row and its Flow_Sample_Collector_Set rows made into
// exporters (OVS's bridge_configure_ipfix): xlate is told what to sample,
// and the sampled frames the datapath sends up go to the exporter their
// cookie names, which aggregates and sends them to its collectors.
import { extractKey } from '../datapath/dpif.js';
import { USERDATA_KIND } from '../datapath/userdata.js';
import { getLogger } from '../lib/log.js';
import { IPFIX_DEFAULT_PORT, IpfixExporter, ipfixFlowOf, type IpfixOptions } from '../ofproto/ipfix.js';
import { decodeIpfixCookie } from '../ofproto/ipfix-sampling.js';
import { keyToFlow } from '../ofproto/odp-convert.js';
import type { OfprotoDpif, UserspaceUpcall } from '../ofproto/ofproto-dpif.js';
import type { XBridge } from '../ofproto/xbridge.js';
import { Collectors } from './collectors.js';
import type { BridgeConfig, IpfixConfig } from './db-config.js';

const log = getLogger('ipfix');

/** Bridge IPFIX samples 1 packet in this many when the row sets no sampling (OVS's default). */
const DEFAULT_SAMPLING = 400;
/** How often exporters check their caches' timeouts. */
const RUN_INTERVAL_MS = 1000;

interface Exporter {
  /** The row as last applied (JSON): an unchanged row keeps its exporter and cache. */
  applied: string;
  collectors: Collectors;
  exporter: IpfixExporter;
}

interface BridgeExporters {
  bridge?: Exporter;
  /** Per Flow_Sample_Collector_Set id: its IPFIX row, and an exporter per observation domain its sample actions name. */
  sets: Map<number, { cfg: IpfixConfig; byDomain: Map<number, Exporter> }>;
}

function options(cfg: IpfixConfig, observationDomainId: number): IpfixOptions {
  return { observationDomainId, cacheActiveTimeoutSec: cfg.cacheActiveTimeout ?? 0, cacheMaxFlows: cfg.cacheMaxFlows ?? 0 };
}

function startExporter(what: string, cfg: IpfixConfig, observationDomainId: number): Exporter {
  const collectors = new Collectors(what, cfg.targets, IPFIX_DEFAULT_PORT);
  if (!collectors.count) log.warn(`${what}: no collector target parses, so no records are sent (set targets="IP:PORT")`);
  // Output and tunnel sampling, virtual_obs_id, the intervals: none is implemented, and none may pass unnoticed.
  for (const key of cfg.otherConfigKeys) log.warn(`${what}: other_config:${key} is not supported by TVS: this setting has no effect`);
  const exporter = new IpfixExporter((m) => collectors.send(m));
  exporter.setOptions(options(cfg, observationDomainId));
  return { applied: JSON.stringify(cfg), collectors, exporter };
}

function stopExporter(e: Exporter): void {
  e.exporter.close();
  e.collectors.close();
}

/** The IPFIX exporters of every bridge. */
export class BridgeIpfixes {
  private readonly running = new Map<XBridge, BridgeExporters>();
  private readonly timer: NodeJS.Timeout;

  constructor(of: OfprotoDpif) {
    of.onUserspace(USERDATA_KIND.ipfix, (up) => this.sampled(up));
    of.onUserspace(USERDATA_KIND.flowSample, (up) => this.sampled(up));
    this.timer = setInterval(() => this.run(), RUN_INTERVAL_MS);
    this.timer.unref();
  }

  /** Applies the bridge's IPFIX row and collector sets. */
  apply(xb: XBridge, cfg: BridgeConfig): void {
    const r: BridgeExporters = this.running.get(xb) ?? { sets: new Map() };
    this.running.set(xb, r);
    // The bridge's own exporter, domain obs_domain_id.
    if (r.bridge && (!cfg.ipfix || r.bridge.applied !== JSON.stringify(cfg.ipfix))) {
      stopExporter(r.bridge);
      delete r.bridge;
    }
    if (cfg.ipfix && !r.bridge) {
      r.bridge = startExporter(`bridge ${xb.name}: IPFIX`, cfg.ipfix, cfg.ipfix.obsDomainId ?? 0);
      log.info(`bridge ${xb.name}: sampling 1 in ${cfg.ipfix.sampling ?? DEFAULT_SAMPLING} packets to IPFIX collectors ${cfg.ipfix.targets.join(', ')}`);
    }
    // The collector sets: an exporter per observation domain is made when a sample names it.
    const wanted = new Map(cfg.collectorSets.flatMap((s) => (s.ipfix ? [[s.id, s.ipfix] as const] : [])));
    for (const [id, set] of r.sets) {
      if (JSON.stringify(wanted.get(id)) === JSON.stringify(set.cfg)) continue;
      for (const e of set.byDomain.values()) stopExporter(e);
      r.sets.delete(id);
    }
    for (const [id, ipfix] of wanted) if (!r.sets.has(id)) r.sets.set(id, { cfg: ipfix, byDomain: new Map() });
    const bridge = cfg.ipfix ? { sampling: cfg.ipfix.sampling ?? DEFAULT_SAMPLING, obsPointId: cfg.ipfix.obsPointId ?? 0 } : undefined;
    xb.setIpfix(bridge || wanted.size ? { ...(bridge ? { bridge } : {}), collectorSets: new Set(wanted.keys()) } : undefined);
  }

  /** The bridge is going away: its exporters send what they hold and close. */
  forget(xb: XBridge): void {
    const r = this.running.get(xb);
    if (!r) return;
    if (r.bridge) stopExporter(r.bridge);
    for (const set of r.sets.values()) for (const e of set.byDomain.values()) stopExporter(e);
    this.running.delete(xb);
  }

  close(): void {
    clearInterval(this.timer);
    for (const xb of [...this.running.keys()]) this.forget(xb);
  }

  private run(): void {
    for (const r of this.running.values()) {
      r.bridge?.exporter.run();
      for (const set of r.sets.values()) for (const e of set.byDomain.values()) e.exporter.run();
    }
  }

  /** A sampled frame: to the exporter its cookie names, as a packet of its flow. */
  private sampled(up: UserspaceUpcall): void {
    const cookie = decodeIpfixCookie(up.userdata);
    const r = up.bridge && this.running.get(up.bridge);
    if (!cookie || !r || !up.bridge) return;
    let e: Exporter | undefined;
    if (cookie.exporter === 'bridge') {
      e = r.bridge;
    } else {
      const { collectorSetId, obsDomainId } = cookie.exporter;
      const set = r.sets.get(collectorSetId);
      if (!set) return;
      e = set.byDomain.get(obsDomainId);
      if (!e) set.byDomain.set(obsDomainId, (e = startExporter(`bridge ${up.bridge.name}: Flow_Sample_Collector_Set ${collectorSetId}`, set.cfg, obsDomainId)));
    }
    if (!e) return;
    const ofport = up.bridge.portByDp(up.dpInPort)?.ofport ?? 0;
    const flow = keyToFlow(extractKey(up.frame, up.dpInPort), ofport);
    e.exporter.sample(ipfixFlowOf(flow, { observationPointId: cookie.obsPointId, ingressInterface: ofport, egressInterface: cookie.output }), up.frame.length);
  }
}
