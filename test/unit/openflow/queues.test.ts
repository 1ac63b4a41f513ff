// Queue descriptions: OFPT_QUEUE_GET_CONFIG_REPLY (OpenFlow 1.0-1.3) and OFPMP_QUEUE_DESC (1.4+),
// encoded as ovs-ofctl ofp-print reads them and printed as it prints them.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from '../../../src/openflow/codec/index.js';
import { OFP10, OFP11, OFP13, OFP14, defaultSession, type OfMessage, type QueueConfig } from '../../../src/openflow/messages.js';
import { formatQueueConfigReply } from '../../../src/ofctl/print-ports.js';
import { formatMultipartReply } from '../../../src/ofctl/print-reply.js';

function ofpPrint(buf: Buffer): string {
  return execFileSync('ovs-ofctl', ['ofp-print', buf.toString('hex')], { encoding: 'utf8' });
}

function roundTrip(msg: OfMessage, version: number): { wire: Buffer; decoded: OfMessage } {
  const [wire] = encodeMessage(msg, defaultSession(version), 0x2a);
  return { wire: wire!, decoded: decodeMessage(wire!, defaultSession(version)).msg };
}

/** Queue 1 with both rates, queue 0 with none, queue 7 with a rate above 100% (OVS: disabled). */
const queues = (portNo: number): QueueConfig[] => [
  { portNo, queueId: 1, minRate: 250, maxRate: 1000 },
  { portNo, queueId: 0 },
  { portNo, queueId: 7, maxRate: 1200 },
];

describe('queue configuration', () => {
  for (const version of [OFP10, OFP11, OFP13]) {
    it(`encodes a queue_get_config_reply in OpenFlow 1.${version - 1} as ovs-ofctl reads it, and prints it the same`, () => {
      const { wire, decoded } = roundTrip({ type: 'queue_get_config_reply', portNo: 3, queues: queues(3) }, version);
      if (decoded.type !== 'queue_get_config_reply') throw new Error(`decoded a ${decoded.type}`);
      expect(decoded.queues).toEqual(queues(3));
      const printed = formatQueueConfigReply('OFPT_QUEUE_GET_CONFIG_REPLY', decoded.queues, version, 0x2a);
      expect(printed).toBe(ofpPrint(wire));
      expect(printed).toContain(' port=3\nqueue 0:\nqueue 1: min_rate:25.0% max_rate:100.0%\nqueue 7: max_rate:(disabled)\n');
    });
  }

  it('prints a reply without queues as ovs-ofctl does: the title alone, no port', () => {
    const { wire } = roundTrip({ type: 'queue_get_config_reply', portNo: 3, queues: [] }, OFP13);
    expect(formatQueueConfigReply('OFPT_QUEUE_GET_CONFIG_REPLY', [], OFP13, 0x2a)).toBe(ofpPrint(wire));
  });

  it('encodes OpenFlow 1.4 queue descriptions of several ports, sorted by port and queue when printed', () => {
    const all = [...queues(2), { portNo: 0xfffe, queueId: 0, minRate: 5 }, ...queues(1)];
    const { wire, decoded } = roundTrip({ type: 'multipart_reply', reply: { kind: 'queue_desc', queues: all } }, OFP14);
    if (decoded.type !== 'multipart_reply') throw new Error(`decoded a ${decoded.type}`);
    expect(decoded.reply).toEqual({ kind: 'queue_desc', queues: all });
    const printed = formatMultipartReply(decoded.reply, OFP14, 0x2a);
    expect(printed).toBe(ofpPrint(wire));
    expect(printed).toContain('port=2\nqueue 0:\n');
    expect(printed).toContain('port=LOCAL\nqueue 0: min_rate:0.5%\n');
  });

  it('asks for one queue of one port in OpenFlow 1.4, as ovs-ofctl prints the request', () => {
    const { wire, decoded } = roundTrip({ type: 'multipart_request', request: { kind: 'queue_desc', portNo: 1, queueId: 3 } }, OFP14);
    expect(decoded).toEqual({ type: 'multipart_request', request: { kind: 'queue_desc', portNo: 1, queueId: 3 } });
    expect(ofpPrint(wire)).toBe('OFPST_QUEUE_DESC request (OF1.4) (xid=0x2a): port=1 queue=3\n');
  });
});
