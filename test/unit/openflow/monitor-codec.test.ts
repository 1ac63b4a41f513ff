// Nicira flow monitor messages on the wire, judged by Debian's `ovs-ofctl ofp-print`.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { output } from '../../../src/ofproto/actions.js';
import { Match } from '../../../src/ofproto/match.js';
import { decodeMessage, encodeMessage, OfEncodeError } from '../../../src/openflow/codec/index.js';
import { defaultSession, NXFMF, OFP10, OFP14, type OfMessage } from '../../../src/openflow/messages.js';

function ofpPrint(buf: Buffer): string {
  return execFileSync('ovs-ofctl', ['ofp-print', buf.toString('hex')], { encoding: 'utf8' }).trim();
}

function roundTrip(msg: OfMessage): { printed: string; back: OfMessage } {
  const [buf, ...more] = encodeMessage(msg, defaultSession(OFP10), 0x2a);
  expect(more).toEqual([]);
  return { printed: ofpPrint(buf!), back: decodeMessage(buf!, defaultSession(OFP10)).msg };
}

describe('flow monitor messages', () => {
  it('encodes a monitor request with its flags, table, out_port and match as ovs-ofctl reads it', () => {
    const monitors = [{ id: 3, flags: NXFMF.INITIAL | NXFMF.ADD | NXFMF.ACTIONS, outPort: 2, tableId: 1, match: Match.of({ in_port: 1, dl_type: 0x0800 }) }];
    const { printed, back } = roundTrip({ type: 'multipart_request', request: { kind: 'flow_monitor', monitors } });
    expect(printed).toBe('NXST_FLOW_MONITOR request (xid=0x2a):\n id=3 flags=initial,add,actions out_port=2 table=1 ip,in_port=1');
    expect(back).toEqual({ type: 'multipart_request', request: { kind: 'flow_monitor', monitors } });
  });

  it('encodes added, deleted, modified and abbreviated updates as ovs-ofctl prints them', () => {
    const base = { tableId: 0, idleTimeout: 0, hardTimeout: 0, priority: 10, cookie: 0n, match: Match.of({ in_port: 1 }) };
    const msg: OfMessage = {
      type: 'multipart_reply',
      reply: {
        kind: 'flow_monitor',
        updates: [
          { event: 'added', ...base, actions: { apply: [output(2)], clearActions: false } },
          { event: 'modified', ...base, cookie: 5n, idleTimeout: 30 },
          { event: 'deleted', reason: 'hard_timeout', ...base, tableId: 2 },
          { event: 'abbrev', xid: 0x99 },
        ],
      },
    };
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
    expect(roundTrip({ type: 'nx_flow_monitor_cancel', id: 3 }).printed).toBe('NXT_FLOW_MONITOR_CANCEL (xid=0x2a): id=3');
    expect(roundTrip({ type: 'nx_flow_monitor_paused' }).printed).toBe('NXT_FLOW_MONITOR_PAUSED (xid=0x2a):');
    expect(roundTrip({ type: 'nx_flow_monitor_resumed' }).printed).toBe('NXT_FLOW_MONITOR_RESUMED (xid=0x2a):');
  });

  it("refuses to encode a monitor in OpenFlow 1.4, whose OFPMP_FLOW_MONITOR TVS does not implement", () => {
    expect(() => encodeMessage({ type: 'nx_flow_monitor_paused' }, defaultSession(OFP14), 1)).toThrow(OfEncodeError);
  });
});
