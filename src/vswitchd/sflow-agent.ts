// A bridge's sFlow agent (OVS's dpif_sflow with its sFlow library): turns the
// frames the sample action sends up into flow samples, polls each interface's
// counters every `polling` seconds, and sends both to the collectors in sFlow v5
// datagrams. Off the per-packet path: only sampled frames reach it.
import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import type { NativePortStats } from '../../native/index.js';
import { decodeSflowCookie } from '../datapath/userdata.js';
import { getLogger } from '../lib/log.js';
import type { UserspaceUpcall } from '../ofproto/ofproto-dpif.js';
import type { SflowSampling } from '../ofproto/sflow.js';
import {
  type IfCounters,
  SFLOW_DS_CLASS,
  SFLOW_MAX_DATAGRAM,
  datagramHeaderLen,
  encodeCounterSample,
  encodeDatagram,
  encodeFlowSample,
} from './sflow-datagram.js';
import type { SflowOptions } from './sflow-config.js';

const log = getLogger('sflow');

/** A port of the bridge as the agent polls it. */
export interface SflowPort {
  dpPort: number;
  name: string;
  /** The kernel's ifindex (0: no device, never polled, as OVS). */
  ifindex: number;
  stats: NativePortStats;
  adminUp: boolean;
  linkUp: boolean;
  /** bits per second, 0 if unknown. */
  speed: number;
}

/** OVS numbers the bridge's sampler 1000 + its sub-agent id (a physical entity: the switch). */
const SAMPLER_INDEX_BASE = 1000;
/** An interface counter the datapath does not count: sFlow's "unknown". */
const UNKNOWN = 0xffffffff;
/** ifSpeed when the device does not say (OVS's 100 Mb/s). */
const DEFAULT_SPEED = 100_000_000n;

export class SflowAgent implements SflowSampling {
  readonly sampling: number;
  private readonly started = performance.now();
  private readonly sockets = new Map<4 | 6, Socket>();
  private ifindexByDp = new Map<number, number>();
  private datagramSeq = 0;
  private flowSeq = 0;
  private samplePool = 0;
  private readonly counterSeq = new Map<number, number>();
  private pending: Buffer[] = [];
  private pendingLen = 0;
  private flushScheduled = false;
  private readonly poller: NodeJS.Timeout | undefined;
  private sendFailed = false;

  constructor(
    readonly bridge: string,
    readonly options: SflowOptions,
    private readonly subAgentId: number,
    private readonly portsOf: () => SflowPort[],
  ) {
    this.sampling = options.sampling;
    this.refreshPorts();
    if (options.polling > 0) {
      this.poller = setInterval(() => this.poll(), options.polling * 1000);
      this.poller.unref();
    }
  }

  /** Re-reads the bridge's ports' ifindexes (after ports come and go). */
  refreshPorts(): void {
    this.ifindexByDp = new Map(this.portsOf().map((p) => [p.dpPort, p.ifindex]));
  }

  ifindexOf(dpPort: number): number {
    return this.ifindexByDp.get(dpPort) ?? 0;
  }

  /** A frame the sFlow sample action sent up. */
  sample(up: UserspaceUpcall): void {
    const cookie = decodeSflowCookie(up.userdata);
    if (!cookie) return;
    // As OVS: the datapath's draw is taken to converge to 1 in N, so each sample stands for N frames.
    this.samplePool = (this.samplePool + this.sampling) >>> 0;
    this.flowSeq = (this.flowSeq + 1) >>> 0;
    const srcTci = vlanTciOf(up.frame);
    this.queue(
      encodeFlowSample({
        sequence: this.flowSeq,
        sourceClass: SFLOW_DS_CLASS.physicalEntity,
        sourceIndex: SAMPLER_INDEX_BASE + this.subAgentId,
        samplingRate: this.sampling,
        samplePool: this.samplePool,
        drops: 0,
        input: this.ifindexOf(up.dpInPort),
        output: cookie.output,
        frame: up.frame,
        headerBytes: Math.min(up.frame.length, this.options.header),
        srcVlan: srcTci & 0xfff,
        srcPriority: srcTci >> 13,
        dstVlan: cookie.vlanTci & 0xfff,
        dstPriority: cookie.vlanTci >> 13,
      }),
    );
  }

  /** Sends a counter sample of every port with an ifindex. */
  poll(): void {
    const ports = this.portsOf();
    this.ifindexByDp = new Map(ports.map((p) => [p.dpPort, p.ifindex]));
    for (const p of ports) {
      if (!p.ifindex) continue;
      const seq = ((this.counterSeq.get(p.ifindex) ?? 0) + 1) >>> 0;
      this.counterSeq.set(p.ifindex, seq);
      this.queue(encodeCounterSample({ sequence: seq, sourceClass: SFLOW_DS_CLASS.ifIndex, sourceIndex: p.ifindex, counters: countersOf(p) }));
    }
  }

  close(): void {
    if (this.poller) clearInterval(this.poller);
    this.flush();
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
  }

  /** Adds a sample to the next datagram, sending the current one first if it would grow past the limit. */
  private queue(sample: Buffer): void {
    if (this.pending.length && datagramHeaderLen(this.options.agent.length) + this.pendingLen + sample.length > SFLOW_MAX_DATAGRAM) this.flush();
    this.pending.push(sample);
    this.pendingLen += sample.length;
    // The samples of one upcall batch share a datagram.
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    if (!this.pending.length) return;
    this.datagramSeq = (this.datagramSeq + 1) >>> 0;
    const datagram = encodeDatagram(
      { agent: this.options.agent, subAgentId: this.subAgentId, sequence: this.datagramSeq, uptimeMs: Math.floor(performance.now() - this.started) >>> 0 },
      this.pending,
    );
    this.pending = [];
    this.pendingLen = 0;
    for (const c of this.options.collectors) {
      this.socket(isIP(c.host) === 6 ? 6 : 4).send(datagram, c.port, c.host, (err) => {
        if (err && !this.sendFailed) log.warn(`bridge ${this.bridge}: cannot send sFlow to ${c.host}:${c.port}: ${err.message}`);
        this.sendFailed = err !== null;
      });
    }
  }

  private socket(family: 4 | 6): Socket {
    let s = this.sockets.get(family);
    if (!s) {
      s = createSocket(family === 6 ? 'udp6' : 'udp4');
      s.on('error', (e) => log.warn(`bridge ${this.bridge}: sFlow socket: ${e.message}`));
      s.unref();
      this.sockets.set(family, s);
    }
    return s;
  }
}

/** The TCI of an 802.1Q-tagged frame, 0 for an untagged one. */
function vlanTciOf(frame: Buffer): number {
  if (frame.length < 16) return 0;
  const tpid = frame.readUInt16BE(12);
  return tpid === 0x8100 || tpid === 0x88a8 ? frame.readUInt16BE(14) : 0;
}

function countersOf(p: SflowPort): IfCounters {
  const s = p.stats;
  return {
    ifIndex: p.ifindex,
    ifType: 6,
    ifSpeed: p.speed ? BigInt(p.speed) : DEFAULT_SPEED,
    ifDirection: 1,
    ifStatus: (p.adminUp ? 1 : 0) | (p.adminUp && p.linkUp ? 2 : 0),
    inOctets: BigInt(s.rxBytes),
    // As OVS: the datapath counts packets, not unicast apart from the rest.
    inUcastPkts: s.rxPackets >>> 0,
    inMulticastPkts: UNKNOWN,
    inBroadcastPkts: UNKNOWN,
    inDiscards: s.rxDropped >>> 0,
    inErrors: s.rxErrors >>> 0,
    inUnknownProtos: UNKNOWN,
    outOctets: BigInt(s.txBytes),
    outUcastPkts: s.txPackets >>> 0,
    outMulticastPkts: UNKNOWN,
    outBroadcastPkts: UNKNOWN,
    outDiscards: s.txDropped >>> 0,
    outErrors: s.txErrors >>> 0,
    promiscuous: 0,
  };
}
