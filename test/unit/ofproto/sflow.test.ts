import { describe, expect, it } from 'vitest';
import { decodeSflowCookie } from '../../../src/datapath/userdata.js';
import { formatActions } from '../../../src/datapath/odp-syntax.js';
import type { Action } from '../../../src/datapath/actions.js';
import { withSflowSample } from '../../../src/ofproto/sflow.js';

const sflow = { sampling: 400, ifindexOf: (dp: number) => (dp === 9 ? 0 : 100 + dp) };

/** The cookie of the sample action in front of `actions`. */
function cookieOf(actions: Action[], tci = 0) {
  const [sample] = withSflowSample(actions, sflow, tci);
  if (sample?.type !== 'sample' || sample.actions[0]?.type !== 'userspace') throw new Error('no sFlow sample in front');
  return { probability: sample.probability, cookie: decodeSflowCookie(sample.actions[0].userdata!) };
}

describe("the sFlow sample action's cookie, as OVS fills it in", () => {
  it('samples 1 in `sampling` frames, with the probability OVS sets', () => {
    expect(cookieOf([{ type: 'output', port: 2 }]).probability).toBe(Math.floor(0xffffffff / 400));
  });

  it("names one output by its ifIndex and keeps the frame's VLAN", () => {
    expect(cookieOf([{ type: 'output', port: 2 }], 0x200a).cookie).toEqual({ vlanTci: 0x200a, output: 102 });
  });

  it('says "dropped" (0x40000000 | 256) for a flow that outputs nowhere', () => {
    expect(cookieOf([]).cookie?.output).toBe(0x40000100);
  });

  it('says "several ports" with their count, also for one output whose port has no ifIndex', () => {
    expect(cookieOf([{ type: 'output', port: 2 }, { type: 'pop_vlan' }, { type: 'output', port: 3 }]).cookie?.output).toBe(0x80000002);
    expect(cookieOf([{ type: 'output', port: 9 }]).cookie?.output).toBe(0x80000001);
  });

  it('goes first, so the sample sees the frame as received, and prints as OVS prints it', () => {
    const actions = withSflowSample([{ type: 'push_vlan', tpid: 0x8100, tci: 0x1005 }, { type: 'output', port: 2 }], sflow, 0x1005);
    expect(formatActions(actions)).toBe('sample(sample=0.2%,actions(userspace(pid=0,sFlow(vid=5,pcp=0,output=102)))),push_vlan(vid=5,pcp=0),2');
  });
});
