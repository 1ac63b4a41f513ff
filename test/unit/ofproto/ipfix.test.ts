import { describe, expect, it } from 'vitest';
import { FLOW_END_REASON, IPFIX_TEMPLATE_ID } from '../../../src/ofproto/ipfix-encode.js';
import { IpfixExporter, ipfixFlowOf, type IpfixOptions } from '../../../src/ofproto/ipfix.js';
import { decodeIpfixCookie } from '../../../src/ofproto/ipfix-sampling.js';
import type { Action as DpAction } from '../../../src/datapath/actions.js';
import { flowOf, makeBridge } from './bridge-builder.js';
import { tsharkDecode } from '../../helpers/flow-collectors.js';

const AT = { observationPointId: 7, ingressInterface: 1, egressInterface: 2 };
const TCP = ipfixFlowOf(flowOf({ in_port: 1, src: '00:00:00:00:00:01', dst: '00:00:00:00:00:02', nw_src: '10.0.0.1', nw_dst: '10.0.0.2', proto: 6, tos: 0x20, tp_src: 40000, tp_dst: 5201 }), AT);
const PING = ipfixFlowOf(flowOf({ in_port: 1, nw_src: '10.0.0.1', nw_dst: '10.0.0.2', proto: 1, tp_src: 8, tp_dst: 0 }), AT);
const L2 = ipfixFlowOf(flowOf({ in_port: 1, type: 0x88b5, vlan: 10 }), AT);

/** The messages' set ids and data record counts, read from the wire. */
function sets(msg: Buffer): Array<{ id: number; len: number }> {
  const out = [];
  for (let at = 16; at < msg.length; at += msg.readUInt16BE(at + 2)) out.push({ id: msg.readUInt16BE(at), len: msg.readUInt16BE(at + 2) });
  return out;
}

function exporter(options: Partial<IpfixOptions> = {}) {
  let now = 1_765_000_000_000;
  const sent: Buffer[] = [];
  const e = new IpfixExporter((m) => sent.push(m), () => now);
  e.setOptions({ observationDomainId: 42, cacheActiveTimeoutSec: 5, cacheMaxFlows: 100, ...options });
  return { e, sent, advance: (ms: number) => (now += ms), now: () => now };
}

describe('IPFIX flows of sampled packets', () => {
  it('reads an IPv4 TCP packet into addresses, protocol, ToS and ports', () => {
    expect(TCP).toMatchObject({ layer: 'ipv4', sourceAddress: Buffer.from([10, 0, 0, 1]), destinationAddress: Buffer.from([10, 0, 0, 2]), protocolIdentifier: 6, ipClassOfService: 0x20, sourceTransportPort: 40000, destinationTransportPort: 5201, icmpTypeCode: 0, ethernetType: 0x0800 });
    expect(TCP.sourceMacAddress.toString('hex')).toBe('000000000001');
  });

  it("puts ICMP's type and code in icmpTypeCode, not in the ports", () => {
    expect(PING).toMatchObject({ sourceTransportPort: 0, destinationTransportPort: 0, icmpTypeCode: 8 << 8 });
  });

  it('makes an L2 record of a non-IP packet, with its VLAN', () => {
    expect(L2).toMatchObject({ layer: 'l2', ethernetType: 0x88b5, vlanId: 10 });
    expect(L2.sourceAddress).toBeUndefined();
  });
});

describe('the IPFIX flow cache', () => {
  it('aggregates a flow\'s packets until the active timeout, then exports one record after the templates', () => {
    const x = exporter();
    x.e.sample(TCP, 100);
    x.advance(1000);
    x.e.sample(TCP, 200);
    x.e.run();
    expect(x.sent).toEqual([]);
    x.advance(4000);
    x.e.run();
    expect(x.sent.map(sets)).toEqual([[{ id: 2, len: expect.any(Number) as number }], [{ id: IPFIX_TEMPLATE_ID.ipv4, len: expect.any(Number) as number }]]);
    expect(x.e.size).toBe(0);
  });

  it('with the cache off (OVS\'s default), sends each sampled packet as a record at once', () => {
    const x = exporter({ cacheActiveTimeoutSec: 0 });
    x.e.sample(TCP, 100);
    x.e.sample(TCP, 100);
    expect(x.sent).toHaveLength(3);
    expect(x.e.size).toBe(0);
  });

  it('makes room when full by exporting the oldest flow, for lack of resources', async () => {
    const x = exporter({ cacheMaxFlows: 1 });
    x.e.sample(TCP, 100);
    x.e.sample(PING, 98);
    expect(x.e.size).toBe(1);
    const rows = await tsharkDecode(x.sent, 4739, ['cflow.srcport', 'cflow.dstport', 'cflow.flow_end_reason']);
    expect(rows.at(-1)).toEqual(['40000', '5201', String(FLOW_END_REASON.lackOfResources)]);
  });

  it('numbers data records per observation domain and resends templates for a new domain', () => {
    const x = exporter({ cacheActiveTimeoutSec: 0 });
    x.e.sample(TCP, 100);
    x.e.sample(TCP, 100);
    const seq = (m: Buffer) => [m.readUInt32BE(8), m.readUInt32BE(12)];
    expect(x.sent.map(seq)).toEqual([[0, 42], [0, 42], [1, 42]]);
    x.e.setOptions({ observationDomainId: 43, cacheActiveTimeoutSec: 0, cacheMaxFlows: 0 });
    x.e.sample(TCP, 100);
    expect(x.sent.slice(3).map((m) => [sets(m)[0]!.id, ...seq(m)])).toEqual([[2, 0, 43], [IPFIX_TEMPLATE_ID.ipv4, 0, 43]]);
  });
});

describe('IPFIX as Wireshark decodes it', () => {
  it('decodes templates and the records of every layer: addresses, ports, protocol, counts, domain and point', async () => {
    const x = exporter();
    for (let i = 0; i < 3; i++) x.e.sample(TCP, 1500);
    x.e.sample(PING, 98);
    x.e.sample(L2, 60);
    x.e.close();
    const fields = ['cflow.version', 'cflow.od_id', 'cflow.template_id', 'cflow.srcaddr', 'cflow.dstaddr', 'cflow.srcport', 'cflow.dstport', 'cflow.protocol', 'cflow.packets', 'cflow.octets', 'cflow.icmp_type_code_ipv4', 'cflow.ethernet_type', 'cflow.vlanid', 'cflow.observation_point_id'];
    const rows = await tsharkDecode(x.sent, 4739, fields);
    expect(rows.map((r) => [r[0], r[1]])).toEqual(rows.map(() => ['10', '42']));
    expect(rows[0]![2]).toBe('256,257,258');
    // A message's records come comma-separated, field by field: one object per record.
    const records = rows.slice(1).flatMap((r) => {
      const cols = r.map((v) => v.split(','));
      const n = Math.max(...cols.slice(3).map((c) => c.length));
      return Array.from({ length: n }, (_, i) => Object.fromEntries(fields.slice(3).map((f, j) => [f.slice(6), cols[j + 3]![cols[j + 3]!.length === n ? i : 0] ?? ''])));
    });
    expect(records).toEqual([
      { srcaddr: '10.0.0.1', dstaddr: '10.0.0.2', srcport: '40000', dstport: '5201', protocol: '6', packets: '3', octets: '4500', icmp_type_code_ipv4: '0x0000', ethernet_type: '2048', vlanid: '0', observation_point_id: '7' },
      { srcaddr: '10.0.0.1', dstaddr: '10.0.0.2', srcport: '0', dstport: '0', protocol: '1', packets: '1', octets: '98', icmp_type_code_ipv4: '0x0800', ethernet_type: '2048', vlanid: '0', observation_point_id: '7' },
      { srcaddr: '', dstaddr: '', srcport: '', dstport: '', protocol: '', packets: '1', octets: '60', icmp_type_code_ipv4: '', ethernet_type: String(0x88b5), vlanid: '10', observation_point_id: '7' },
    ]);
  });
});

describe('IPFIX sampling in xlate', () => {
  const H1 = '00:00:00:00:00:01';
  const H2 = '00:00:00:00:00:02';
  const sampleOf = (a: DpAction | undefined) => {
    if (a?.type !== 'sample') return undefined;
    const up = a.actions[0];
    return { probability: a.probability, cookie: up?.type === 'userspace' && up.userdata ? decodeIpfixCookie(up.userdata) : undefined };
  };

  it('bridge IPFIX samples what comes in, 1 in N, ahead of the other actions, naming the output port', () => {
    const b = makeBridge([1, 2]);
    b.send({ in_port: 2, src: H2, dst: H1 });
    b.br.setIpfix({ bridge: { sampling: 4, obsPointId: 9 }, collectorSets: new Set() });
    const r = b.send({ in_port: 1, src: H1, dst: H2 });
    expect(sampleOf(r.actions[0])).toEqual({ probability: Math.floor(0xffffffff / 4), cookie: { exporter: 'bridge', obsPointId: 9, output: 2 } });
    expect(b.outs(r)).toEqual([2]);
  });

  it('a sample action samples for its collector set when the bridge has it, and not otherwise', () => {
    const b = makeBridge([1, 2]);
    b.add('priority=10,actions=sample(probability=65535,collector_set_id=5,obs_domain_id=6,obs_point_id=7),output:2');
    expect(b.send({ in_port: 1 }).actions.map((a) => a.type)).toEqual(['output']);
    b.br.setIpfix({ collectorSets: new Set([5]) });
    const r = b.send({ in_port: 1 });
    expect(sampleOf(r.actions[0])).toEqual({ probability: 0xffffffff, cookie: { exporter: { collectorSetId: 5, obsDomainId: 6 }, obsPointId: 7, output: 0 } });
  });

  it('changing what IPFIX samples changes the bridge, so its flows are revalidated', () => {
    const b = makeBridge([1]);
    const seq = b.br.changeSeq();
    b.br.setIpfix({ collectorSets: new Set([1]) });
    expect(b.br.changeSeq()).not.toBe(seq);
    const again = b.br.changeSeq();
    b.br.setIpfix({ collectorSets: new Set([1]) });
    expect(b.br.changeSeq()).toBe(again);
  });
});
