// Bundle messages on the wire, judged by Debian's `ovs-ofctl ofp-print`: OpenFlow 1.4's
// OFPT_BUNDLE_* and OVS's OpenFlow 1.3 extension ONFT_BUNDLE_*, and the checks a bundle_add's
// inner message gets (version, length, xid, a type that may be bundled).
import { describe, expect, it } from 'vitest';
import { decodeError, encodeOne, ofpPrint } from '../../helpers/of-wire.js';
import { decodeMessage, encodeMessage, OfEncodeError } from '../../../src/openflow/codec/index.js';
import { parseFlowMod } from '../../../src/openflow/flow-syntax.js';
import { defaultSession, OFP10, OFP13, OFP14, OFP15, type OfMessage } from '../../../src/openflow/messages.js';


const commit: OfMessage = { type: 'bundle_control', bundleId: 7, control: 'commit_request', flags: 3 };
const addFlow: OfMessage = { type: 'bundle_add', bundleId: 7, flags: 1, msg: { type: 'flow_mod', mod: parseFlowMod('in_port=1,actions=output:2', 'add') } };


describe('bundle messages', () => {
  it.each([
    [OFP13, 'ONFT_BUNDLE_CONTROL (OF1.3) (xid=0x2a):\n bundle_id=0x7 type=COMMIT_REQUEST flags=atomic ordered'],
    [OFP14, 'OFPT_BUNDLE_CONTROL (OF1.4) (xid=0x2a):\n bundle_id=0x7 type=COMMIT_REQUEST flags=atomic ordered'],
    [OFP15, 'OFPT_BUNDLE_CONTROL (OF1.5) (xid=0x2a):\n bundle_id=0x7 type=COMMIT_REQUEST flags=atomic ordered'],
  ])('encodes a bundle_control in version 0x%i as ovs-ofctl reads it, and decodes it back', (version, printed) => {
    const buf = encodeOne(commit, version);
    expect(ofpPrint(buf)).toBe(printed);
    expect(decodeMessage(buf, defaultSession(version)).msg).toEqual(commit);
  });

  it.each([
    [OFP13, 'ONFT_BUNDLE_ADD_MESSAGE (OF1.3) (xid=0x2a):\n bundle_id=0x7 flags=atomic\nOFPT_FLOW_MOD (OF1.3) (xid=0x2a): ADD in_port=1 actions=output:2'],
    [OFP14, 'OFPT_BUNDLE_ADD_MESSAGE (OF1.4) (xid=0x2a):\n bundle_id=0x7 flags=atomic\nOFPT_FLOW_MOD (OF1.4) (xid=0x2a): ADD in_port=1 actions=output:2'],
  ])('encodes a bundle_add in version 0x%i with the flow_mod inside under the same xid', (version, printed) => {
    const buf = encodeOne(addFlow, version);
    expect(ofpPrint(buf)).toBe(printed);
    const back = decodeMessage(buf, defaultSession(version)).msg;
    expect(back.type === 'bundle_add' && back.msg.type === 'flow_mod' && back.msg.mod.instructions.apply).toEqual([{ type: 'output', port: 2, maxLen: 0 }]);
  });

  it('cannot send a bundle before OpenFlow 1.3', () => {
    expect(() => encodeMessage(commit, defaultSession(OFP10), 1)).toThrow(OfEncodeError);
  });

  it('refuses a bundled message whose xid differs from the bundle_add (OFPBFC_MSG_BAD_XID)', () => {
    const buf = encodeOne(addFlow, OFP14);
    buf.writeUInt32BE(0x2b, 16 + 4); // the inner header starts after the 8-byte header and 8 bytes of bundle fields
    expect(decodeError(buf, OFP14)).toBe('OFPBFC_MSG_BAD_XID');
  });

  it('refuses a bundled message that is longer than what follows (OFPBFC_MSG_BAD_LEN)', () => {
    const buf = encodeOne(addFlow, OFP14);
    buf.writeUInt16BE(0xfff0, 16 + 2);
    expect(decodeError(buf, OFP14)).toBe('OFPBFC_MSG_BAD_LEN');
  });

  it('refuses to bundle a message that is not a flow_mod, group_mod, port_mod or packet-out (OFPBFC_MSG_UNSUP)', () => {
    const echo = encodeOne({ type: 'echo_request', data: Buffer.alloc(0) }, OFP14);
    const buf = encodeOne({ ...addFlow, msg: { type: 'barrier_request' } }, OFP14);
    expect(decodeError(buf, OFP14)).toBe('OFPBFC_MSG_UNSUP');
    const withEcho = Buffer.concat([buf.subarray(0, 16), echo]);
    withEcho.writeUInt16BE(withEcho.length, 2);
    expect(decodeError(withEcho, OFP14)).toBe('OFPBFC_MSG_UNSUP');
  });

  it("answers a flow_mod inside a bundle_add that cannot be decoded with the flow_mod's own error", () => {
    const buf = encodeOne(addFlow, OFP14);
    buf.writeUInt8(99, 16 + 25); // the inner flow_mod's command byte (after header, cookie, cookie_mask, table_id): no such command
    expect(decodeError(buf, OFP14)).toBe('OFPFMFC_BAD_COMMAND');
  });
});
