// The sample action (per-flow IPFIX) in flow syntax and on the wire: what
// ovs-ofctl accepts and refuses, and the Nicira encodings it reads.
import { describe, expect, it } from 'vitest';
import { OfReader, OfWriter } from '../../../src/openflow/codec/buffer.js';
import { pullActions, putActions } from '../../../src/openflow/codec/actions.js';
import { parseFlowMod } from '../../../src/openflow/flow-syntax.js';
import { OFP13 } from '../../../src/openflow/messages.js';
import { formatActionList } from '../../../src/ofproto/print.js';
import type { Action } from '../../../src/ofproto/actions.js';

const actionsOf = (text: string): Action[] => parseFlowMod(`actions=${text}`).instructions.apply;
const wire = (actions: Action[]): Buffer => {
  const w = new OfWriter();
  putActions(w, actions, { version: OFP13 });
  return w.finish();
};

/** A Nicira sample action as bytes: type, length, vendor, subtype, then `body`. */
function nxSample(subtype: number, body: Buffer): Buffer {
  const head = Buffer.alloc(10);
  head.writeUInt16BE(0xffff, 0);
  head.writeUInt16BE(10 + body.length, 2);
  head.writeUInt32BE(0x2320, 4);
  head.writeUInt16BE(subtype, 8);
  return Buffer.concat([head, body]);
}

describe('sample in flow syntax', () => {
  it('prints what it parses, as ovs-ofctl prints it: every id, the port and direction only when set', () => {
    for (const text of [
      'sample(probability=65535,collector_set_id=1,obs_domain_id=0,obs_point_id=0)',
      'sample(probability=12,collector_set_id=3,obs_domain_id=4,obs_point_id=5,sampling_port=7,egress)',
    ]) {
      expect(formatActionList(actionsOf(text))).toBe(text);
    }
    expect(formatActionList(actionsOf('sample(collector_set_id=1,probability=9)'))).toBe('sample(probability=9,collector_set_id=1,obs_domain_id=0,obs_point_id=0)');
  });

  it('refuses a sample without a probability, or with probability 0, and says what it is', () => {
    expect(() => actionsOf('sample(collector_set_id=1)')).toThrow(/non-zero "probability" must be specified on sample/);
    expect(() => actionsOf('sample(probability=0,collector_set_id=1)')).toThrow(/invalid probability value "0": it is packets sampled per 65535/);
    expect(() => actionsOf('sample(probability=65536)')).toThrow(/probability/);
  });

  it('names an unknown key and lists the ones it takes', () => {
    expect(() => actionsOf('sample(probability=1,colector_set_id=1)')).toThrow(/invalid key "colector_set_id" in "sample" argument: supported are probability=N, collector_set_id=N/);
  });
});

describe('sample on the wire', () => {
  it('writes NXAST_SAMPLE (24 bytes) when there is no port or direction, NXAST_SAMPLE2/3 (32) when there is', () => {
    const subtypeAndLen = (text: string) => {
      const b = wire(actionsOf(text));
      return [b.readUInt16BE(8), b.readUInt16BE(2)];
    };
    expect(subtypeAndLen('sample(probability=1,collector_set_id=2)')).toEqual([29, 24]);
    expect(subtypeAndLen('sample(probability=1,collector_set_id=2,sampling_port=3)')).toEqual([38, 32]);
    expect(subtypeAndLen('sample(probability=1,collector_set_id=2,ingress)')).toEqual([41, 32]);
  });

  it('reads back each of them unchanged', () => {
    for (const text of ['sample(probability=1,collector_set_id=2,obs_domain_id=3,obs_point_id=4)', 'sample(probability=5,collector_set_id=6,obs_domain_id=7,obs_point_id=8,sampling_port=9)', 'sample(probability=5,collector_set_id=6,obs_domain_id=7,obs_point_id=8,egress)']) {
      const b = wire(actionsOf(text));
      expect(formatActionList(pullActions(new OfReader(b), OFP13))).toBe(formatActionList(actionsOf(text)));
    }
  });

  it('refuses probability 0, a direction it does not know and a wrong length, as OVS does', () => {
    const body = (probability: number, direction = 0) => {
      const b = Buffer.alloc(22);
      b.writeUInt16BE(probability, 0);
      b.writeUInt16BE(0xffff, 14);
      b[16] = direction;
      return b;
    };
    expect(() => pullActions(new OfReader(nxSample(29, body(0).subarray(0, 14))), OFP13)).toThrow(/probability 0/);
    expect(() => pullActions(new OfReader(nxSample(41, body(1, 3))), OFP13)).toThrow(/direction 3/);
    expect(() => pullActions(new OfReader(nxSample(29, body(1))), OFP13)).toThrow(/length 32, not 24/);
  });
});
