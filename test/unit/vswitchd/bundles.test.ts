// OpenFlow bundles on the switch side: messages added to a bundle change
// nothing until the commit, and a commit applies all of them or none.
import { describe, expect, it } from 'vitest';
import { OFPP, output } from '../../../src/ofproto/actions.js';
import { flowMod, OFPTT_ALL, type FlowMod } from '../../../src/ofproto/flow-table.js';
import { Match } from '../../../src/ofproto/match.js';
import { formatFlow } from '../../../src/ofproto/print.js';
import { XBridge } from '../../../src/ofproto/xbridge.js';
import { OFP14, OFPBF_ATOMIC, OFPBF_ORDERED, type MessageOf, type OfMessage } from '../../../src/openflow/messages.js';
import { Bundles } from '../../../src/vswitchd/bundles.js';
import { h1, h2, rig, udp, type Rig, type TestChannel } from '../../helpers/ofconn-rig.js';

const ATOMIC = OFPBF_ATOMIC | OFPBF_ORDERED;

const control = (c: MessageOf<'bundle_control'>['control'], bundleId = 1, flags = ATOMIC): OfMessage => ({ type: 'bundle_control', bundleId, control: c, flags });
const add = (msg: OfMessage, bundleId = 1, flags = ATOMIC): OfMessage => ({ type: 'bundle_add', bundleId, flags, msg });
const forward = (inPort: number, outPort: number, extra: Partial<FlowMod> = {}): OfMessage => ({
  type: 'flow_mod',
  mod: flowMod({ command: 'add', priority: 10, match: Match.of({ in_port: inPort }), instructions: { apply: [output(outPort)], clearActions: false }, ...extra }),
});

/** The bridge's rules as dump-flows prints them. */
function rules(r: Rig): string[] {
  return r.xb.tables.dump().map((rule) => formatFlow(rule));
}

async function openBundle(r: Rig, ch: TestChannel, bundleId = 1, flags = ATOMIC): Promise<void> {
  expect(await ch.ask(r.mgr, control('open_request', bundleId, flags))).toEqual([{ type: 'bundle_control', bundleId, control: 'open_reply', flags: 0 }]);
}

describe('an OpenFlow bundle', () => {
  it('changes nothing until the commit, then applies its flow_mods together and traffic follows them', async () => {
    const r = rig({ defaultRule: false });
    const ch = r.connect(OFP14);
    await openBundle(r, ch);
    expect(await ch.ask(r.mgr, add(forward(1, 3)))).toEqual([]);
    expect(await ch.ask(r.mgr, add(forward(2, 3)))).toEqual([]);
    expect(r.xb.tables.count()).toBe(0);
    expect(await ch.ask(r.mgr, control('commit_request'))).toEqual([{ type: 'bundle_control', bundleId: 1, control: 'commit_reply', flags: 0 }]);
    expect(r.xb.tables.count()).toBe(2);
    await ch.ask(r.mgr, { type: 'barrier_request' });
    r.of.datapath.injectFrames(r.dp[0]!, [udp(h1, h2)]);
    expect(await r.of.datapath.nextTransmitted(r.dp[2]!)).toEqual([udp(h1, h2)]);
  });

  it("rolls back every message when one fails: the failing message's error, then OFPBFC_MSG_FAILED, and no flow_removed", async () => {
    const r = rig({ defaultRule: false });
    const ch = r.connect(OFP14);
    await ch.ask(r.mgr, forward(1, 2, { flags: { sendFlowRem: true } }));
    const before = rules(r);
    await openBundle(r, ch);
    await ch.ask(r.mgr, add({ type: 'flow_mod', mod: flowMod({ command: 'delete', tableId: OFPTT_ALL }) }));
    await ch.ask(r.mgr, add({ type: 'group_mod', mod: { command: 'add', groupId: 5, type: 'all', buckets: [{ weight: 0, watchPort: OFPP.ANY, watchGroup: 0xffffffff, actions: [output(3)] }] } }));
    await ch.ask(r.mgr, add(forward(2, 3)));
    const failing = forward(2, 1, { flags: { checkOverlap: true } });
    await ch.ask(r.mgr, add(failing));
    const sentBefore = ch.sent.length;
    const answers = await ch.ask(r.mgr, control('commit_request'));
    expect(answers).toMatchObject([{ type: 'error', name: 'OFPBFC_MSG_FAILED' }]);
    // The failing message's error carries that message's xid (the one before the commit's).
    const [overlap, failed] = ch.sent.slice(sentBefore);
    expect(overlap).toMatchObject({ msg: { type: 'error', name: 'OFPFMFC_OVERLAP' }, xid: failed!.xid! - 1 });
    expect(failed).toMatchObject({ msg: { type: 'error', name: 'OFPBFC_MSG_FAILED' } });
    expect(rules(r)).toEqual(before);
    expect(r.xb.groups.get(5)).toBeUndefined();
    expect(ch.of('flow_removed')).toEqual([]);
  });

  it('sends the flow_removed of a rule it deletes once the commit succeeds', async () => {
    const r = rig({ defaultRule: false });
    const ch = r.connect(OFP14);
    await ch.ask(r.mgr, forward(1, 2, { flags: { sendFlowRem: true } }));
    await openBundle(r, ch);
    await ch.ask(r.mgr, add({ type: 'flow_mod', mod: flowMod({ command: 'delete', tableId: OFPTT_ALL }) }));
    expect(ch.of('flow_removed')).toEqual([]);
    await ch.ask(r.mgr, control('commit_request'));
    expect(ch.of('flow_removed')).toMatchObject([{ reason: 'delete', priority: 10 }]);
    expect(r.xb.tables.count()).toBe(0);
  });

  it('discards on request; commit, close or discard of a bundle not open is OFPBFC_BAD_ID', async () => {
    const r = rig({ defaultRule: false });
    const ch = r.connect(OFP14);
    await openBundle(r, ch);
    await ch.ask(r.mgr, add(forward(1, 3)));
    expect(await ch.ask(r.mgr, control('discard_request'))).toEqual([{ type: 'bundle_control', bundleId: 1, control: 'discard_reply', flags: 0 }]);
    expect(await ch.ask(r.mgr, control('commit_request'))).toMatchObject([{ type: 'error', name: 'OFPBFC_BAD_ID' }]);
    expect(await ch.ask(r.mgr, control('close_request', 9))).toMatchObject([{ type: 'error', name: 'OFPBFC_BAD_ID' }]);
    expect(r.xb.tables.count()).toBe(0);
  });

  it('refuses a message for a closed bundle (OFPBFC_BUNDLE_CLOSED) and flags that differ from the open (OFPBFC_BAD_FLAGS)', async () => {
    const r = rig({ defaultRule: false });
    const ch = r.connect(OFP14);
    await openBundle(r, ch);
    expect(await ch.ask(r.mgr, control('close_request'))).toEqual([{ type: 'bundle_control', bundleId: 1, control: 'close_reply', flags: 0 }]);
    expect(await ch.ask(r.mgr, add(forward(1, 3)))).toMatchObject([{ type: 'error', name: 'OFPBFC_BUNDLE_CLOSED' }]);
    await openBundle(r, ch, 2);
    expect(await ch.ask(r.mgr, add(forward(1, 3), 2, OFPBF_ORDERED))).toMatchObject([{ type: 'error', name: 'OFPBFC_BAD_FLAGS' }]);
    expect(await ch.ask(r.mgr, control('open_request', 3, 0x80))).toMatchObject([{ type: 'error', name: 'OFPBFC_BAD_FLAGS' }]);
  });

  it('refuses a port_mod in an atomic bundle; a non-atomic one applies it after its flow_mods', async () => {
    const r = rig({ defaultRule: false });
    const ch = r.connect(OFP14);
    const portDown: OfMessage = { type: 'port_mod', portNo: 2, hwAddr: 0x020000000002n, config: 1, mask: 1, advertise: 0 };
    await openBundle(r, ch);
    await ch.ask(r.mgr, add(forward(1, 3)));
    await ch.ask(r.mgr, add(portDown));
    expect(await ch.ask(r.mgr, control('commit_request'))).toMatchObject([{ type: 'error', name: 'OFPBFC_MSG_FAILED' }]);
    expect(r.xb.tables.count()).toBe(0);
    expect(r.xb.port(2)?.adminUp).toBe(true);

    await openBundle(r, ch, 2, OFPBF_ORDERED);
    await ch.ask(r.mgr, add(forward(1, 3), 2, OFPBF_ORDERED));
    await ch.ask(r.mgr, add(portDown, 2, OFPBF_ORDERED));
    expect(await ch.ask(r.mgr, control('commit_request', 2, OFPBF_ORDERED))).toMatchObject([{ control: 'commit_reply' }]);
    expect(r.xb.tables.count()).toBe(1);
    expect(r.xb.port(2)?.adminUp).toBe(false);
    expect(ch.of('port_status')).toMatchObject([{ reason: 'modify', desc: { portNo: 2, config: 1 } }]);
  });

  it('is refused to a slave controller (OFPBRC_IS_SLAVE)', async () => {
    const r = rig();
    const ch = r.connect(OFP14);
    await ch.ask(r.mgr, { type: 'role_request', role: 'slave', generationId: 1n });
    expect(await ch.ask(r.mgr, control('open_request'))).toMatchObject([{ type: 'error', name: 'OFPBRC_IS_SLAVE' }]);
  });
});

describe('a bundle left idle', () => {
  it('is discarded after the idle timeout with OFPBFC_TIMEOUT, which refers to the message that opened it', async () => {
    const xb = new XBridge({ name: 'br0', defaultRule: false });
    const timedOut = new Promise<{ name: string; xid: number; data: Buffer }>((resolve) => {
      const bundles = new Bundles({ xb, start: () => undefined, sendError: (name, xid, data) => resolve({ name, xid, data }) }, 50);
      bundles.control({ type: 'bundle_control', bundleId: 7, control: 'open_request', flags: ATOMIC }, 0x42, Buffer.from('opener'));
    });
    expect(await timedOut).toEqual({ name: 'OFPBFC_TIMEOUT', xid: 0x42, data: Buffer.from('opener') });
  });
});
