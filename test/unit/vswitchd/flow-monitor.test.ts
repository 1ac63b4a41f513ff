// Flow monitors on the switch side: a connection that asked to watch the
// flow tables hears of every rule added, modified, deleted or expired that
// passes its filter, as unsolicited NXST_FLOW_MONITOR replies (xid 0).
import { describe, expect, it } from 'vitest';
import { OFPG, OFPP, output } from '../../../src/ofproto/actions.js';
import { flowMod, OFPTT_ALL, type FlowMod } from '../../../src/ofproto/flow-table.js';
import { Match } from '../../../src/ofproto/match.js';
import { NXFMF, OFP10, OFP14, type FlowMonitorRequest, type FlowUpdate, type OfMessage } from '../../../src/openflow/messages.js';
import { eventually } from '../../helpers/eventually.js';
import { rig, type Rig, type TestChannel } from '../../helpers/ofconn-rig.js';

const EVERYTHING = NXFMF.INITIAL | NXFMF.ADD | NXFMF.DELETE | NXFMF.MODIFY | NXFMF.ACTIONS | NXFMF.OWN;

function watch(opts: Partial<FlowMonitorRequest> = {}): FlowMonitorRequest {
  return { id: 1, command: 'add', flags: EVERYTHING, outPort: OFPP.ANY, outGroup: OFPG.ANY, tableId: 0xff, match: Match.catchAll(), ...opts };
}

const forward = (inPort: number, outPort: number, extra: Partial<FlowMod> = {}): OfMessage => ({
  type: 'flow_mod',
  mod: flowMod({ command: 'add', priority: 10, match: Match.of({ in_port: inPort }), instructions: { apply: [output(outPort)], clearActions: false }, ...extra }),
});

/** Starts watching; returns the initial updates. */
async function startWatching(r: Rig, ch: TestChannel, ...monitors: FlowMonitorRequest[]): Promise<FlowUpdate[]> {
  const [reply] = await ch.ask(r.mgr, { type: 'multipart_request', request: { kind: 'flow_monitor', monitors } });
  if (reply?.type !== 'multipart_reply' || reply.reply.kind !== 'flow_monitor') throw new Error(`the switch answered ${JSON.stringify(reply?.type)}`);
  return reply.reply.updates;
}

/** The updates the switch sent on its own (xid 0), as `EVENT in_port` words. */
function unsolicited(ch: TestChannel): string[] {
  return ch.sent
    .filter((s) => s.xid === 0 && s.msg.type === 'multipart_reply' && s.msg.reply.kind === 'flow_monitor')
    .flatMap((s) => (s.msg.type === 'multipart_reply' && s.msg.reply.kind === 'flow_monitor' ? s.msg.reply.updates : []))
    .map((u) => {
      if (u.event === 'abbrev') return `abbrev 0x${u.xid.toString(16)}`;
      if (u.event === 'paused' || u.event === 'resumed') return u.event;
      return `${u.event}${u.reason ? `(${u.reason})` : ''} ${String(u.match.flow.num('in_port'))}${u.actions ? ` ${JSON.stringify(u.actions.apply)}` : ''}`;
    });
}

describe('a flow monitor', () => {
  it("answers with the rules that match now, then reports another connection's adds, modifies and deletes with actions", async () => {
    const r = rig({ defaultRule: false });
    const admin = r.connect(OFP10);
    const watcher = r.connect(OFP10);
    await admin.ask(r.mgr, forward(1, 2));
    const initial = await startWatching(r, watcher, watch());
    expect(initial).toMatchObject([{ event: 'initial', tableId: 0, priority: 10, actions: { apply: [output(2)] } }]);
    await admin.ask(r.mgr, forward(2, 3));
    await admin.ask(r.mgr, { type: 'flow_mod', mod: flowMod({ command: 'modify', match: Match.of({ in_port: 2 }), instructions: { apply: [output(1)], clearActions: false } }) });
    // A modify that changes nothing is not reported, as in OVS.
    await admin.ask(r.mgr, { type: 'flow_mod', mod: flowMod({ command: 'modify', match: Match.of({ in_port: 2 }), instructions: { apply: [output(1)], clearActions: false } }) });
    await admin.ask(r.mgr, { type: 'flow_mod', mod: flowMod({ command: 'delete_strict', tableId: 0, priority: 10, match: Match.of({ in_port: 2 }) }) });
    expect(unsolicited(watcher)).toEqual([
      `added 2 ${JSON.stringify([output(3)])}`,
      `modified 2 ${JSON.stringify([output(1)])}`,
      `deleted(delete) 2 ${JSON.stringify([output(1)])}`,
    ]);
  });

  it('reports only rules in its table, output to its out_port and as specific as its match, and no actions without NXFMF_ACTIONS', async () => {
    const r = rig({ defaultRule: false });
    const admin = r.connect(OFP10);
    const watcher = r.connect(OFP10);
    await startWatching(r, watcher, watch({ flags: NXFMF.ADD, tableId: 0, outPort: 3, match: Match.of({ in_port: 1 }) }));
    await admin.ask(r.mgr, forward(1, 3));
    await admin.ask(r.mgr, forward(1, 2, { priority: 20 }));
    await admin.ask(r.mgr, forward(2, 3));
    await admin.ask(r.mgr, forward(1, 3, { tableId: 1 }));
    expect(unsolicited(watcher)).toEqual(['added 1']);
  });

  it("abbreviates the connection's own changes to their xid, unless it asked for them in full (NXFMF_OWN)", async () => {
    const r = rig({ defaultRule: false });
    const terse = r.connect(OFP10);
    const full = r.connect(OFP10);
    await startWatching(r, terse, watch({ flags: NXFMF.ADD | NXFMF.DELETE }));
    await startWatching(r, full, watch({ flags: NXFMF.ADD | NXFMF.OWN }));
    // The rig numbers a channel's requests 1, 2, ...: terse's flow_mod is xid 2.
    await terse.ask(r.mgr, forward(1, 3));
    await full.ask(r.mgr, forward(2, 3));
    expect(unsolicited(terse)).toEqual(['abbrev 0x2', 'added 2']);
    expect(unsolicited(full)).toEqual(['added 1', 'added 2']);
  });

  it('hears of a bundle only once it commits, and of a rolled-back bundle nothing', async () => {
    const r = rig({ defaultRule: false });
    const admin = r.connect(OFP14);
    const watcher = r.connect(OFP10);
    await startWatching(r, watcher, watch({ flags: NXFMF.ADD }));
    const bundle = (c: 'open_request' | 'commit_request', id: number): OfMessage => ({ type: 'bundle_control', bundleId: id, control: c, flags: 1 });
    await admin.ask(r.mgr, bundle('open_request', 1));
    await admin.ask(r.mgr, { type: 'bundle_add', bundleId: 1, flags: 1, msg: forward(1, 3) });
    expect(unsolicited(watcher)).toEqual([]);
    await admin.ask(r.mgr, bundle('commit_request', 1));
    expect(unsolicited(watcher)).toEqual(['added 1']);
    await admin.ask(r.mgr, bundle('open_request', 2));
    await admin.ask(r.mgr, { type: 'bundle_add', bundleId: 2, flags: 1, msg: forward(2, 3) });
    await admin.ask(r.mgr, { type: 'bundle_add', bundleId: 2, flags: 1, msg: { type: 'flow_mod', mod: flowMod({ command: 'add', tableId: 0, instructions: { apply: [{ type: 'group', groupId: 9 }], clearActions: false } }) } });
    expect(await admin.ask(r.mgr, bundle('commit_request', 2))).toMatchObject([{ type: 'error', name: 'OFPBFC_MSG_FAILED' }]);
    expect(unsolicited(watcher)).toEqual(['added 1']);
  });

  it('reports a rule that expires as deleted with its reason', async () => {
    const r = rig({ defaultRule: false });
    const admin = r.connect(OFP10);
    const watcher = r.connect(OFP10);
    await admin.ask(r.mgr, forward(1, 3, { idleTimeout: 5 }));
    await startWatching(r, watcher, watch({ flags: NXFMF.DELETE }));
    r.xb.expire(r.xb.tables.now() + 6000);
    expect(unsolicited(watcher)).toEqual(['deleted(idle_timeout) 1']);
  });

  it('stops at flow_monitor_cancel, and refuses a duplicate id and an unknown cancel by name', async () => {
    const r = rig({ defaultRule: false });
    const admin = r.connect(OFP10);
    const watcher = r.connect(OFP10);
    await startWatching(r, watcher, watch({ id: 7, flags: NXFMF.ADD }));
    const [dup] = await watcher.ask(r.mgr, { type: 'multipart_request', request: { kind: 'flow_monitor', monitors: [watch({ id: 7 })] } });
    expect(dup).toMatchObject({ type: 'error', name: 'OFPMOFC_MONITOR_EXISTS' });
    expect(await watcher.ask(r.mgr, { type: 'flow_monitor_cancel', id: 7 })).toEqual([]);
    await admin.ask(r.mgr, forward(1, 3));
    expect(unsolicited(watcher)).toEqual([]);
    expect(await watcher.ask(r.mgr, { type: 'flow_monitor_cancel', id: 7 })).toMatchObject([{ type: 'error', name: 'OFPMOFC_UNKNOWN_MONITOR' }]);
  });

  it('pauses while its connection is more than 128 KiB behind, then sends what was added meanwhile and resumes', async () => {
    const r = rig({ defaultRule: false });
    const admin = r.connect(OFP10);
    const watcher = r.connect(OFP10);
    await startWatching(r, watcher, watch({ flags: NXFMF.ADD | NXFMF.DELETE }));
    watcher.backlogBytes = 200 * 1024;
    await admin.ask(r.mgr, forward(1, 3));
    expect(watcher.of('flow_monitor_paused')).toHaveLength(1);
    await admin.ask(r.mgr, forward(2, 3));
    await admin.ask(r.mgr, forward(3, 1));
    await admin.ask(r.mgr, { type: 'flow_mod', mod: flowMod({ command: 'delete', tableId: OFPTT_ALL, match: Match.of({ in_port: 3 }) }) });
    // Paused: no adds, and no delete of a rule added during the pause; the delete of one added before still goes.
    await admin.ask(r.mgr, { type: 'flow_mod', mod: flowMod({ command: 'delete', tableId: OFPTT_ALL, match: Match.of({ in_port: 1 }) }) });
    expect(unsolicited(watcher)).toEqual(['added 1', 'deleted(delete) 1']);
    watcher.backlogBytes = 0;
    await eventually(() => watcher.of('flow_monitor_resumed').length === 1, 5000, 'flow_monitor_resumed');
    expect(unsolicited(watcher)).toEqual(['added 1', 'deleted(delete) 1', 'added 2']);
    const types = watcher.sent.map((s) => s.msg.type);
    expect(types.lastIndexOf('multipart_reply')).toBeLessThan(types.indexOf('flow_monitor_resumed'));
  });

  it('reports on resume a rule added during the pause as added, and one modified as modified to monitors of modifications only', async () => {
    const r = rig({ defaultRule: false });
    const admin = r.connect(OFP10);
    const adds = r.connect(OFP10);
    const mods = r.connect(OFP10);
    await admin.ask(r.mgr, forward(1, 3));
    await startWatching(r, adds, watch({ flags: NXFMF.ADD }));
    await startWatching(r, mods, watch({ flags: NXFMF.MODIFY }));
    adds.backlogBytes = 200 * 1024;
    mods.backlogBytes = 200 * 1024;
    // The add of in_port=9 fills both backlogs: they pause after it.
    await admin.ask(r.mgr, forward(9, 3));
    await admin.ask(r.mgr, forward(7, 3));
    await admin.ask(r.mgr, { type: 'flow_mod', mod: flowMod({ command: 'modify', match: Match.of({ in_port: 1 }), instructions: { apply: [output(2)], clearActions: false } }) });
    adds.backlogBytes = 0;
    mods.backlogBytes = 0;
    await eventually(() => adds.of('flow_monitor_resumed').length === 1 && mods.of('flow_monitor_resumed').length === 1, 5000, 'both monitors to resume');
    expect(unsolicited(adds)).toEqual(['added 9', 'added 7']);
    expect(unsolicited(mods).sort()).toEqual(['added 7', 'modified 1']);
  });

  it('modifies and deletes monitors by id in one request (OpenFlow 1.4 commands), all or nothing', async () => {
    const r = rig({ defaultRule: false });
    const admin = r.connect(OFP14);
    const watcher = r.connect(OFP14);
    await admin.ask(r.mgr, forward(1, 3));
    await startWatching(r, watcher, watch({ id: 1, flags: NXFMF.ADD }), watch({ id: 2, flags: NXFMF.ADD, match: Match.of({ in_port: 2 }) }));
    // Deleting 2 and modifying an unknown 5 fails as a whole: monitor 2 still reports.
    const [refused] = await watcher.ask(r.mgr, {
      type: 'multipart_request',
      request: { kind: 'flow_monitor', monitors: [watch({ id: 2, command: 'delete' }), watch({ id: 5, command: 'modify' })] },
    });
    expect(refused).toMatchObject({ type: 'error', name: 'OFPMOFC_UNKNOWN_MONITOR' });
    // Monitor 1 becomes a watcher of in_port=1 with its initial rules; monitor 2 goes.
    const initial = await startWatching(r, watcher, watch({ id: 1, command: 'modify', flags: NXFMF.INITIAL | NXFMF.ADD, match: Match.of({ in_port: 1 }) }), watch({ id: 2, command: 'delete' }));
    expect(initial).toMatchObject([{ event: 'initial', match: Match.of({ in_port: 1 }) }]);
    await admin.ask(r.mgr, forward(2, 3));
    await admin.ask(r.mgr, forward(1, 2, { priority: 20 }));
    expect(unsolicited(watcher)).toEqual(['added 1']);
    const [gone] = await watcher.ask(r.mgr, { type: 'multipart_request', request: { kind: 'flow_monitor', monitors: [watch({ id: 2, command: 'delete' })] } });
    expect(gone).toMatchObject({ type: 'error', name: 'OFPMOFC_UNKNOWN_MONITOR' });
  });
});
