/**
 * NetFlow v5 export datagrams (Cisco's format, as OVS's lib/netflow.h lays it out): a 24-byte
 * header and up to 30 records of 48 bytes, all big-endian. IPv4 only: v5 has no room for
 * anything else.
 */

const NETFLOW_V5_VERSION = 5;
export const NETFLOW_V5_HEADER_LEN = 24;
export const NETFLOW_V5_RECORD_LEN = 48;
/** Records a datagram may carry (OVS and collectors keep to it). */
export const NETFLOW_V5_MAX_RECORDS = 30;

export interface NetflowV5Header {
  /** Milliseconds since the exporter started. */
  sysUptime: number;
  unixSecs: number;
  unixNsecs: number;
  /** Sequence number of the first record in this datagram: records sent before it. */
  flowSequence: number;
  engineType: number;
  engineId: number;
}

export interface NetflowV5Record {
  /** IPv4 addresses as 32-bit numbers. */
  srcAddr: number;
  dstAddr: number;
  /** ifIndex of the input and output interfaces (16 bits each). */
  input: number;
  output: number;
  packets: number;
  bytes: number;
  /** sysUptime at the flow's first and last packet. */
  first: number;
  last: number;
  srcPort: number;
  dstPort: number;
  tcpFlags: number;
  proto: number;
  tos: number;
}

/** One datagram: `header` and `records` (at most NETFLOW_V5_MAX_RECORDS). */
export function encodeNetflowV5(header: NetflowV5Header, records: readonly NetflowV5Record[]): Buffer {
  if (records.length > NETFLOW_V5_MAX_RECORDS) throw new RangeError(`a NetFlow v5 datagram holds at most ${NETFLOW_V5_MAX_RECORDS} records, not ${records.length}`);
  const buf = Buffer.alloc(NETFLOW_V5_HEADER_LEN + records.length * NETFLOW_V5_RECORD_LEN);
  buf.writeUInt16BE(NETFLOW_V5_VERSION, 0);
  buf.writeUInt16BE(records.length, 2);
  buf.writeUInt32BE(header.sysUptime >>> 0, 4);
  buf.writeUInt32BE(header.unixSecs >>> 0, 8);
  buf.writeUInt32BE(header.unixNsecs >>> 0, 12);
  buf.writeUInt32BE(header.flowSequence >>> 0, 16);
  buf.writeUInt8(header.engineType & 0xff, 20);
  buf.writeUInt8(header.engineId & 0xff, 21);
  // Bytes 22-23: sampling interval, 0 (every packet counted).
  records.forEach((r, i) => {
    const at = NETFLOW_V5_HEADER_LEN + i * NETFLOW_V5_RECORD_LEN;
    buf.writeUInt32BE(r.srcAddr >>> 0, at);
    buf.writeUInt32BE(r.dstAddr >>> 0, at + 4);
    // at + 8: next hop, 0: a switch does not route.
    buf.writeUInt16BE(r.input & 0xffff, at + 12);
    buf.writeUInt16BE(r.output & 0xffff, at + 14);
    buf.writeUInt32BE(r.packets >>> 0, at + 16);
    buf.writeUInt32BE(r.bytes >>> 0, at + 20);
    buf.writeUInt32BE(r.first >>> 0, at + 24);
    buf.writeUInt32BE(r.last >>> 0, at + 28);
    buf.writeUInt16BE(r.srcPort & 0xffff, at + 32);
    buf.writeUInt16BE(r.dstPort & 0xffff, at + 34);
    // at + 36: pad.
    buf.writeUInt8(r.tcpFlags & 0xff, at + 37);
    buf.writeUInt8(r.proto & 0xff, at + 38);
    buf.writeUInt8(r.tos & 0xff, at + 39);
    // at + 40..47: source and destination AS, masks, pad: 0.
  });
  return buf;
}
