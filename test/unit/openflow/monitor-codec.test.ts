// Flow monitor messages on the wire in each version's format (Nicira's on OpenFlow 1.0, ONF's
// on 1.3, the standard's on 1.4+), judged by Debian's `ovs-ofctl ofp-print`.
import { describe, expect, it } from 'vitest';
import { ofpPrint } from '../../helpers/of-wire.js';
import { output } from '../../../src/ofproto/actions.js';
import { Match } from '../../../src/ofproto/match.js';
import { decodeMessage, encodeMessage } from '../../../src/openflow/codec/index.js';
import { OFPG, OFPP } from '../../../src/ofproto/actions.js';
import { defaultSession, NXFMF, OFP10, OFP13, OFP14, OFP15, type FlowMonitorRequest, type FlowUpdate, type OfMessage } from '../../../src/openflow/messages.js';


function roundTrip(msg: OfMessage, version = OFP10): { printed: string; back: OfMessage } {
  const [buf, ...more] = encodeMessage(msg, defaultSession(version), 0x2a);
  expect(more).toEqual([]);
  return { printed: ofpPrint(buf!), back: decodeMessage(buf!, defaultSession(version)).msg };
}

const monitor = (opts: Partial<FlowMonitorRequest>): FlowMonitorRequest => ({
  id: 3,
  command: 'add',
  flags: NXFMF.INITIAL | NXFMF.ADD | NXFMF.ACTIONS,
  outPort: 2,
  outGroup: OFPG.ANY,
  tableId: 1,
  match: Match.of({ in_port: 1, dl_type: 0x0800 }),
  ...opts,
});
const base = { tableId: 0, idleTimeout: 0, hardTimeout: 0, priority: 10, cookie: 0n, match: Match.of({ in_port: 1 }) };
const updates: FlowUpdate[] = [
  { event: 'added', ...base, actions: { apply: [output(2)], clearActions: false } },
  { event: 'modified', ...base, cookie: 5n, idleTimeout: 30 },
  { event: 'deleted', reason: 'hard_timeout', ...base, tableId: 2 },
  { event: 'abbrev', xid: 0x99 },
];

describe('flow monitor messages', () => {
  it('encodes a monitor request with its flags, table, out_port and match as ovs-ofctl reads it', () => {
    const monitors = [monitor({})];
    const { printed, back } = roundTrip({ type: 'multipart_request', request: { kind: 'flow_monitor', monitors } });
    expect(printed).toBe('NXST_FLOW_MONITOR request (xid=0x2a):\n id=3 flags=initial,add,actions out_port=2 table=1 ip,in_port=1');
    expect(back).toEqual({ type: 'multipart_request', request: { kind: 'flow_monitor', monitors } });
  });

  it('encodes added, deleted, modified and abbreviated updates as ovs-ofctl prints them', () => {
    const msg: OfMessage = { type: 'multipart_reply', reply: { kind: 'flow_monitor', updates } };
    const { printed, back } = roundTrip(msg);
    expect(printed).toBe(
      [
        'NXST_FLOW_MONITOR reply (xid=0x2a):',
        ' event=ADDED table=0 cookie=0 in_port=1 actions=output:2',
        ' event=MODIFIED table=0 idle_timeout=30 cookie=0x5 in_port=1',
        ' event=DELETED reason=hard table=2 cookie=0 in_port=1',
        ' event=ABBREV xid=0x99',
      ].join('\n'),
    );
    expect(back).toEqual(msg);
  });

  it('encodes NXT_FLOW_MONITOR_CANCEL, PAUSED and RESUMED', () => {
    expect(roundTrip({ type: 'flow_monitor_cancel', id: 3 }).printed).toBe('NXT_FLOW_MONITOR_CANCEL (xid=0x2a): id=3');
    expect(roundTrip({ type: 'flow_monitor_paused' }).printed).toBe('NXT_FLOW_MONITOR_PAUSED (xid=0x2a):');
    expect(roundTrip({ type: 'flow_monitor_resumed' }).printed).toBe('NXT_FLOW_MONITOR_RESUMED (xid=0x2a):');
  });
});

describe('ONF flow monitor messages (OpenFlow 1.3)', () => {
  it('encodes a monitor request with an OXM match and a 32-bit out_port as ONFST_FLOW_MONITOR', () => {
    const monitors = [monitor({ flags: NXFMF.INITIAL | NXFMF.ADD | NXFMF.DELETE | NXFMF.OWN })];
    const { printed, back } = roundTrip({ type: 'multipart_request', request: { kind: 'flow_monitor', monitors } }, OFP13);
    expect(printed).toBe('ONFST_FLOW_MONITOR request (OF1.3) (xid=0x2a):\n id=3 flags=initial,add,delete,own out_port=2 table=1 ip,in_port=1');
    expect(back).toEqual({ type: 'multipart_request', request: { kind: 'flow_monitor', monitors } });
  });

  it('encodes updates with instructions, and reports an initial rule as ADDED', () => {
    const msg: OfMessage = { type: 'multipart_reply', reply: { kind: 'flow_monitor', updates } };
    const { printed, back } = roundTrip(msg, OFP13);
    expect(printed).toBe(
      [
        'ONFST_FLOW_MONITOR reply (OF1.3) (xid=0x2a):',
        ' event=ADDED table=0 cookie=0 in_port=1 actions=output:2',
        ' event=MODIFIED table=0 idle_timeout=30 cookie=0x5 in_port=1',
        ' event=DELETED reason=hard table=2 cookie=0 in_port=1',
        ' event=ABBREV xid=0x99',
      ].join('\n'),
    );
    expect(back).toEqual(msg);
    const [initial] = encodeMessage({ type: 'multipart_reply', reply: { kind: 'flow_monitor', updates: [{ event: 'initial', ...base }] } }, defaultSession(OFP13), 1);
    expect(ofpPrint(initial!)).toContain(' event=ADDED table=0 cookie=0 in_port=1');
  });

  it('encodes ONFT_FLOW_MONITOR_CANCEL, PAUSED and RESUMED', () => {
    const cancel = roundTrip({ type: 'flow_monitor_cancel', id: 3 }, OFP13);
    expect(cancel.printed).toBe('ONFT_FLOW_MONITOR_CANCEL (OF1.3) (xid=0x2a): id=3');
    expect(cancel.back).toEqual({ type: 'flow_monitor_cancel', id: 3 });
    expect(roundTrip({ type: 'flow_monitor_paused' }, OFP13)).toEqual({ printed: 'ONFT_FLOW_MONITOR_PAUSED (OF1.3) (xid=0x2a):', back: { type: 'flow_monitor_paused' } });
    expect(roundTrip({ type: 'flow_monitor_resumed' }, OFP13)).toEqual({ printed: 'ONFT_FLOW_MONITOR_RESUMED (OF1.3) (xid=0x2a):', back: { type: 'flow_monitor_resumed' } });
  });
});

describe('OpenFlow 1.4+ flow monitor messages', () => {
  it('encodes a monitor request with its command, out_group and OFPFMF_ONLY_OWN for own changes in full', () => {
    const monitors = [monitor({ flags: NXFMF.ADD | NXFMF.MODIFY | NXFMF.OWN, outGroup: 7, command: 'modify' })];
    const { printed, back } = roundTrip({ type: 'multipart_request', request: { kind: 'flow_monitor', monitors } }, OFP14);
    expect(printed).toBe('OFPST_FLOW_MONITOR request (OF1.4) (xid=0x2a):\n id=3 flags=add,modify,own out_port=2 out_group=7 table=1 ip,in_port=1');
    expect(back).toEqual({ type: 'multipart_request', request: { kind: 'flow_monitor', monitors } });
  });

  it('cancels a monitor with a request whose command is delete', () => {
    const { printed, back } = roundTrip({ type: 'flow_monitor_cancel', id: 3 }, OFP15);
    expect(printed).toBe('OFPST_FLOW_MONITOR request (OF1.5) (xid=0x2a):\n id=3 command=delete');
    expect(back).toMatchObject({ type: 'multipart_request', request: { kind: 'flow_monitor', monitors: [{ id: 3, command: 'delete' }] } });
  });

  it('encodes INITIAL, added, modified, deleted and abbreviated updates, and PAUSED and RESUMED inside the reply', () => {
    const msg: OfMessage = { type: 'multipart_reply', reply: { kind: 'flow_monitor', updates: [{ event: 'initial', ...base }, ...updates] } };
    const { printed, back } = roundTrip(msg, OFP14);
    expect(printed).toBe(
      [
        'OFPST_FLOW_MONITOR reply (OF1.4) (xid=0x2a):',
        ' event=INITIAL table=0 cookie=0 in_port=1',
        ' event=ADDED table=0 cookie=0 in_port=1 actions=output:2',
        ' event=MODIFIED table=0 idle_timeout=30 cookie=0x5 in_port=1',
        ' event=DELETED reason=hard table=2 cookie=0 in_port=1',
        ' event=ABBREV xid=0x99',
      ].join('\n'),
    );
    expect(back).toEqual(msg);
    const paused = roundTrip({ type: 'flow_monitor_paused' }, OFP14);
    expect(paused.printed).toBe('OFPST_FLOW_MONITOR reply (OF1.4) (xid=0x2a):\n event=PAUSED');
    expect(paused.back).toEqual({ type: 'multipart_reply', reply: { kind: 'flow_monitor', updates: [{ event: 'paused' }] } });
    expect(roundTrip({ type: 'flow_monitor_resumed' }, OFP14).printed).toBe('OFPST_FLOW_MONITOR reply (OF1.4) (xid=0x2a):\n event=RESUMED');
  });

  it('refuses a monitor request with an unknown command by name', () => {
    const [buf] = encodeMessage({ type: 'multipart_request', request: { kind: 'flow_monitor', monitors: [monitor({ outPort: OFPP.ANY })] } }, defaultSession(OFP14), 1);
    const bad = Buffer.from(buf!);
    // ofp14_flow_monitor_request.command, after the 16-byte multipart header and 15 bytes of the request.
    bad[16 + 15] = 9;
    expect(() => decodeMessage(bad, defaultSession(OFP14))).toThrow(/OFPMOFC_BAD_COMMAND.*command 9/);
  });
});
