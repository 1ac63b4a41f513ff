// The sFlow sample action a bridge with sFlow adds to every translated flow
// (OVS's compose_sflow_action and fix_sflow_action): first in the list, so it
// samples the frame as received, with 1/N probability, and a userspace action
// whose cookie says where the flow sends the frame and with which VLAN.
import { type Action as DpAction, SAMPLE_ALWAYS } from '../datapath/actions.js';
import { encodeSflowCookie } from '../datapath/userdata.js';

/** sFlow's output field: "dropped" (reason 256: unknown) and "sent to several ports" (| their count). */
const SFLOW_OUTPUT_DROPPED = 0x40000000 | 256;
const SFLOW_OUTPUT_MULTIPLE = 0x80000000;

/** What translation needs of a bridge's sFlow agent. */
export interface SflowSampling {
  /** Sample 1 frame in `sampling`. */
  readonly sampling: number;
  /** The kernel ifindex of a datapath port (0 if it has none). */
  ifindexOf(dpPort: number): number;
}

/** The sample probability of 1 in `sampling`, as OVS sets it (at least 1 of 2^32 - 1). */
function sampleProbability(sampling: number): number {
  return Math.max(1, Math.floor(SAMPLE_ALWAYS / sampling));
}

/**
 * `actions` with the sFlow sample action in front; `vlanTci` is the frame's TCI after the
 * actions (as OVS's cookie takes it from the committed flow).
 */
export function withSflowSample(actions: DpAction[], sflow: SflowSampling, vlanTci: number): DpAction[] {
  const outputs = actions.filter((a) => a.type === 'output');
  let output: number;
  if (outputs.length === 0) output = SFLOW_OUTPUT_DROPPED;
  else output = (outputs.length === 1 && sflow.ifindexOf(outputs[0]!.port)) || (SFLOW_OUTPUT_MULTIPLE | outputs.length) >>> 0;
  const userdata = encodeSflowCookie({ vlanTci, output });
  return [{ type: 'sample', probability: sampleProbability(sflow.sampling), actions: [{ type: 'userspace', pid: 0, userdata }] }, ...actions];
}
