// sFlow version 5 datagrams (sflow.org's sflow_version_5.txt), XDR-encoded:
// every field a big-endian u32 (u64 where the spec says unsigned hyper),
// opaque data as its length then the bytes padded to 4. Only what the agent
// sends: compact flow samples (sampled header, extended switch) and compact
// counter samples (generic interface counters).

/** A data source or port as sFlow names it: its class (0 ifIndex, 2 physical entity) and index. */
export const SFLOW_DS_CLASS = { ifIndex: 0, physicalEntity: 2 } as const;

/** Largest datagram the agent sends, as OVS's sFlow library (SFL_DEFAULT_DATAGRAM_SIZE). */
export const SFLOW_MAX_DATAGRAM = 1400;

export interface FlowSample {
  sequence: number;
  sourceClass: number;
  sourceIndex: number;
  samplingRate: number;
  /** Frames the sampler saw (sampled or not). */
  samplePool: number;
  /** Samples lost for lack of resources. */
  drops: number;
  /** ifIndex of the input port (0: unknown). */
  input: number;
  /** ifIndex of the output port, or 0x40000000 | reason (dropped), or 0x80000000 | n (n ports). */
  output: number;
  /** The frame as received, without its FCS; at most the configured header bytes are sent. */
  frame: Buffer;
  headerBytes: number;
  /** VLAN id and priority in and out (extended switch record). */
  srcVlan: number;
  srcPriority: number;
  dstVlan: number;
  dstPriority: number;
}

/** Generic interface counters (RFC 2863's ifTable as sFlow carries it). */
export interface IfCounters {
  ifIndex: number;
  /** ethernetCsmacd. */
  ifType: number;
  /** bits per second. */
  ifSpeed: bigint;
  /** 0 unknown, 1 full duplex, 2 half duplex. */
  ifDirection: number;
  /** bit 0 admin up, bit 1 oper up. */
  ifStatus: number;
  inOctets: bigint;
  inUcastPkts: number;
  inMulticastPkts: number;
  inBroadcastPkts: number;
  inDiscards: number;
  inErrors: number;
  inUnknownProtos: number;
  outOctets: bigint;
  outUcastPkts: number;
  outMulticastPkts: number;
  outBroadcastPkts: number;
  outDiscards: number;
  outErrors: number;
  promiscuous: number;
}

export interface CounterSample {
  sequence: number;
  sourceClass: number;
  sourceIndex: number;
  counters: IfCounters;
}

export interface DatagramHeader {
  /** The agent's IPv4 or IPv6 address, as bytes (4 or 16). */
  agent: Buffer;
  subAgentId: number;
  sequence: number;
  /** Milliseconds since the agent started. */
  uptimeMs: number;
}

/** Appends XDR items to a growing list of buffers. */
class Xdr {
  readonly parts: Buffer[] = [];
  length = 0;
  u32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v >>> 0);
    return this.push(b);
  }
  u64(v: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt.asUintN(64, v));
    return this.push(b);
  }
  /** Opaque bytes of variable length: the length, the bytes, padding to 4. */
  opaque(b: Buffer): this {
    this.u32(b.length).push(b);
    const pad = (4 - (b.length % 4)) % 4;
    return pad ? this.push(Buffer.alloc(pad)) : this;
  }
  /** A record or sample: enterprise 0 format, its length, its data. */
  record(format: number, body: Xdr): this {
    this.u32(format).u32(body.length);
    for (const p of body.parts) this.push(p);
    return this;
  }
  push(b: Buffer): this {
    this.parts.push(b);
    this.length += b.length;
    return this;
  }
  bytes(): Buffer {
    return Buffer.concat(this.parts, this.length);
  }
}

const sourceId = (cls: number, index: number) => ((cls << 24) | (index & 0xffffff)) >>> 0;

/** One flow sample (format 1): its sampled header (1) and extended switch (1001) records. */
export function encodeFlowSample(s: FlowSample): Buffer {
  const header = s.frame.subarray(0, s.headerBytes);
  const sampledHeader = new Xdr()
    .u32(1) // ethernet ISO 802.3
    .u32(s.frame.length + 4) // the frame as on the wire: with its FCS
    .u32(4) // the FCS stripped
    .opaque(header);
  const sw = new Xdr().u32(s.srcVlan).u32(s.srcPriority).u32(s.dstVlan).u32(s.dstPriority);
  const body = new Xdr()
    .u32(s.sequence)
    .u32(sourceId(s.sourceClass, s.sourceIndex))
    .u32(s.samplingRate)
    .u32(s.samplePool)
    .u32(s.drops)
    .u32(s.input)
    .u32(s.output)
    .u32(2)
    .record(1, sampledHeader)
    .record(1001, sw);
  return new Xdr().record(1, body).bytes();
}

/** One counter sample (format 2) with one generic interface counters record (1). */
export function encodeCounterSample(s: CounterSample): Buffer {
  const c = s.counters;
  const generic = new Xdr()
    .u32(c.ifIndex)
    .u32(c.ifType)
    .u64(c.ifSpeed)
    .u32(c.ifDirection)
    .u32(c.ifStatus)
    .u64(c.inOctets)
    .u32(c.inUcastPkts)
    .u32(c.inMulticastPkts)
    .u32(c.inBroadcastPkts)
    .u32(c.inDiscards)
    .u32(c.inErrors)
    .u32(c.inUnknownProtos)
    .u64(c.outOctets)
    .u32(c.outUcastPkts)
    .u32(c.outMulticastPkts)
    .u32(c.outBroadcastPkts)
    .u32(c.outDiscards)
    .u32(c.outErrors)
    .u32(c.promiscuous);
  const body = new Xdr().u32(s.sequence).u32(sourceId(s.sourceClass, s.sourceIndex)).u32(1).record(1, generic);
  return new Xdr().record(2, body).bytes();
}

/** A datagram: the header, then the encoded samples (each from encodeFlowSample or encodeCounterSample). */
export function encodeDatagram(h: DatagramHeader, samples: readonly Buffer[]): Buffer {
  const x = new Xdr().u32(5).u32(h.agent.length === 16 ? 2 : 1).push(h.agent).u32(h.subAgentId).u32(h.sequence).u32(h.uptimeMs).u32(samples.length);
  for (const s of samples) x.push(s);
  return x.bytes();
}

/** Bytes of a datagram's header before its samples, for an agent address of `agentLen` bytes. */
export const datagramHeaderLen = (agentLen: number): number => 24 + agentLen;
