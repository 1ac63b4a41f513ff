// NXPINT_CONTINUATION's properties: what TVS freezes, as OVS lays it out, judged by Debian's
// `ovs-ofctl ofp-print`, and decoded back into the same continuation.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { OFPP, output, type Action } from '../../../src/ofproto/actions.js';
import { Match } from '../../../src/ofproto/match.js';
import type { Continuation } from '../../../src/ofproto/xlate.js';
import { OfDecodeError } from '../../../src/openflow/codec/buffer.js';
import { decodeContinuation, encodeContinuation } from '../../../src/openflow/codec/continuation.js';
import { decodeMessage, encodeMessage } from '../../../src/openflow/codec/index.js';
import { parseFlowMod } from '../../../src/openflow/flow-syntax.js';
import { OFP10, OFP13, defaultSession, type MessageOf } from '../../../src/openflow/messages.js';
import { ofpPrint } from './ovs-oracle.js';

const BRIDGE = '0b7c1f6e-2d3a-4c5b-8e9f-0a1b2c3d4e5f';
const FRAME = Buffer.from('ffffffffffff505400000001080600010800060400015054000000010a0000010000000000000a000002', 'hex');
const actions = (text: string): Action[] => parseFlowMod(`actions=${text}`).instructions.apply;

const CONTINUATION: Continuation = {
  frames: [
    { tableId: 10, cookie: 0x42n, actions: actions('pop:NXM_NX_REG1[],resubmit(,20)') },
    { tableId: 10, cookie: 0x42n, actions: [] },
    {
      tableId: 0,
      cookie: 0n,
      actions: [...actions('output:3'), { type: 'set_field', field: 'metadata', value: 0x10n, mask: 0xf0n }, { type: 'resubmit', inPort: OFPP.IN_PORT, table: 4 }],
    },
  ],
  actionSet: [output(2)],
  stack: [3n, 0x1234n],
};

function paused(s: ReturnType<typeof defaultSession>): MessageOf<'packet_in'> {
  return {
    type: 'packet_in', bufferId: 0xffffffff, totalLen: FRAME.length, reason: 'action', tableId: 10, cookie: 0x42n,
    match: Match.of({ in_port: 1, reg0: 7, metadata: 5 }), data: FRAME, userdata: Buffer.from([0, 0, 0, 1]),
    continuation: encodeContinuation(BRIDGE, CONTINUATION, s.version),
  };
}

describe('controller(pause) continuations on the wire', () => {
  it.each([
    ['OpenFlow 1.0', OFP10],
    ['OpenFlow 1.3', OFP13],
  ])('%s: ovs-ofctl reads the bridge, stack, actions and action set of a packet-in2, and they decode back', (_n, version) => {
    const s = { ...defaultSession(version), packetInFormat: 'nxt_packet_in2' as const };
    const [msg] = encodeMessage(paused(s), s, 1);
    const text = ofpPrint(msg!);
    expect(text).not.toContain('decode error');
    expect(text).toContain(`continuation.bridge=${BRIDGE}`);
    expect(text).toContain('continuation.stack=(top) 0x1234 0x3 (bottom)');
    expect(text).toMatch(/continuation\.actions=.*pop:NXM_NX_REG1\[\],resubmit\(,20\).*output:3.*resubmit\(,4\)/);
    expect(text).toContain('continuation.action_set=output:2');
    expect(text).toContain('userdata=00.00.00.01');
    const back = decodeMessage(msg!, s).msg as MessageOf<'packet_in'>;
    const { bridge, continuation } = decodeContinuation(back.continuation!, version);
    expect(bridge).toBe(BRIDGE);
    expect(continuation.stack).toEqual(CONTINUATION.stack);
    expect(continuation.actionSet).toEqual(CONTINUATION.actionSet);
    // The rule with nothing left is not written: it has nothing to resume.
    expect(continuation.frames.map((f) => [f.tableId, f.cookie, f.actions.map((a) => a.type)])).toEqual([
      [10, 0x42n, ['pop', 'resubmit']],
      // The write_metadata comes back as the load NXM and OXM express it in.
      [0, 0n, ['output', 'load', 'resubmit']],
    ]);
    expect(encodeContinuation(BRIDGE, continuation, version)).toEqual(back.continuation);
  });

  it('NXT_RESUME carries the continuation back byte for byte, and ovs-ofctl reads it', () => {
    const s = { ...defaultSession(OFP13), packetInFormat: 'nxt_packet_in2' as const };
    const pin = paused(s);
    const [msg] = encodeMessage({ type: 'nx_resume', packetIn: pin }, s, 1);
    const text = execFileSync('ovs-ofctl', ['ofp-print', msg!.toString('hex')], { encoding: 'utf8' });
    expect(text).toMatch(/^NXT_RESUME/);
    expect(text).toContain(`continuation.bridge=${BRIDGE}`);
    const back = decodeMessage(msg!, s).msg;
    expect(back.type === 'nx_resume' && back.packetIn.continuation).toEqual(pin.continuation);
  });

  it.each([
    ['a property longer than what is left', '8000ff00', 'OFPBPC_BAD_LEN'],
    ['a bridge uuid of 4 bytes', '8000000800000000', 'OFPBPC_BAD_LEN'],
    ['a table id of 2 bytes', '8004000600010000', 'OFPBPC_BAD_LEN'],
    ['a stack entry wider than 128 bits', `80010015${'11'.repeat(17)}000000`, 'OFPBPC_BAD_LEN'],
    ["OVS's mirrors, which TVS never sends", '8002000800000001', 'OFPBPC_BAD_TYPE'],
    ['actions that are not OpenFlow actions', '8006000c00000000ffff0000', 'OFPBAC_BAD_LEN'],
  ])('refuses %s with %s, saying the continuation is not from this switch', (_n, hex, error) => {
    const decode = () => decodeContinuation(Buffer.from(hex, 'hex'), OFP13);
    expect(decode).toThrow(OfDecodeError);
    expect(decode).toThrow(new RegExp(`^${error}: .*not one this switch sent`));
  });
});
