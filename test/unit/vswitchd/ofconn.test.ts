// The switch side of OpenFlow, message by message: OfMessage values into a
// bridge's connection manager, replies and asynchronous messages out, and
// the bridge's datapath forwarding real frames as the flow_mods say.
import { describe, expect, it } from 'vitest';
import { OFPP, output } from '../../../src/ofproto/actions.js';
import { flowMod } from '../../../src/ofproto/flow-table.js';
import { Match } from '../../../src/ofproto/match.js';
import { encodeMessage } from '../../../src/openflow/codec/index.js';
import { OFP10, OFP13, type OfMessage } from '../../../src/openflow/messages.js';
import { eventually } from '../../helpers/eventually.js';
import { h1, h2, markerRule, rig, sentToPort2BeforeMarker, TestChannel, udp } from '../../helpers/ofconn-rig.js';

describe('a bridge answering OpenFlow requests', () => {
  it('describes itself in features: datapath id, 254 tables, ports only before OpenFlow 1.3', async () => {
    const r = rig();
    const [f13] = await r.connect(OFP13).ask(r.mgr, { type: 'features_request' });
    expect(f13).toMatchObject({ type: 'features_reply', datapathId: 0xaabbccddeeffn, nTables: 254, nBuffers: 0, ports: [] });
    const [f10] = await r.connect(OFP10).ask(r.mgr, { type: 'features_request' });
    expect(f10?.type === 'features_reply' && f10.ports.map((p) => [p.portNo, p.name, p.hwAddr])).toEqual([
      [1, 'p1', 0x020000000001n],
      [2, 'p2', 0x020000000002n],
      [3, 'p3', 0x020000000003n],
    ]);
  });

  it('keeps miss_send_len per connection: 128 for a controller, 0 for the management socket', async () => {
    const r = rig();
    const ctl = r.connect(OFP13);
    const svc = r.connect(OFP13, 'service');
    expect(await ctl.ask(r.mgr, { type: 'get_config_request' })).toEqual([{ type: 'get_config_reply', flags: 0, missSendLen: 128 }]);
    expect(await svc.ask(r.mgr, { type: 'get_config_request' })).toEqual([{ type: 'get_config_reply', flags: 0, missSendLen: 0 }]);
    await svc.ask(r.mgr, { type: 'set_config', flags: 0, missSendLen: 256 });
    expect(await svc.ask(r.mgr, { type: 'get_config_request' })).toEqual([{ type: 'get_config_reply', flags: 0, missSendLen: 256 }]);
  });

  it('adds a flow that takes effect on traffic once the barrier is answered', async () => {
    const r = rig({ defaultRule: false });
    const ch = r.connect();
    const fm = flowMod({ command: 'add', priority: 10, match: Match.of({ in_port: 1 }), instructions: { apply: [output(3)], clearActions: false } });
    expect(await ch.ask(r.mgr, { type: 'flow_mod', mod: fm })).toEqual([]);
    expect(await ch.ask(r.mgr, { type: 'barrier_request' })).toEqual([{ type: 'barrier_reply' }]);
    r.of.datapath.injectFrames(r.dp[0]!, [udp(h1, h2)]);
    const [frame] = await r.of.datapath.nextTransmitted(r.dp[2]!);
    expect(frame).toEqual(udp(h1, h2));
    await r.of.revalidationRound();
    const [stats] = await ch.ask(r.mgr, { type: 'multipart_request', request: { kind: 'flow', tableId: 0xff, match: Match.catchAll(), outPort: OFPP.ANY, outGroup: 0xffffffff, cookie: 0n, cookieMask: 0n } });
    expect(stats?.type === 'multipart_reply' && stats.reply.kind === 'flow' && stats.reply.flows.map((f) => [f.priority, f.packetCount])).toEqual([[10, 1n]]);
  });

  it('answers a flow_mod it refuses with the OpenFlow error, and keeps serving', async () => {
    const r = rig();
    const ch = r.connect();
    const bad = flowMod({ command: 'add', match: Match.of({ nw_src: 0x0a000001 }), instructions: { apply: [], clearActions: false } });
    const [err] = await ch.ask(r.mgr, { type: 'flow_mod', mod: bad });
    expect(err).toMatchObject({ type: 'error', name: 'OFPBMC_BAD_PREREQ' });
    const toGroup = flowMod({ command: 'add', instructions: { apply: [{ type: 'group', groupId: 7 }], clearActions: false } });
    expect(await ch.ask(r.mgr, { type: 'flow_mod', mod: toGroup })).toMatchObject([{ type: 'error', name: 'OFPBAC_BAD_OUT_GROUP' }]);
    expect(await ch.ask(r.mgr, { type: 'echo_request', data: Buffer.from('hi') })).toEqual([{ type: 'echo_reply', data: Buffer.from('hi') }]);
  });

  it('reports real port counters from the datapath', async () => {
    const r = rig();
    const ch = r.connect();
    r.of.datapath.injectFrames(r.dp[0]!, [udp(h1, h2), udp(h1, h2)]);
    await eventually(() => r.of.datapath.ports().find((p) => p.port === r.dp[0])!.stats.rxPackets === 2);
    const [reply] = await ch.ask(r.mgr, { type: 'multipart_request', request: { kind: 'port', portNo: 1 } });
    expect(reply?.type === 'multipart_reply' && reply.reply.kind === 'port' && reply.reply.ports.map((p) => [p.portNo, p.rxPackets, p.rxBytes])).toEqual([
      [1, 2n, BigInt(2 * udp(h1, h2).length)],
    ]);
  });

  it('sends a packet-out through its actions, and through the tables for output to TABLE', async () => {
    const r = rig({ defaultRule: false });
    const ch = r.connect();
    await ch.ask(r.mgr, { type: 'packet_out', bufferId: 0xffffffff, inPort: OFPP.CONTROLLER, actions: [output(2)], data: udp(h1, h2) });
    expect(await r.of.datapath.nextTransmitted(r.dp[1]!)).toEqual([udp(h1, h2)]);
    await ch.ask(r.mgr, { type: 'flow_mod', mod: flowMod({ command: 'add', match: Match.of({ in_port: 1 }), instructions: { apply: [output(3)], clearActions: false } }) });
    await ch.ask(r.mgr, { type: 'packet_out', bufferId: 0xffffffff, inPort: 1, actions: [output(OFPP.TABLE)], data: udp(h1, h2, 7) });
    expect(await r.of.datapath.nextTransmitted(r.dp[2]!)).toEqual([udp(h1, h2, 7)]);
    expect(await ch.ask(r.mgr, { type: 'packet_out', bufferId: 5, inPort: 1, actions: [], data: udp(h1, h2) })).toMatchObject([{ type: 'error', name: 'OFPBRC_BUFFER_UNKNOWN' }]);
  });

  it("delivers a CONTROLLER action's packet-in with table, cookie, in_port, registers and max_len", async () => {
    const r = rig({ defaultRule: false });
    const ch = r.connect();
    const fm = flowMod({
      command: 'add',
      cookie: 0x1234n,
      match: Match.of({ in_port: 2 }),
      instructions: { apply: [{ type: 'load', dst: { field: 'reg1', ofs: 0, nBits: 32 }, value: 0x55n }, output(OFPP.CONTROLLER, 60)], clearActions: false },
    });
    await ch.ask(r.mgr, { type: 'flow_mod', mod: fm });
    await ch.ask(r.mgr, { type: 'barrier_request' });
    const frame = udp(h2, h1);
    r.of.datapath.injectFrames(r.dp[1]!, [frame]);
    await eventually(() => ch.of('packet_in').length === 1, 5000, 'a packet-in');
    const [pin] = ch.of('packet_in');
    expect(pin).toMatchObject({ reason: 'action', tableId: 0, cookie: 0x1234n, totalLen: frame.length, bufferId: 0xffffffff, data: frame.subarray(0, 60) });
    expect(pin!.match.field('in_port').value).toBe(2n);
    expect(pin!.match.field('reg1').value).toBe(0x55n);
  });

  it('sends table misses to an OpenFlow 1.0 controller only, truncated to its miss_send_len', async () => {
    const r = rig({ defaultRule: false });
    const v13 = r.connect(OFP13);
    r.of.datapath.injectFrames(r.dp[0]!, [udp(h1, h2, 1)]);
    await eventually(() => r.of.datapath.dumpFlows().length === 1, 5000, 'the miss to be answered');
    expect(v13.of('packet_in')).toEqual([]);
    const v10 = r.connect(OFP10);
    await v10.ask(r.mgr, { type: 'barrier_request' });
    r.of.datapath.injectFrames(r.dp[0]!, [udp(h1, h2, 2)]);
    await eventually(() => v10.of('packet_in').length === 1, 5000, 'a table-miss packet-in');
    expect(v10.of('packet_in')[0]).toMatchObject({ reason: 'no_match', data: udp(h1, h2, 2).subarray(0, 128) });
    // Once one controller asks for misses they are the bridge's table-miss behaviour; a 1.3 controller gets them too, as in OVS.
    expect(v13.of('packet_in')).toHaveLength(1);
  });

  it('reports flow_removed for a rule with send_flow_rem that is deleted', async () => {
    const r = rig();
    const ch = r.connect();
    await ch.ask(r.mgr, { type: 'flow_mod', mod: flowMod({ command: 'add', priority: 5, cookie: 9n, flags: { sendFlowRem: true }, match: Match.of({ in_port: 3 }) }) });
    await ch.ask(r.mgr, { type: 'flow_mod', mod: flowMod({ command: 'delete', match: Match.of({ in_port: 3 }) }) });
    expect(ch.of('flow_removed')).toMatchObject([{ reason: 'delete', priority: 5, cookie: 9n }]);
  });

  it('tells controllers of a port_mod with port_status, and a down port forwards nothing', async () => {
    const r = rig({ defaultRule: false });
    const ch = r.connect();
    const other = r.connect();
    await ch.ask(r.mgr, { type: 'flow_mod', mod: flowMod({ command: 'add', match: Match.of({ in_port: 1 }), instructions: { apply: [output(2)], clearActions: false } }) });
    await ch.ask(r.mgr, { type: 'port_mod', portNo: 2, hwAddr: 0x020000000002n, config: 1, mask: 1, advertise: 0 });
    expect(other.of('port_status')).toMatchObject([{ reason: 'modify', desc: { portNo: 2, config: 1 } }]);
    await ch.ask(r.mgr, { type: 'flow_mod', mod: markerRule() });
    await ch.ask(r.mgr, { type: 'barrier_request' });
    r.of.datapath.injectFrames(r.dp[0]!, [udp(h1, h2)]);
    expect(await sentToPort2BeforeMarker(r)).toEqual([]);
    expect(await ch.ask(r.mgr, { type: 'port_mod', portNo: 9, hwAddr: 0n, config: 0, mask: 1, advertise: 0 })).toMatchObject([{ type: 'error', name: 'OFPPMFC_BAD_PORT' }]);
  });

  it('arbitrates roles: a new master demotes the old one, stale generation ids are refused, slaves may not change state', async () => {
    const r = rig();
    const a = r.connect();
    const b = r.connect();
    expect(await a.ask(r.mgr, { type: 'role_request', role: 'master', generationId: 10n })).toEqual([{ type: 'role_reply', role: 'master', generationId: 10n }]);
    expect(await b.ask(r.mgr, { type: 'role_request', role: 'master', generationId: 11n })).toEqual([{ type: 'role_reply', role: 'master', generationId: 11n }]);
    expect(await a.ask(r.mgr, { type: 'role_request', role: 'nochange', generationId: 0n })).toEqual([{ type: 'role_reply', role: 'slave', generationId: 11n }]);
    expect(await a.ask(r.mgr, { type: 'role_request', role: 'master', generationId: 9n })).toMatchObject([{ type: 'error', name: 'OFPRRFC_STALE' }]);
    expect(await a.ask(r.mgr, { type: 'flow_mod', mod: flowMod({ command: 'add' }) })).toMatchObject([{ type: 'error', name: 'OFPBRC_IS_SLAVE' }]);
    // A slave still reads.
    expect((await a.ask(r.mgr, { type: 'multipart_request', request: { kind: 'desc' } }))[0]).toMatchObject({ type: 'multipart_reply', reply: { kind: 'desc' } });
  });

  it('keeps meters: meter_mod adds one, meter_config and meter stats report it, a duplicate is refused by name', async () => {
    const r = rig();
    const ch = r.connect();
    const add: OfMessage = { type: 'meter_mod', mod: { command: 'add', meterId: 1, flags: { kbps: true }, bands: [{ type: 'drop', rate: 1000, burstSize: 0 }] } };
    expect(await ch.ask(r.mgr, add)).toEqual([]);
    expect(await ch.ask(r.mgr, add)).toMatchObject([{ type: 'error', name: 'OFPMMFC_METER_EXISTS' }]);
    expect(await ch.ask(r.mgr, { type: 'multipart_request', request: { kind: 'meter_config', meterId: 0xffffffff } })).toMatchObject([
      { reply: { kind: 'meter_config', meters: [{ meterId: 1, flags: { kbps: true }, bands: [{ type: 'drop', rate: 1000 }] }] } },
    ]);
    expect(await ch.ask(r.mgr, { type: 'multipart_request', request: { kind: 'meter', meterId: 1 } })).toMatchObject([{ reply: { kind: 'meter', meters: [{ meterId: 1, flowCount: 0 }] } }]);
    expect(await ch.ask(r.mgr, { type: 'multipart_request', request: { kind: 'meter_features' } })).toMatchObject([
      { reply: { kind: 'meter_features', maxMeters: 65535, bandTypes: ['drop', 'dscp_remark'] } },
    ]);
  });
});

describe('fail_mode', () => {
  it('standalone switches NORMAL while no controller is connected; secure does not', async () => {
    const r = rig({ defaultRule: false });
    r.xb.flowMod(markerRule());
    await r.mgr.apply('secure', [{ uuid: 'u1', target: 'tcp:127.0.0.1:1', inactivityProbe: 0, maxBackoff: 60_000 }]);
    r.of.datapath.injectFrames(r.dp[0]!, [udp(h1, h2)]);
    expect(await sentToPort2BeforeMarker(r)).toEqual([]);
    await r.mgr.apply('standalone', [{ uuid: 'u1', target: 'tcp:127.0.0.1:1', inactivityProbe: 0, maxBackoff: 60_000 }]);
    await eventually(() => r.xb.config.failOpen === true, 5000, 'fail-open');
    await r.of.revalidated();
    r.of.datapath.injectFrames(r.dp[0]!, [udp(h1, h2, 3)]);
    expect(await r.of.datapath.nextTransmitted(r.dp[1]!)).toEqual([udp(h1, h2, 3)]);
    // The user's tables are what they were.
    expect(r.xb.tables.count()).toBe(1);
    const ctl = new TestChannel(OFP13);
    ctl.conn = r.mgr.attach(ctl, 'controller', 'tcp:127.0.0.1:1');
    expect(r.xb.config.failOpen).toBe(false);
  });
});

describe('inactivity probe', () => {
  it("does not count the time its own event loop spent encoding a large dump as the controller's silence", async () => {
    // Twice the probe outlasts the manager's 250 ms tick, so that a tick can tell idle from busy.
    const PROBE_MS = 1000;
    const r = rig({ defaultRule: false });
    for (let i = 0; i < 2000; i++) {
      r.xb.flowMod(flowMod({ command: 'add', priority: 100, match: Match.of({ dl_type: 0x0800, nw_dst: 0x0a000000 + i }), instructions: { apply: [output(2)], clearActions: false } }));
    }
    await r.mgr.apply('secure', [{ uuid: 'u1', target: 'tcp:127.0.0.1:1', inactivityProbe: PROBE_MS, maxBackoff: 60_000 }]);
    const replies = await r.connect(OFP13).ask(r.mgr, { type: 'multipart_request', request: { kind: 'flow', tableId: 0xff, match: new Match(), outPort: OFPP.ANY, outGroup: 0xffffffff, cookie: 0n, cookieMask: 0n } });
    // A dump this large goes in pieces, each but the last marked as having more to follow.
    expect(replies.map((m) => m.type === 'multipart_reply' && m.more === true)).toEqual([true, false]);
    const flows = replies.flatMap((m) => (m.type === 'multipart_reply' && m.reply.kind === 'flow' ? m.reply.flows : []));
    expect(flows).toHaveLength(2000);
    const reply: OfMessage = { type: 'multipart_reply', reply: { kind: 'flow', flows } };
    // The controller connects just before the event loop turns busy, so that all its silence is
    // the loop's: the transport encodes a reply on the event loop, and this keeps it busy encoding
    // for three probe intervals, as a 100 000-flow dump kept vswitchd busy for 35 s.
    const ctl = new TestChannel(OFP13);
    ctl.conn = r.mgr.attach(ctl, 'controller', 'tcp:127.0.0.1:1');
    const busySince = performance.now();
    let parts = 0;
    while (performance.now() - busySince < 3 * PROBE_MS) parts += encodeMessage(reply, ctl.session, 1).length;
    expect(parts).toBeGreaterThan(1);
    // Idle from now on, the controller is probed (and answers) rather than hung up on.
    await eventually(() => ctl.of('echo_request').length > 0 || ctl.closed, 10_000, 'an inactivity probe or a close');
    expect(ctl.closed).toBe(false);
  });
});
