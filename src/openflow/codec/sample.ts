/**
 * The Nicira sample actions (OVS's nx_action_sample and nx_action_sample2): NXAST_SAMPLE
 * (24 bytes: probability, collector set, observation domain and point), NXAST_SAMPLE2 (32: a
 * sampling port too) and NXAST_SAMPLE3 (32: and a direction). Written as OVS writes them:
 * the shortest one that says everything. (NXAST_SAMPLE4, ids read from fields, is not supported.)
 */
import { OFPP, type SampleAction, type SampleDirection } from '../../ofproto/actions.js';
import { OfDecodeError, type OfReader, type OfWriter } from './buffer.js';

export const NXAST_SAMPLE = { SAMPLE: 29, SAMPLE2: 38, SAMPLE3: 41 } as const;

/** NXAST_SAMPLE3's direction byte (OVS's nx_action_sample_direction). */
const DIRECTIONS: readonly SampleDirection[] = ['default', 'ingress', 'egress'];

/** The subtype `a` is written as. */
export function sampleSubtype(a: SampleAction): number {
  if (a.direction !== 'default') return NXAST_SAMPLE.SAMPLE3;
  if (a.samplingPort !== OFPP.ANY) return NXAST_SAMPLE.SAMPLE2;
  return NXAST_SAMPLE.SAMPLE;
}

/** Writes the body after the Nicira header (whose subtype is sampleSubtype(a)); the caller pads. */
export function putSampleBody(w: OfWriter, a: SampleAction): void {
  w.u16(a.probability).u32(a.collectorSetId).u32(a.obsDomainId).u32(a.obsPointId);
  if (sampleSubtype(a) === NXAST_SAMPLE.SAMPLE) return;
  w.u16(a.samplingPort).u8(DIRECTIONS.indexOf(a.direction)).zeros(5);
}

/** Reads the body of a sample action of `subtype` and total length `len`, after its Nicira header. */
export function pullSample(r: OfReader, subtype: number, len: number): SampleAction {
  const want = subtype === NXAST_SAMPLE.SAMPLE ? 24 : 32;
  if (len !== want) throw new OfDecodeError('OFPBAC_BAD_LEN', `sample action (subtype ${subtype}) has length ${len}, not ${want}`);
  const a: SampleAction = { type: 'sample', probability: r.u16(), collectorSetId: r.u32(), obsDomainId: r.u32(), obsPointId: r.u32(), samplingPort: OFPP.ANY, direction: 'default' };
  if (a.probability === 0) throw new OfDecodeError('OFPBAC_BAD_ARGUMENT', 'sample action with probability 0: it would sample nothing');
  if (subtype === NXAST_SAMPLE.SAMPLE) return a;
  a.samplingPort = r.u16();
  const direction = r.u8();
  const zeros = r.bytes(5);
  if (subtype === NXAST_SAMPLE.SAMPLE3) {
    if (zeros.some((b) => b !== 0)) throw new OfDecodeError('NXBRC_MUST_BE_ZERO', 'sample action has nonzero padding');
    const d = DIRECTIONS[direction];
    if (d === undefined) throw new OfDecodeError('OFPBAC_BAD_ARGUMENT', `sample action with direction ${direction}: use 0 (default), 1 (ingress) or 2 (egress)`);
    a.direction = d;
  }
  return a;
}
