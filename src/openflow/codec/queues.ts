/**
 * Queue descriptions (lib/ofp-queue.c): the queues of an OFPT_QUEUE_GET_CONFIG_REPLY (OpenFlow
 * 1.0-1.3) and the entries of an OFPMP_QUEUE_DESC reply (1.4+). A rate is in tenths of a percent;
 * OVS leaves a rate property out when the queue has none (0xffff).
 */
import { OFP12, type QueueConfig } from '../messages.js';
import { OfDecodeError, OfWriter, type OfReader } from './buffer.js';
import { readPort, writePort } from './ports.js';

/** OFPQT10_MIN_RATE, OFPQT11_MAX_RATE; OpenFlow 1.4's OFPQDPT14_* have the same numbers. */
const MIN_RATE = 1;
const MAX_RATE = 2;
const NO_RATE = 0xffff;

function rates(q: QueueConfig): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  if (q.minRate !== undefined && q.minRate !== NO_RATE) out.push([MIN_RATE, q.minRate]);
  if (q.maxRate !== undefined && q.maxRate !== NO_RATE) out.push([MAX_RATE, q.maxRate]);
  return out;
}

/** The queues after an OpenFlow 1.0-1.3 queue_get_config_reply's header; 1.2+ repeat the port in each. */
export function writeQueueConfigs(w: OfWriter, queues: readonly QueueConfig[], version: number): void {
  for (const q of queues) {
    const start = w.length;
    if (version < OFP12) {
      w.u32(q.queueId).u16(0).zeros(2);
    } else {
      w.u32(q.queueId);
      writePort(w, q.portNo, version);
      w.u16(0).zeros(6);
    }
    for (const [type, rate] of rates(q)) w.u16(type).u16(16).zeros(4).u16(rate).zeros(6);
    w.patchU16(start + (version < OFP12 ? 4 : 8), w.length - start);
  }
}

function readRate(r: OfReader, q: QueueConfig, type: number): void {
  if (type === MIN_RATE) q.minRate = r.u16('min_rate');
  else if (type === MAX_RATE) q.maxRate = r.u16('max_rate');
}

/** The queues filling `r`, each of port `portNo` (the reply's, which OVS reads for every queue). */
export function readQueueConfigs(r: OfReader, portNo: number, version: number): QueueConfig[] {
  const out: QueueConfig[] = [];
  while (r.remaining > 0) {
    const queueId = r.u32('queue_id');
    if (version >= OFP12) readPort(r, version);
    const len = r.u16('queue len');
    r.skip(version < OFP12 ? 2 : 6);
    const headerLen = version < OFP12 ? 8 : 16;
    if (len < headerLen || len % 8 || len - headerLen > r.remaining) throw new OfDecodeError('OFPBRC_BAD_LEN', `queue ${queueId} says it has ${len} bytes`);
    const props = r.sub(len - headerLen, 'queue properties');
    const q: QueueConfig = { portNo, queueId };
    while (props.remaining > 0) {
      const type = props.u16('queue property');
      const plen = props.u16('queue property length');
      if (plen < 8 || plen % 8 || plen - 4 > props.remaining + 0) throw new OfDecodeError('OFPBRC_BAD_LEN', `queue property of ${plen} bytes`);
      const body = props.sub(plen - 4, 'queue property');
      body.skip(4);
      if (plen === 16) readRate(body, q, type);
    }
    out.push(q);
  }
  return out;
}

/** One OFPMP_QUEUE_DESC entry (ofp14_queue_desc and its rate properties). */
export function encodeQueueDesc(q: QueueConfig, version: number): Buffer {
  const w = new OfWriter();
  writePort(w, q.portNo, version);
  w.u32(q.queueId).u16(0).zeros(6);
  for (const [type, rate] of rates(q)) w.u16(type).u16(6).u16(rate).zeros(2);
  w.patchU16(8, w.length);
  return w.finish();
}

export function decodeQueueDesc(r: OfReader, version: number): QueueConfig {
  const portNo = readPort(r, version);
  const queueId = r.u32('queue_id');
  const len = r.u16('queue desc len');
  r.skip(6);
  if (len < 16 || len % 8 || len - 16 > r.remaining) throw new OfDecodeError('OFPBRC_BAD_LEN', `queue desc says it has ${len} bytes`);
  const props = r.sub(len - 16, 'queue desc properties');
  const q: QueueConfig = { portNo, queueId };
  while (props.remaining > 0) {
    const type = props.u16('queue desc property');
    const plen = props.u16('queue desc property length');
    if (plen < 4 || plen - 4 > props.remaining) throw new OfDecodeError('OFPBPC_BAD_LEN', `queue desc property of ${plen} bytes`);
    const body = props.sub(plen - 4, 'queue desc property');
    props.skip(Math.min((8 - (plen % 8)) % 8, props.remaining));
    if (plen === 6) readRate(body, q, type);
  }
  return q;
}
