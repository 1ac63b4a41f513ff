/**
 * IPFIX export for one observation domain (OVS's ofproto-dpif-ipfix exporter): sampled
 * packets are aggregated by flow in a cache and exported as flow records when the cache's
 * active timeout passes, when the cache is full (the oldest flow makes room), or when the
 * exporter closes. With caching off (cache_active_timeout or cache_max_flows 0, OVS's
 * defaults), each sampled packet is a record of its own, sent at once.
 *
 * Templates go out with the first message and again every 600 s (OVS's template interval),
 * so that a collector that starts later learns them. Messages stay under 1024 bytes, as OVS's do.
 */
import {
  FLOW_END_REASON,
  IPFIX_MESSAGE_OVERHEAD,
  ipfixDataSet,
  ipfixMessage,
  ipfixRecordSize,
  ipfixTemplateSet,
  type IpfixLayer,
  type IpfixRecord,
} from './ipfix-encode.js';

/** Seconds between template resends (OVS's OFPROTO_IPFIX_DEFAULT_TEMPLATE_INTERVAL). */
const TEMPLATE_INTERVAL_MS = 600_000;
/** Largest message (OVS's MAX_MESSAGE_LEN): well inside any path's MTU. */
const MAX_MESSAGE_LEN = 1024;
/** A flow with no packet for this long when it expires ended idle rather than active. */
const IDLE_MS = 1000;

/** The collectors' default port (OVS's IPFIX_DEFAULT_COLLECTOR_PORT, IANA's). */
export const IPFIX_DEFAULT_PORT = 4739;

export interface IpfixOptions {
  observationDomainId: number;
  /** Seconds a flow is aggregated before it is exported; 0 turns the cache off. */
  cacheActiveTimeoutSec: number;
  /** Flows the cache holds; 0 turns the cache off. */
  cacheMaxFlows: number;
}

/** What identifies a flow: every field of a record but its counters, times and end reason. */
export type IpfixFlow = Omit<IpfixRecord, 'packetDeltaCount' | 'octetDeltaCount' | 'flowStartMilliseconds' | 'flowEndMilliseconds' | 'flowEndReason'>;

interface CachedFlow {
  flow: IpfixFlow;
  packets: number;
  octets: number;
  first: number;
  last: number;
}

function flowId(f: IpfixFlow): string {
  const hex = (b: Buffer | undefined) => b?.toString('hex') ?? '';
  return [
    f.layer, f.observationPointId, f.ingressInterface, f.egressInterface, hex(f.sourceMacAddress), hex(f.destinationMacAddress),
    f.ethernetType, f.vlanId, hex(f.sourceAddress), hex(f.destinationAddress), f.protocolIdentifier, f.ipClassOfService,
    f.sourceTransportPort, f.destinationTransportPort, f.icmpTypeCode,
  ].join(' ');
}

export class IpfixExporter {
  private options: IpfixOptions = { observationDomainId: 0, cacheActiveTimeoutSec: 0, cacheMaxFlows: 0 };
  private readonly cache = new Map<string, CachedFlow>();
  /** Data records sent so far: the next message's sequence number. */
  private sequence = 0;
  /** When templates were last sent (undefined: never, on this session). */
  private templatesSentAt: number | undefined;

  constructor(
    /** Sends one message to every collector. */
    private readonly send: (message: Buffer) => void,
    /** Milliseconds since the Unix epoch (records carry absolute times). */
    private readonly clock: () => number = Date.now,
  ) {}

  setOptions(options: IpfixOptions): void {
    if (options.observationDomainId !== this.options.observationDomainId) {
      // Another domain is another stream: its own sequence, its templates announced afresh.
      this.flushCache(FLOW_END_REASON.forcedEnd);
      this.sequence = 0;
      this.templatesSentAt = undefined;
    }
    this.options = { ...options };
    if (!this.caching) this.flushCache(FLOW_END_REASON.forcedEnd);
    else this.evictOverflow();
  }

  /** Adds a sampled packet of `octets` bytes to its flow. */
  sample(flow: IpfixFlow, octets: number): void {
    const now = this.clock();
    if (!this.caching) {
      this.export([{ ...flow, packetDeltaCount: 1, octetDeltaCount: octets, flowStartMilliseconds: now, flowEndMilliseconds: now, flowEndReason: FLOW_END_REASON.activeTimeout }]);
      return;
    }
    const id = flowId(flow);
    let c = this.cache.get(id);
    if (!c) {
      c = { flow, packets: 0, octets: 0, first: now, last: now };
      this.cache.set(id, c);
      this.evictOverflow();
    }
    c.packets++;
    c.octets += octets;
    c.last = now;
  }

  /** Exports the flows whose active timeout passed, and templates when due. Call often. */
  run(): void {
    const now = this.clock();
    const timeoutMs = this.options.cacheActiveTimeoutSec * 1000;
    const due: IpfixRecord[] = [];
    for (const [id, c] of this.cache) {
      if (now - c.first < timeoutMs) continue;
      due.push(this.recordOf(c, now - c.last >= IDLE_MS ? FLOW_END_REASON.idleTimeout : FLOW_END_REASON.activeTimeout));
      this.cache.delete(id);
    }
    if (due.length) this.export(due);
    else if (this.templatesSentAt !== undefined && now - this.templatesSentAt >= TEMPLATE_INTERVAL_MS) this.sendMessage([], true);
  }

  /** Exports every cached flow (the exporter is going away). */
  close(): void {
    this.flushCache(FLOW_END_REASON.forcedEnd);
  }

  /** Flows being aggregated. */
  get size(): number {
    return this.cache.size;
  }

  private get caching(): boolean {
    return this.options.cacheActiveTimeoutSec > 0 && this.options.cacheMaxFlows > 0;
  }

  private evictOverflow(): void {
    const over = this.cache.size - this.options.cacheMaxFlows;
    if (over <= 0) return;
    // Maps keep insertion order: the first are the oldest.
    const evicted: IpfixRecord[] = [];
    for (const [id, c] of this.cache) {
      if (evicted.length === over) break;
      evicted.push(this.recordOf(c, FLOW_END_REASON.lackOfResources));
      this.cache.delete(id);
    }
    this.export(evicted);
  }

  private flushCache(reason: number): void {
    if (!this.cache.size) return;
    const records = [...this.cache.values()].map((c) => this.recordOf(c, reason));
    this.cache.clear();
    this.export(records);
  }

  private recordOf(c: CachedFlow, reason: number): IpfixRecord {
    return { ...c.flow, packetDeltaCount: c.packets, octetDeltaCount: c.octets, flowStartMilliseconds: c.first, flowEndMilliseconds: c.last, flowEndReason: reason };
  }

  /** Sends `records` in as few messages as fit MAX_MESSAGE_LEN, each of one data set per layer. */
  private export(records: readonly IpfixRecord[]): void {
    const byLayer = new Map<IpfixLayer, IpfixRecord[]>();
    for (const r of records) byLayer.set(r.layer, [...(byLayer.get(r.layer) ?? []), r]);
    for (const [layer, rs] of byLayer) {
      const perMessage = Math.max(1, Math.floor((MAX_MESSAGE_LEN - IPFIX_MESSAGE_OVERHEAD) / ipfixRecordSize(layer)));
      for (let i = 0; i < rs.length; i += perMessage) {
        const chunk = rs.slice(i, i + perMessage);
        this.sendMessage([ipfixDataSet(layer, chunk)], false, chunk.length);
      }
    }
  }

  /** Sends a message of `sets`, templates first when they are due (or `templates` asks). */
  private sendMessage(sets: Buffer[], templates: boolean, records = 0): void {
    const now = this.clock();
    const withTemplates = templates || this.templatesSentAt === undefined || now - this.templatesSentAt >= TEMPLATE_INTERVAL_MS;
    if (withTemplates) {
      // In a message of their own: with a full data set they would pass MAX_MESSAGE_LEN.
      this.send(ipfixMessage({ exportTime: Math.floor(now / 1000), sequence: this.sequence, observationDomainId: this.options.observationDomainId }, [ipfixTemplateSet()]));
      this.templatesSentAt = now;
    }
    if (!sets.length) return;
    this.send(ipfixMessage({ exportTime: Math.floor(now / 1000), sequence: this.sequence, observationDomainId: this.options.observationDomainId }, sets));
    this.sequence = (this.sequence + records) >>> 0;
  }
}

/** Where a sampled packet was seen: the observation point and its ports (OpenFlow numbers). */
export interface SamplePoint {
  observationPointId: number;
  ingressInterface: number;
  egressInterface: number;
}

const ETH_TYPE_IP = 0x0800;
const ETH_TYPE_IPV6 = 0x86dd;
const IPPROTO_ICMP = 1;
const IPPROTO_ICMPV6 = 58;
const VLAN_VID_MASK = 0x0fff;

/** The IPFIX flow of a sampled packet, from its OpenFlow flow fields. */
export function ipfixFlowOf(flow: { get(f: 'dl_src' | 'dl_dst' | 'ipv6_src' | 'ipv6_dst'): bigint; num(f: 'dl_type' | 'vlan_tci' | 'nw_src' | 'nw_dst' | 'nw_proto' | 'nw_tos' | 'tp_src' | 'tp_dst'): number }, at: SamplePoint): IpfixFlow {
  const mac = (v: bigint) => Buffer.from(v.toString(16).padStart(12, '0'), 'hex');
  const ethernetType = flow.num('dl_type');
  const l2: IpfixFlow = {
    layer: 'l2',
    ...at,
    sourceMacAddress: mac(flow.get('dl_src')),
    destinationMacAddress: mac(flow.get('dl_dst')),
    ethernetType,
    vlanId: flow.num('vlan_tci') & VLAN_VID_MASK,
  };
  if (ethernetType !== ETH_TYPE_IP && ethernetType !== ETH_TYPE_IPV6) return l2;
  const v4 = ethernetType === ETH_TYPE_IP;
  const proto = flow.num('nw_proto');
  const icmp = proto === (v4 ? IPPROTO_ICMP : IPPROTO_ICMPV6);
  const addr = (f: 'nw_src' | 'nw_dst', f6: 'ipv6_src' | 'ipv6_dst') => {
    if (!v4) return Buffer.from(flow.get(f6).toString(16).padStart(32, '0'), 'hex');
    const b = Buffer.alloc(4);
    b.writeUInt32BE(flow.num(f) >>> 0);
    return b;
  };
  return {
    ...l2,
    layer: v4 ? 'ipv4' : 'ipv6',
    sourceAddress: addr('nw_src', 'ipv6_src'),
    destinationAddress: addr('nw_dst', 'ipv6_dst'),
    protocolIdentifier: proto,
    ipClassOfService: flow.num('nw_tos'),
    sourceTransportPort: icmp ? 0 : flow.num('tp_src'),
    destinationTransportPort: icmp ? 0 : flow.num('tp_dst'),
    icmpTypeCode: icmp ? ((flow.num('tp_src') & 0xff) << 8) | (flow.num('tp_dst') & 0xff) : 0,
  };
}
