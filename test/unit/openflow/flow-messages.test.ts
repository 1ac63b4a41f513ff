import { describe, expect, it } from 'vitest';
import { OfReader } from '../../../src/openflow/codec/buffer.js';
import {
  decodeFlowRemoved, decodeFlowStats, decodeFlowStatsRequest, decodeGroupDesc, decodeGroupMod, decodeMeterConfig, decodeMeterMod,
  decodePacketIn, decodePacketOut, encodeFlowRemoved, encodeFlowStats, encodeFlowStatsRequest, encodeGroupDesc, encodeGroupMod,
  encodeMeterConfig, encodeMeterMod, encodePacketIn, encodePacketOut, type FlowStatsRequest,
} from '../../../src/openflow/codec/flow-messages.js';
import { parseFlowMod, parseGroupMod, parseMatch } from '../../../src/openflow/flow-syntax.js';
import { OFP10, OFP13, OFP14, OFP15, defaultSession, type FlowStats, type MessageOf, type Session } from '../../../src/openflow/messages.js';
import { OFPG, OFPP, output } from '../../../src/ofproto/actions.js';
import { Match } from '../../../src/ofproto/match.js';
import type { MeterConfig, MeterMod } from '../../../src/ofproto/meters.js';
import { NX_VENDOR_ID, OFPT_VENDOR, captureOvsOfctl, frame, ofpPrint } from './ovs-oracle.js';

const OF10 = defaultSession(OFP10);
const OF13 = defaultSession(OFP13);
const OF15 = defaultSession(OFP15);
const OFPT = { PACKET_IN: 10, FLOW_REMOVED: 11, PACKET_OUT: 13, GROUP_MOD: 15, STATS_REQUEST10: 16, STATS_REPLY10: 17, MULTIPART_REQUEST: 18, MULTIPART_REPLY: 19, METER_MOD: 29 };
const NXT = { FLOW_REMOVED: 14, PACKET_IN: 17, PACKET_IN2: 30 };
/** A frame: dst 00:00:00:00:00:02, src 00:00:00:00:00:01, IPv4 192.168.0.1 -> 192.168.0.2. */
const FRAME = Buffer.from('000000000002000000000001080045000014000100004000f97cc0a80001c0a80002', 'hex');

/** The body of the last message ovs-ofctl sends of `type` (after the OpenFlow header and `skip` more bytes). */
function bodyOf(sent: Buffer[], type: number, skip = 0): Buffer {
  const msg = sent.filter((m) => m.readUInt8(1) === type).pop();
  if (!msg) throw new Error(`ovs-ofctl sent no message of type ${type}`);
  return msg.subarray(8 + skip);
}

/** A multipart (1.1+) or stats (1.0) message of `kind` with one body; `nx` for a Nicira NXST one. */
function multipart(s: Session, reply: boolean, kind: number, body: Buffer, nxSubtype?: number): Buffer {
  const head = Buffer.alloc(nxSubtype === undefined ? (s.version === OFP10 ? 4 : 8) : 16);
  if (nxSubtype === undefined) head.writeUInt16BE(kind, 0);
  else {
    head.writeUInt16BE(0xffff, 0);
    head.writeUInt32BE(NX_VENDOR_ID, 4);
    head.writeUInt32BE(nxSubtype, 8);
  }
  const type = s.version === OFP10 ? (reply ? OFPT.STATS_REPLY10 : OFPT.STATS_REQUEST10) : reply ? OFPT.MULTIPART_REPLY : OFPT.MULTIPART_REQUEST;
  return frame(s.version, type, Buffer.concat([head, body]));
}

describe('packet_out', () => {
  const inPort1 = (m: MessageOf<'packet_out'>) => ({ ...m, data: m.data.toString('hex') });

  it.each([
    ['OpenFlow 1.0', OF10, [] as string[]],
    ['OpenFlow 1.3', OF13, ['-O', 'OpenFlow13']],
    ['OpenFlow 1.5', OF15, ['-O', 'OpenFlow15']],
  ])('%s: decodes what ovs-ofctl packet-out sends and writes the same bytes back', async (_name, s, args) => {
    const sent = await captureOvsOfctl(s.version, (t) => [...args, 'packet-out', t, `in_port=1 packet=${FRAME.toString('hex')} actions=output:2`]);
    const body = bodyOf(sent, OFPT.PACKET_OUT);
    const po = decodePacketOut(new OfReader(body), s);
    expect(inPort1(po)).toEqual({ type: 'packet_out', bufferId: 0xffffffff, inPort: 1, actions: [output(2)], data: FRAME.toString('hex') });
    expect(encodePacketOut(po, s).toString('hex')).toBe(body.toString('hex'));
  });

  it('carries in_port CONTROLLER and LOCAL in 32-bit numbering on OpenFlow 1.3', () => {
    const po: MessageOf<'packet_out'> = { type: 'packet_out', bufferId: 0xffffffff, inPort: OFPP.CONTROLLER, actions: [output(OFPP.LOCAL)], data: FRAME };
    expect(ofpPrint(frame(OFP13, OFPT.PACKET_OUT, encodePacketOut(po, OF13)))).toContain('in_port=CONTROLLER actions=LOCAL');
  });
});

describe('group_mod and group_desc', () => {
  const GROUP = 'group_id=5,type=select,bucket=weight:3,watch_port:2,actions=output:2,bucket=weight:1,actions=output:3';

  it.each([
    ['OpenFlow 1.3', OF13, ['-O', 'OpenFlow13']],
    ['OpenFlow 1.5', OF15, ['-O', 'OpenFlow15']],
  ])('%s: decodes what ovs-ofctl add-group sends into the group it was given, and writes the same bytes', async (_n, s, args) => {
    const sent = await captureOvsOfctl(s.version, (t) => [...args, 'add-group', t, GROUP]);
    const body = bodyOf(sent, OFPT.GROUP_MOD);
    const mod = decodeGroupMod(new OfReader(body), s);
    expect(mod).toEqual(parseGroupMod(GROUP));
    expect(encodeGroupMod(mod, s).toString('hex')).toBe(body.toString('hex'));
  });

  it('writes group_desc entries ovs-ofctl prints as dump-groups does', () => {
    const g = parseGroupMod('group_id=7,type=all,bucket=actions=output:1,bucket=actions=mod_dl_src:00:11:22:33:44:55,output:2');
    for (const s of [OF13, OF15]) {
      const entry = encodeGroupDesc(g, s);
      const text = ofpPrint(multipart(s, true, 7, entry));
      expect(text).toContain('group_id=7,type=all,bucket=');
      expect(text).toContain('actions=output:1');
      expect(text).toMatch(/set_field:00:11:22:33:44:55->eth_src,output:2/);
      const r = new OfReader(entry);
      const back = decodeGroupDesc(r, s);
      expect(r.remaining).toBe(0);
      // mod_dl_src comes back as the set_field OpenFlow 1.2+ carries it.
      expect(back.buckets[1]?.actions[0]).toEqual({ type: 'set_field', field: 'dl_src', value: 0x001122334455n, mask: 0xffffffffffffn });
      expect(encodeGroupDesc(back, s).toString('hex')).toBe(entry.toString('hex'));
    }
  });

  it('refuses a group type it does not know, as OFPGMFC_BAD_TYPE', () => {
    const body = encodeGroupMod(parseGroupMod('group_id=1,type=all,bucket=output:1'), OF13);
    body.writeUInt8(9, 2);
    expect(() => decodeGroupMod(new OfReader(body), OF13)).toThrow(expect.objectContaining({ name: 'OFPGMFC_BAD_TYPE' }));
  });
});

describe('meter_mod and meter_config', () => {
  const METER = 'meter=3,kbps,burst,stats,bands=type=drop,rate=1000,burst_size=100,type=dscp_remark,rate=2000,burst_size=10,prec_level=1';
  const WANT: MeterMod = {
    command: 'add', meterId: 3, flags: { kbps: true, burst: true, stats: true },
    bands: [{ type: 'drop', rate: 1000, burstSize: 100 }, { type: 'dscp_remark', rate: 2000, burstSize: 10, precLevel: 1 }],
  };

  it('decodes what ovs-ofctl add-meter sends and writes the same bytes', async () => {
    const sent = await captureOvsOfctl(OFP13, (t) => ['-O', 'OpenFlow13', 'add-meter', t, METER]);
    const body = bodyOf(sent, OFPT.METER_MOD);
    expect(decodeMeterMod(new OfReader(body), OF13)).toEqual(WANT);
    expect(encodeMeterMod(WANT, OF13).toString('hex')).toBe(body.toString('hex'));
  });

  it('writes meter_config entries ovs-ofctl prints as dump-meters does', () => {
    const cfg: MeterConfig = { meterId: WANT.meterId, flags: WANT.flags, bands: WANT.bands };
    const entry = encodeMeterConfig(cfg, OF13);
    expect(ofpPrint(multipart(OF13, true, 10, entry))).toContain('meter=3 kbps burst stats bands=\ntype=drop rate=1000 burst_size=100\ntype=dscp_remark rate=2000 burst_size=10 prec_level=1');
    expect(decodeMeterConfig(new OfReader(entry), OF13)).toEqual(cfg);
  });

  it('refuses a band with rate 0 and names the rate', () => {
    const body = encodeMeterMod({ ...WANT, bands: [{ type: 'drop', rate: 0, burstSize: 0 }] }, OF13);
    expect(() => decodeMeterMod(new OfReader(body), OF13)).toThrow(expect.objectContaining({ name: 'OFPMMFC_BAD_RATE' }));
  });
});

describe('flow and aggregate stats requests', () => {
  const FILTER = 'tcp,reg0=5,cookie=5/-1,tp_dst=80';
  const want = (kind: FlowStatsRequest['kind']): FlowStatsRequest => ({
    kind, tableId: 0xff, match: parseMatch('tcp,reg0=5,tp_dst=80'), outPort: OFPP.ANY, outGroup: OFPG.ANY, cookie: 5n, cookieMask: 0xffffffffffffffffn,
  });

  it.each([
    ['NXST_FLOW', OF10, ['-F', 'nxm'], 'nx' as const, 16],
    ['OpenFlow 1.3', OF13, ['-O', 'OpenFlow13'], 'ofp' as const, 8],
    ['OpenFlow 1.5', OF15, ['-O', 'OpenFlow15'], 'ofp' as const, 8],
  ])('%s: decodes what ovs-ofctl dump-flows asks for and writes the same bytes', async (_n, s, args, wire, skip) => {
    const sent = await captureOvsOfctl(s.version, (t) => [...args, 'dump-flows', t, FILTER]);
    const body = bodyOf(sent, s.version === OFP10 ? OFPT.STATS_REQUEST10 : OFPT.MULTIPART_REQUEST, skip);
    const req = decodeFlowStatsRequest(new OfReader(body), s, wire, 'flow');
    expect(req.match.equals(want('flow').match)).toBe(true);
    expect({ ...req, match: undefined }).toEqual({ ...want('flow'), match: undefined });
    expect(encodeFlowStatsRequest(req, s, wire).toString('hex')).toBe(body.toString('hex'));
  });

  it('writes an OpenFlow 1.0 aggregate request ovs-ofctl reads', () => {
    const req = { ...want('aggregate'), cookie: 0n, cookieMask: 0n, match: parseMatch('ip,nw_dst=10.0.0.0/8'), tableId: 3, outPort: 2 };
    const text = ofpPrint(multipart(OF10, false, 2, encodeFlowStatsRequest(req, OF10, 'ofp')));
    expect(text).toBe('table=3 out_port=2 ip,nw_dst=10.0.0.0/8');
  });
});

describe('flow stats entries', () => {
  const stats = (flow: string): FlowStats => {
    const fm = parseFlowMod(flow);
    return {
      tableId: fm.tableId, durationMs: 3500, priority: fm.priority, idleTimeout: fm.idleTimeout, hardTimeout: fm.hardTimeout, flags: fm.flags,
      importance: fm.importance, cookie: fm.cookie, packetCount: 7n, byteCount: 700n, idleAgeMs: 2000, hardAgeMs: 1000, match: fm.match, instructions: fm.instructions,
    };
  };
  const FLOW = 'table=2,cookie=0x9,priority=10,idle_timeout=30,tcp,reg1=7,tp_dst=22 actions=load:0x1->NXM_NX_REG2[],resubmit(,3)';

  it.each([
    ['NXST_FLOW', OF10, 'nx' as const, 'cookie=0x9, duration=3.500s, table=2, n_packets=7, n_bytes=700, idle_timeout=30, idle_age=2, hard_age=1, priority=10,tcp,reg1=0x7,tp_dst=22 actions=load:0x1->NXM_NX_REG2[],resubmit(,3)'],
    ['OpenFlow 1.3', OF13, 'ofp' as const, 'cookie=0x9, duration=3.500s, table=2, n_packets=7, n_bytes=700, idle_timeout=30, priority=10,tcp,reg1=0x7,tp_dst=22 actions=load:0x1->NXM_NX_REG2[],resubmit(,3)'],
    ['OpenFlow 1.5', OF15, 'ofp' as const, 'cookie=0x9, duration=3.500s, table=2, n_packets=7, n_bytes=700, idle_timeout=30, idle_age=2, priority=10,tcp,reg1=0x7,tp_dst=22 actions=set_field:0x1->reg2,resubmit(,3)'],
  ])('%s: ovs-ofctl prints an entry as dump-flows does, and it decodes back', (_n, s, wire, want) => {
    const f = stats(FLOW);
    const entry = encodeFlowStats(f, s, wire);
    const text = ofpPrint(wire === 'nx' ? multipart(s, true, 0, entry, 0) : multipart(s, true, 1, entry));
    expect(text.replace(/^.*?reply.*?:\s*/s, '').trim()).toBe(want);
    const r = new OfReader(entry);
    const back = decodeFlowStats(r, s, wire);
    expect(r.remaining).toBe(0);
    expect(encodeFlowStats(back, s, wire).toString('hex')).toBe(entry.toString('hex'));
    expect(back.match.equals(f.match)).toBe(true);
  });

  it('writes OpenFlow 1.0 entries (actions only)', () => {
    const f = stats('priority=5,in_port=3,ip actions=mod_nw_dst:10.0.0.9,output:1');
    const text = ofpPrint(multipart(OF10, true, 1, encodeFlowStats(f, OF10, 'ofp')));
    expect(text).toContain('duration=3.500s, table=0, n_packets=7, n_bytes=700, priority=5,ip,in_port=3 actions=mod_nw_dst:10.0.0.9,output:1');
  });
});

describe('flow_removed', () => {
  const removed: MessageOf<'flow_removed'> = {
    type: 'flow_removed', cookie: 0x42n, priority: 200, reason: 'idle_timeout', tableId: 4, durationMs: 12_250, idleTimeout: 10, hardTimeout: 60,
    packetCount: 5n, byteCount: 500n, match: parseMatch('udp,nw_src=10.1.0.0/16,tp_dst=53'),
  };

  it.each([
    ['OpenFlow 1.0', OF10, 'ofp' as const, OFPT.FLOW_REMOVED, undefined],
    ['NXT_FLOW_REMOVED', OF10, 'nx' as const, OFPT_VENDOR, NXT.FLOW_REMOVED],
    ['OpenFlow 1.3', OF13, 'ofp' as const, OFPT.FLOW_REMOVED, undefined],
    ['OpenFlow 1.5', OF15, 'ofp' as const, OFPT.FLOW_REMOVED, undefined],
  ])('%s: ovs-ofctl reads reason, priority, duration and counters, and it decodes back', (_n, s, wire, type, sub) => {
    const body = encodeFlowRemoved(removed, s, wire);
    const text = ofpPrint(frame(s.version, type, body, sub));
    expect(text).toContain('udp,nw_src=10.1.0.0/16,tp_dst=53 reason=idle');
    expect(text).toContain('cookie:0x42 duration12.250s idle10');
    expect(text).toContain('pkts5 bytes500');
    if (s.version > OFP10) expect(text).toContain('table_id=4');
    const back = decodeFlowRemoved(new OfReader(body), s, wire);
    // OpenFlow 1.0 carries neither table nor hard timeout.
    const expected = s.version === OFP10 ? { ...removed, tableId: wire === 'nx' ? 4 : 0, hardTimeout: 0 } : removed;
    expect({ ...back, match: undefined }).toEqual({ ...expected, match: undefined });
    expect(back.match.equals(removed.match)).toBe(true);
  });

  it.each([
    ['OpenFlow 1.0', OF10, 'ofp' as const, OFPT.FLOW_REMOVED, undefined, 'delete'],
    ['NXT_FLOW_REMOVED', OF10, 'nx' as const, OFPT_VENDOR, NXT.FLOW_REMOVED, 'delete'],
    ['OpenFlow 1.3', OF13, 'ofp' as const, OFPT.FLOW_REMOVED, undefined, 'delete'],
    ['OpenFlow 1.4', defaultSession(OFP14), 'ofp' as const, OFPT.FLOW_REMOVED, undefined, 'meter_delete'],
    ['OpenFlow 1.5', OF15, 'ofp' as const, OFPT.FLOW_REMOVED, undefined, 'meter_delete'],
  ])('%s: a rule removed with its meter is reported as %s, as OVS reports it', (_n, s, wire, type, sub, reason) => {
    const body = encodeFlowRemoved({ ...removed, reason: 'meter_delete' }, s, wire);
    expect(ofpPrint(frame(s.version, type, body, sub))).toContain(`reason=${reason} `);
    expect(decodeFlowRemoved(new OfReader(body), s, wire).reason).toBe(reason);
  });
});

describe('packet_in', () => {
  const pin = (extra: Partial<MessageOf<'packet_in'>> = {}): MessageOf<'packet_in'> => ({
    type: 'packet_in', bufferId: 0xffffffff, totalLen: FRAME.length, reason: 'action', tableId: 3, cookie: 0x77n,
    match: Match.of({ in_port: 2, reg3: 0x10, metadata: 5 }), data: FRAME, ...extra,
  });

  it.each([
    ['OpenFlow 1.3', OF13, 'ofp' as const, OFPT.PACKET_IN, undefined, 'total_len=34 reg3=0x10,metadata=0x5,in_port=2 (via action) data_len=34 (unbuffered)'],
    ['NXT_PACKET_IN', OF10, 'nx' as const, OFPT_VENDOR, NXT.PACKET_IN, 'total_len=34 reg3=0x10,metadata=0x5,in_port=2 (via action) data_len=34 (unbuffered)'],
  ])('%s: ovs-ofctl reads table, cookie, metadata and the frame, and it decodes back', (_n, s, wire, type, sub, line) => {
    const body = encodePacketIn(pin(), s, wire);
    const text = ofpPrint(frame(s.version, type, body, sub));
    expect(text).toContain(line);
    expect(text).toContain('cookie=0x77');
    expect(text).toContain('table_id=3');
    expect(text).toContain('192.168.0.1');
    const back = decodePacketIn(new OfReader(body), s, wire);
    expect(back.match.equals(pin().match)).toBe(true);
    expect(encodePacketIn(back, s, wire).toString('hex')).toBe(body.toString('hex'));
  });

  it('OpenFlow 1.0: carries in_port and the frame', () => {
    const body = encodePacketIn(pin(), OF10, 'ofp');
    expect(ofpPrint(frame(OFP10, OFPT.PACKET_IN, body))).toContain('total_len=34 in_port=2 (via action) data_len=34 (unbuffered)');
    const back = decodePacketIn(new OfReader(body), OF10, 'ofp');
    expect(back.match.equals(Match.of({ in_port: 2 }))).toBe(true);
    expect(back.data.equals(FRAME)).toBe(true);
  });

  it('NXT_PACKET_IN2 carries userdata and a continuation ovs-ofctl reads, and they decode back', () => {
    // A continuation is opaque to the codec; this one holds what OVS's would (NXCPT_TABLE_ID 3).
    const m = pin({ userdata: Buffer.from([0, 1, 2, 3, 4]), continuation: Buffer.from('8004000503000000', 'hex'), totalLen: 100 });
    const body = encodePacketIn(m, OF13, 'nx2');
    const text = ofpPrint(frame(OFP13, OFPT_VENDOR, body, NXT.PACKET_IN2));
    expect(text).toContain('total_len=100');
    expect(text).toContain('userdata=00.01.02.03.04');
    expect(text).not.toContain('***decode error');
    const back = decodePacketIn(new OfReader(body), OF13, 'nx2');
    expect(back.userdata).toEqual(m.userdata);
    expect(back.continuation).toEqual(m.continuation);
    expect({ ...back, match: undefined }).toEqual({ ...m, match: undefined });
  });
});
