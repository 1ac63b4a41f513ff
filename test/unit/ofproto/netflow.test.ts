import { describe, expect, it } from 'vitest';
import { datapathNetflowIds, Netflow, NF_OUT, type NetflowKey, type NetflowOptions } from '../../../src/ofproto/netflow.js';
import { encodeNetflowV5, NETFLOW_V5_HEADER_LEN, NETFLOW_V5_RECORD_LEN } from '../../../src/ofproto/netflow-v5.js';
import { parseIpv4 } from '../../../src/lib/addr.js';
import { makeBridge } from './bridge-builder.js';

const ip = (s: string) => parseIpv4(s).readUInt32BE(0);
const H1 = '00:00:00:00:00:01';
const H2 = '00:00:00:00:00:02';

/** A record of a datagram, read back field by field at the offsets of Cisco's v5 format. */
function readRecord(d: Buffer, i: number) {
  const at = NETFLOW_V5_HEADER_LEN + i * NETFLOW_V5_RECORD_LEN;
  return {
    src: d.readUInt32BE(at), dst: d.readUInt32BE(at + 4), nexthop: d.readUInt32BE(at + 8),
    input: d.readUInt16BE(at + 12), output: d.readUInt16BE(at + 14),
    packets: d.readUInt32BE(at + 16), bytes: d.readUInt32BE(at + 20),
    first: d.readUInt32BE(at + 24), last: d.readUInt32BE(at + 28),
    srcPort: d.readUInt16BE(at + 32), dstPort: d.readUInt16BE(at + 34),
    tcpFlags: d[at + 37], proto: d[at + 38], tos: d[at + 39],
  };
}

function readHeader(d: Buffer) {
  return {
    version: d.readUInt16BE(0), count: d.readUInt16BE(2), sysUptime: d.readUInt32BE(4),
    unixSecs: d.readUInt32BE(8), unixNsecs: d.readUInt32BE(12), flowSequence: d.readUInt32BE(16),
    engineType: d[20], engineId: d[21], sampling: d.readUInt16BE(22),
  };
}

const TCP: NetflowKey = { inPort: 1, nwSrc: ip('10.0.0.1'), nwDst: ip('10.0.0.2'), nwTos: 0x2b, nwProto: 6, tpSrc: 40000, tpDst: 5201 };

function exporter(options: Partial<NetflowOptions> = {}) {
  let now = 5_000;
  const sent: Buffer[] = [];
  const nf = new Netflow((d) => sent.push(d), () => now, () => ({ secs: 1_765_000_000, nsecs: 123 }));
  nf.setOptions({ engineType: 1, engineId: 2, activeTimeoutSec: 10, addIdToInterface: false, ...options });
  return { nf, sent, advance: (ms: number) => (now += ms), now: () => now };
}

describe('NetFlow v5 datagrams', () => {
  it('lays out the 24-byte header and 48-byte records as Cisco specifies, next hop 0', () => {
    const d = encodeNetflowV5(
      { sysUptime: 1234, unixSecs: 99, unixNsecs: 7, flowSequence: 42, engineType: 3, engineId: 4 },
      [{ srcAddr: ip('10.0.0.1'), dstAddr: ip('10.0.0.2'), input: 1, output: 2, packets: 10, bytes: 1000, first: 100, last: 200, srcPort: 1, dstPort: 2, tcpFlags: 0x1b, proto: 6, tos: 0x28 }],
    );
    expect(d).toHaveLength(72);
    expect(readHeader(d)).toEqual({ version: 5, count: 1, sysUptime: 1234, unixSecs: 99, unixNsecs: 7, flowSequence: 42, engineType: 3, engineId: 4, sampling: 0 });
    expect(readRecord(d, 0)).toEqual({ src: ip('10.0.0.1'), dst: ip('10.0.0.2'), nexthop: 0, input: 1, output: 2, packets: 10, bytes: 1000, first: 100, last: 200, srcPort: 1, dstPort: 2, tcpFlags: 0x1b, proto: 6, tos: 0x28 });
  });

  it('refuses more than 30 records in one datagram', () => {
    const r = { srcAddr: 0, dstAddr: 0, input: 0, output: 0, packets: 1, bytes: 1, first: 0, last: 0, srcPort: 0, dstPort: 0, tcpFlags: 0, proto: 0, tos: 0 };
    expect(() => encodeNetflowV5({ sysUptime: 0, unixSecs: 0, unixNsecs: 0, flowSequence: 0, engineType: 0, engineId: 0 }, Array(31).fill(r))).toThrow(/at most 30 records/);
  });
});

describe('NetFlow accounting', () => {
  it('exports a flow when its datapath flows go: summed counters, OR of TCP flags, DSCP only, times since start', () => {
    const e = exporter();
    e.advance(100);
    e.nf.update({ key: TCP, output: 2 }, { packets: 1, bytes: 74, tcpFlags: 0x02, usedAt: e.now() });
    e.advance(400);
    e.nf.update({ key: TCP, output: 2 }, { packets: 9, bytes: 926, tcpFlags: 0x18, usedAt: e.now() });
    expect(e.sent).toEqual([]);
    e.nf.clear(TCP);
    e.nf.run();
    expect(e.sent).toHaveLength(1);
    const d = e.sent[0]!;
    expect(readHeader(d)).toMatchObject({ version: 5, count: 1, sysUptime: 500, unixSecs: 1_765_000_000, unixNsecs: 123, flowSequence: 0, engineType: 1, engineId: 2 });
    expect(readRecord(d, 0)).toMatchObject({ src: ip('10.0.0.1'), dst: ip('10.0.0.2'), input: 1, output: 2, packets: 10, bytes: 1000, first: 100, last: 500, srcPort: 40000, dstPort: 5201, tcpFlags: 0x1a, proto: 6, tos: 0x28 });
    expect(e.nf.size).toBe(0);
  });

  it('sends a busy flow every active timeout, each record with the traffic since the last', () => {
    const e = exporter({ activeTimeoutSec: 10 });
    e.nf.update({ key: TCP, output: 2 }, { packets: 5, bytes: 500, tcpFlags: 0, usedAt: e.now() });
    e.advance(5_000);
    e.nf.run();
    expect(e.sent).toHaveLength(0);
    e.nf.update({ key: TCP, output: 2 }, { packets: 5, bytes: 500, tcpFlags: 0, usedAt: e.now() });
    e.advance(5_001);
    e.nf.run();
    expect(e.sent.map((d) => readRecord(d, 0).packets)).toEqual([10]);
    e.nf.update({ key: TCP, output: 2 }, { packets: 3, bytes: 300, tcpFlags: 0, usedAt: e.now() });
    e.advance(10_000);
    e.nf.run();
    expect(e.sent.map((d) => readRecord(d, 0).packets)).toEqual([10, 3]);
    expect(e.sent.map((d) => readHeader(d).flowSequence)).toEqual([0, 1]);
  });

  it('with active_timeout off, exports only when the flow goes', () => {
    const e = exporter({ activeTimeoutSec: 0 });
    e.nf.update({ key: TCP, output: 2 }, { packets: 5, bytes: 500, tcpFlags: 0, usedAt: e.now() });
    e.advance(3_600_000);
    e.nf.run();
    expect(e.sent).toHaveLength(0);
    e.nf.clear(TCP);
    e.nf.run();
    expect(e.sent).toHaveLength(1);
  });

  it('starts a new record when the output port changes', () => {
    const e = exporter();
    e.nf.update({ key: TCP, output: NF_OUT.FLOOD }, { packets: 1, bytes: 100, tcpFlags: 0, usedAt: e.now() });
    e.nf.update({ key: TCP, output: 2 }, { packets: 4, bytes: 400, tcpFlags: 0, usedAt: e.now() });
    e.nf.clear(TCP);
    e.nf.run();
    const d = e.sent[0]!;
    expect(readHeader(d).count).toBe(2);
    expect([readRecord(d, 0), readRecord(d, 1)].map((r) => [r.output, r.packets])).toEqual([[0xffff, 1], [2, 4]]);
  });

  it('puts at most 30 records in a datagram, numbering them across datagrams', () => {
    const e = exporter();
    for (let i = 0; i < 45; i++) e.nf.update({ key: { ...TCP, tpSrc: 1000 + i }, output: 2 }, { packets: 1, bytes: 60, tcpFlags: 0, usedAt: e.now() });
    e.nf.close();
    expect(e.sent.map((d) => readHeader(d).count)).toEqual([30, 15]);
    expect(e.sent.map((d) => readHeader(d).flowSequence)).toEqual([0, 30]);
  });

  it('splits a byte count past 32 bits over records that keep the bytes per packet even', () => {
    const e = exporter();
    e.nf.update({ key: TCP, output: 2 }, { packets: 6_000_000, bytes: 9_000_000_000, tcpFlags: 0, usedAt: e.now() });
    e.nf.close();
    const records = [0, 1, 2].map((i) => readRecord(e.sent[0]!, i));
    expect(readHeader(e.sent[0]!).count).toBe(3);
    expect(records.reduce((n, r) => n + r.bytes, 0)).toBe(9_000_000_000);
    expect(records.reduce((n, r) => n + r.packets, 0)).toBe(6_000_000);
    expect(records.every((r) => r.bytes / r.packets === 1500)).toBe(true);
  });

  it('add_id_to_interface puts engine_id\'s low 7 bits above 9 bits of port number', () => {
    const e = exporter({ engineId: 0x85, addIdToInterface: true });
    e.nf.update({ key: { ...TCP, inPort: 0x203 }, output: 7 }, { packets: 1, bytes: 60, tcpFlags: 0, usedAt: e.now() });
    e.nf.close();
    expect(readRecord(e.sent[0]!, 0)).toMatchObject({ input: (0x05 << 9) | 0x003, output: (0x05 << 9) | 7 });
  });

  it('puts ICMP type and code in the destination port, as NetFlow does', () => {
    const e = exporter();
    e.nf.update({ key: { ...TCP, nwProto: 1, tpSrc: 8, tpDst: 0 }, output: 2 }, { packets: 1, bytes: 98, tcpFlags: 0, usedAt: e.now() });
    e.nf.close();
    expect(readRecord(e.sent[0]!, 0)).toMatchObject({ proto: 1, srcPort: 0, dstPort: 0x0800 });
  });

  it("defaults engine type and id from the datapath's name as OVS's userspace datapath does", () => {
    // ovs-netdev hashes (OVS's hash_string) to 0x71fc2fd1 -> type 0x2f, id 0xd1.
    expect(datapathNetflowIds('ovs-netdev')).toEqual({ engineType: 47, engineId: 209 });
  });
});

describe('NetFlow in xlate', () => {
  it('with NetFlow on, a NORMAL megaflow matches the IPv4 5-tuple and ToS and names its output port', () => {
    const b = makeBridge([1, 2, 3]);
    b.send({ in_port: 2, src: H2, dst: H1 });
    const pkt = { in_port: 1, src: H1, dst: H2, nw_src: '10.0.0.1', nw_dst: '10.0.0.2', proto: 6, tos: 0x29, tp_src: 40000, tp_dst: 5201 };
    const before = b.send(pkt);
    expect(before.wc.get('nw_src')).toBe(0n);
    expect(before.netflow).toBeUndefined();
    b.br.setNetflow(new Netflow(() => undefined));
    const r = b.send(pkt);
    expect(r.netflow).toEqual({ key: { inPort: 1, nwSrc: ip('10.0.0.1'), nwDst: ip('10.0.0.2'), nwTos: 0x29, nwProto: 6, tpSrc: 40000, tpDst: 5201 }, output: 2 });
    expect([r.wc.get('nw_src'), r.wc.get('nw_dst'), r.wc.get('nw_proto'), r.wc.get('tp_src'), r.wc.get('tp_dst'), r.wc.get('nw_tos')]).toEqual([0xffffffffn, 0xffffffffn, 0xffn, 0xffffn, 0xffffn, 0xfcn]);
  });

  it('names a flooded flow FLOOD and a dropped one DROP', () => {
    const b = makeBridge([1, 2, 3]);
    b.br.setNetflow(new Netflow(() => undefined));
    expect(b.send({ in_port: 1, src: H1, dst: H2, nw_src: '10.0.0.1', nw_dst: '10.0.0.2', proto: 17, tp_src: 1, tp_dst: 2 }).netflow?.output).toBe(NF_OUT.FLOOD);
    b.add('priority=100,udp,actions=drop');
    expect(b.send({ in_port: 1, src: H1, dst: H2, nw_src: '10.0.0.1', nw_dst: '10.0.0.2', proto: 17, tp_src: 1, tp_dst: 2 }).netflow?.output).toBe(NF_OUT.DROP);
  });

  it('turning NetFlow on changes the bridge, so installed megaflows are revalidated', () => {
    const b = makeBridge([1, 2]);
    const seq = b.br.changeSeq();
    b.br.setNetflow(new Netflow(() => undefined));
    expect(b.br.changeSeq()).not.toBe(seq);
  });
});
