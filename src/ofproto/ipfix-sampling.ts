/**
 * IPFIX sampling in translation (OVS's compose_ipfix_action and xlate_sample_action): the
 * datapath sample actions xlate emits for a bridge's IPFIX (every packet in, 1 in N) and for
 * an OpenFlow sample action, and the cookie that tells the exporter, when a sampled frame
 * comes up, where it was seen and which exporter it is for.
 */
import { SAMPLE_ALWAYS, type Action as DpAction } from '../datapath/actions.js';
import { USERDATA_KIND } from '../datapath/userdata.js';
import { OFPP, type SampleAction } from './actions.js';

/** What xlate needs of a bridge's IPFIX configuration. */
export interface IpfixSampling {
  /** Bridge IPFIX (the IPFIX table): sample 1 in `sampling` packets received; absent when off. */
  bridge?: { sampling: number; obsPointId: number };
  /** The ids of the bridge's Flow_Sample_Collector_Set rows with an IPFIX exporter. */
  collectorSets: ReadonlySet<number>;
}

/** Where a sampled frame was seen, for its record; and for a per-flow sample, which exporter. */
export interface IpfixCookie {
  /** 'bridge' for the IPFIX table's sampling, else the collector set of a sample action. */
  exporter: 'bridge' | { collectorSetId: number; obsDomainId: number };
  obsPointId: number;
  /** The OpenFlow port the packet went out of; 0 when several, none or unknown. */
  output: number;
}

/** 20 bytes: kind, 3 zeros, then u32 collector set, domain, point and output (little-endian). */
function encodeIpfixCookie(c: IpfixCookie): Buffer {
  const b = Buffer.alloc(20);
  b[0] = c.exporter === 'bridge' ? USERDATA_KIND.ipfix : USERDATA_KIND.flowSample;
  if (c.exporter !== 'bridge') {
    b.writeUInt32LE(c.exporter.collectorSetId >>> 0, 4);
    b.writeUInt32LE(c.exporter.obsDomainId >>> 0, 8);
  }
  b.writeUInt32LE(c.obsPointId >>> 0, 12);
  b.writeUInt32LE(c.output >>> 0, 16);
  return b;
}

/** The IPFIX cookie `userdata` holds, or undefined if it holds none. */
export function decodeIpfixCookie(userdata: Buffer): IpfixCookie | undefined {
  if (userdata.length !== 20 || (userdata[0] !== USERDATA_KIND.ipfix && userdata[0] !== USERDATA_KIND.flowSample)) return undefined;
  const exporter = userdata[0] === USERDATA_KIND.ipfix ? 'bridge' : { collectorSetId: userdata.readUInt32LE(4), obsDomainId: userdata.readUInt32LE(8) };
  return { exporter, obsPointId: userdata.readUInt32LE(12), output: userdata.readUInt32LE(16) };
}

/** The bridge's input sampling, for a packet whose translation sends it to `output`. */
export function bridgeSampleAction(cfg: NonNullable<IpfixSampling['bridge']>, pid: number, output: number): DpAction {
  // OVS's UINT32_MAX / sampling.
  const probability = Math.floor(SAMPLE_ALWAYS / Math.max(1, cfg.sampling));
  return { type: 'sample', probability, actions: [{ type: 'userspace', pid, userdata: encodeIpfixCookie({ exporter: 'bridge', obsPointId: cfg.obsPointId, output }) }] };
}

/** An OpenFlow sample action's datapath action. */
export function flowSampleAction(a: SampleAction, pid: number): DpAction {
  // A 16-bit probability of 65535 becomes the datapath's 32-bit "always" (OVS repeats the 16 bits).
  const probability = ((a.probability << 16) | a.probability) >>> 0;
  const output = a.samplingPort !== OFPP.ANY ? a.samplingPort : 0;
  const userdata = encodeIpfixCookie({ exporter: { collectorSetId: a.collectorSetId, obsDomainId: a.obsDomainId }, obsPointId: a.obsPointId, output });
  return { type: 'sample', probability, actions: [{ type: 'userspace', pid, userdata }] };
}
