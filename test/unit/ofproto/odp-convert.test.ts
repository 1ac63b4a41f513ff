import { describe, expect, it } from 'vitest';
import { decodeKey, encodeKey, FLOW_KEY_LEN, type FlowKey } from '../../../src/datapath/flow-key.js';
import { compactKey, extractKey, flowToKey, keyToFlow, maskToWc, wcToMask } from '../../../src/ofproto/odp-convert.js';
import { FIELD_IDS, Flow, FlowWildcards, type FieldId } from '../../../src/ofproto/flow.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const TCP = hex('000000000002 000000000001 8100 a00a 0800 4510002c0000400040060000 0a000001 0a000002 04d20050 00000000 00000000 5012ffff 00000000');
const ICMP = hex('000000000002 000000000001 0800 450000200000000040010000 0a000001 0a000002 0800f7ff 00010001');
const ARP = hex('ffffffffffff 000000000001 0806 0001 0800 0604 0001 000000000001 0a000001 000000000000 0a000002');

describe('datapath key <-> OpenFlow flow', () => {
  it('extracts a VLAN-tagged TCP frame like the native datapath and maps it to OpenFlow fields', () => {
    const key = extractKey(TCP, 7);
    expect(key).toMatchObject({ in_port: 7, 'eth.src': '00:00:00:00:00:01', 'vlan.tci': 0xb00a, eth_type: 0x0800, 'ipv4.src': '10.0.0.1', 'ipv4.tos': 0x10, 'ipv4.ttl': 64, 'ipv4.proto': 6, 'tcp.src': 1234, 'tcp.dst': 80, tcp_flags: 0x012 });
    const f = keyToFlow(key, 3);
    expect([f.num('in_port'), f.num('vlan_tci'), f.num('nw_src'), f.num('tp_dst'), f.num('tcp_flags'), f.get('dl_src')]).toEqual([3, 0xb00a, 0x0a000001, 80, 0x12, 1n]);
    expect(compactKey(flowToKey(f, 7))).toEqual(compactKey({ ...key, 'vlan.tpid': undefined }));
  });

  it('puts ICMP type/code in tp_src/tp_dst and ARP fields in nw_* and arp_*', () => {
    const i = keyToFlow(extractKey(ICMP, 1), 1);
    expect([i.num('tp_src'), i.num('tp_dst')]).toEqual([8, 0]);
    const a = keyToFlow(extractKey(ARP, 1), 1);
    expect([a.num('nw_proto'), a.num('nw_src'), a.num('nw_dst'), a.get('arp_sha')]).toEqual([1, 0x0a000001, 0x0a000002, 1n]);
  });

  it('maps every field of random keys of each frame type to its OpenFlow field, bytes or decoded', () => {
    // [OpenFlow field, key offset, length]: the layout of native/src/flow/key.rs.
    const L2: [FieldId, number, number][] = [['tun_id', 8, 8], ['tun_src', 16, 4], ['tun_dst', 20, 4], ['tun_ipv6_src', 152, 16], ['tun_ipv6_dst', 168, 16], ['tun_tos', 122, 1], ['tun_ttl', 123, 1], ['dl_dst', 24, 6], ['dl_src', 30, 6], ['dl_type', 36, 2], ['vlan_tci', 38, 2]];
    const IP4: [FieldId, number, number][] = [['nw_proto', 46, 1], ['nw_tos', 48, 1], ['nw_ttl', 49, 1], ['nw_src', 60, 4], ['nw_dst', 64, 4]];
    const IP6: [FieldId, number, number][] = [['nw_proto', 46, 1], ['nw_tos', 48, 1], ['nw_ttl', 49, 1], ['ipv6_src', 72, 16], ['ipv6_dst', 88, 16]];
    const PORTS: [FieldId, number, number][] = [['tcp_flags', 50, 2], ['tp_src', 52, 2], ['tp_dst', 54, 2]];
    const ICMP_: [FieldId, number, number][] = [['tp_src', 56, 1], ['tp_dst', 57, 1]];
    // nd_reserved and nd_options_type overlay IPv4's addresses (native/src/flow/key.rs).
    const ND: [FieldId, number, number][] = [['nd_target', 104, 16], ['arp_sha', 124, 6], ['arp_tha', 130, 6], ['nd_reserved', 60, 4], ['nd_options_type', 64, 1]];
    const ARP_: [FieldId, number, number][] = [['nw_proto', 58, 2], ['nw_src', 60, 4], ['nw_dst', 64, 4], ['arp_sha', 72, 6], ['arp_tha', 78, 6]];
    const layout = (ethType: number, proto: number) =>
      ethType === 0x0800 ? [...L2, ...IP4, ...(proto === 1 ? ICMP_ : proto === 58 ? [] : PORTS)]
      : ethType === 0x86dd ? [...L2, ...IP6, ...(proto === 58 ? [...ICMP_, ...ND] : proto === 1 ? [] : PORTS)]
      : ethType === 0x0806 ? [...L2, ...ARP_]
      : L2;
    let seed = 7;
    const byte = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) >> 16 & 0xff;
    for (const ethType of [0x0800, 0x86dd, 0x0806, 0x88b5]) {
      for (let i = 0; i < 50; i++) {
        const buf = Buffer.from(Array.from({ length: FLOW_KEY_LEN }, byte));
        buf.writeUInt16BE(ethType, 36);
        buf[46] = [6, 17, 1, 58, 132][i % 5]!;
        buf.writeUInt16BE(buf.readUInt16BE(58) & 0xff, 58); // arp.op fits OpenFlow's nw_proto
        buf.writeUInt16BE(buf.readUInt16BE(50) & 0xfff, 50); // tcp_flags fits its 12 bits
        const want = new Map<FieldId, bigint>([['in_port', 5n]]);
        for (const [f, at, len] of layout(ethType, buf[46])) want.set(f, BigInt(`0x${buf.subarray(at, at + len).toString('hex')}`));
        // The datapath's tunnel.flags (df 0x1, csum 0x2, key 0x4, oam 0x8) as OVS's FLOW_TNL_F_* (oam 0x1, df 0x2, csum 0x4, key 0x8).
        const dpFlags = buf.readUInt16BE(120);
        want.set('tun_flags', BigInt(((dpFlags & 0x7) << 1) | ((dpFlags & 0x8) >> 3)));
        for (const f of [keyToFlow(buf, 5), keyToFlow(decodeKey(buf), 5)]) {
          expect(FIELD_IDS.map((id) => [id, f.get(id)])).toEqual(FIELD_IDS.map((id) => [id, want.get(id) ?? 0n]));
        }
      }
    }
  });

  it('keeps the bits an OpenFlow field has of a hand-written key wider than it', () => {
    // tcp_flags is 12 bits in OpenFlow, two bytes in the key.
    expect(keyToFlow({ eth_type: 0x0800, 'ipv4.proto': 6, tcp_flags: 0xf012 }, 1).num('tcp_flags')).toBe(0x012);
  });

  it('reads keys decoded by decodeKey under either L4 alias', () => {
    const f = keyToFlow({ eth_type: 0x0800, 'ipv4.proto': 17, 'udp.dst': 53 }, 1);
    expect(f.num('tp_dst')).toBe(53);
  });
});

/** `key` as a megaflow with `mask` sees it. */
const masked = (key: Buffer, mask: Buffer) => Buffer.from(key.map((b, i) => b & mask[i]!));

/** A mask as decodeKey reports it, its shared bytes named after `key`'s type. */
const maskOf = (wc: FlowWildcards, key: FlowKey) => decodeKey(wcToMask(wc, key), Number(key.eth_type ?? 0));

describe('wildcards -> megaflow mask', () => {
  it('keeps exactly the consulted fields, plus recirc_id, and eth_type/frag/proto that L3/L4 bits depend on', () => {
    const key = extractKey(TCP, 7);
    const wc = new FlowWildcards().orField('in_port').orField('nw_dst', 0xffffff00n).orField('tp_dst').orField('reg0');
    expect(maskOf(wc, key)).toEqual({
      recirc_id: 0xffffffff,
      in_port: 0xffffffff,
      'ipv4.dst': '255.255.255.0',
      'tcp.dst': 0xffff,
      eth_type: 0xffff,
      'ipv4.proto': 0xff,
      'ipv4.frag': 0xff,
    });
    expect(maskToWc(wcToMask(wc, key), key).get('nw_dst')).toBe(0xffffff00n);
  });

  it('narrows 16-bit port wildcards to the one-byte ICMP type and code', () => {
    // A rule on tcp_dst makes the classifier consult tp_dst for every IP
    // frame; for ICMP that is the code, which the datapath keeps in a byte.
    const key = extractKey(ICMP, 1);
    const wc = new FlowWildcards().orField('tp_src').orField('tp_dst');
    expect(maskOf(wc, key)).toMatchObject({ 'icmp.type': 0xff, 'icmp.code': 0xff, 'ipv4.proto': 0xff });
  });

  it('keeps the ND fields an ND message consulted, and drops them from other ICMPv6 whose type rules ND out', () => {
    const nd = { eth_type: 0x86dd, 'ipv6.proto': 58, 'icmpv6.type': 135, 'nd.target': 'fd00::1' } as const;
    const wc = new FlowWildcards().orField('tp_src').orField('tp_dst').orField('nd_target').orField('arp_sha');
    expect(maskOf(wc, nd)).toMatchObject({ 'icmpv6.type': 0xff, 'nd.target': 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'nd.sll': 'ff:ff:ff:ff:ff:ff' });
    const echo = maskOf(wc, { ...nd, 'icmpv6.type': 128, 'nd.target': undefined });
    expect(echo).toMatchObject({ 'icmpv6.type': 0xff, 'icmpv6.code': 0xff });
    expect([echo['nd.target'], echo['nd.sll']]).toEqual([undefined, undefined]);
    // With the type wildcarded, only the bytes themselves keep an ND message out.
    expect(maskOf(new FlowWildcards().orField('nd_target'), { ...nd, 'icmpv6.type': 128 })['nd.target']).toBe('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff');
  });

  it('makes a megaflow that consulted nd_reserved or nd_options_type match eth_type and the IP protocol, so no frame sharing those bytes falls in it', () => {
    // The ND extension bytes are IPv4's source and destination addresses (and ARP's).
    const na = { eth_type: 0x86dd, 'ipv6.proto': 58, 'icmpv6.type': 136, 'nd_ext.nd_reserved': 0xe0000000, 'nd_ext.nd_options_type': 2 } as const;
    for (const field of ['nd_reserved', 'nd_options_type'] as const) {
      const mask = wcToMask(new FlowWildcards().orField(field), na);
      expect(decodeKey(mask, 0x86dd)).toMatchObject({ eth_type: 0xffff, 'ipv6.proto': 0xff, 'ipv6.frag': 0xff });
      const megaflow = masked(encodeKey(na), mask);
      const lookalikes: FlowKey[] = [
        { eth_type: 0x0806, 'arp.sip': '224.0.0.0', 'arp.tip': '2.0.0.0' },
        { eth_type: 0x0800, 'ipv4.proto': 58, 'ipv4.src': '224.0.0.0', 'ipv4.dst': '2.0.0.0' },
        { eth_type: 0x86dd, 'ipv6.proto': 6 },
      ];
      for (const k of lookalikes) expect(masked(encodeKey(k), mask).equals(megaflow), JSON.stringify(k)).toBe(false);
      // Another advertisement with the same flags and option is in it.
      expect(masked(encodeKey({ ...na, 'nd.target': 'fd00::9' }), mask).equals(megaflow)).toBe(true);
    }
  });

  it('an L2-only decision gives an L2-only mask', () => {
    const key = extractKey(TCP, 7);
    const wc = new FlowWildcards().orField('in_port').orField('dl_src').orField('dl_dst').orField('vlan_tci', 0x1fff);
    expect(maskOf(wc, key)).toEqual({ recirc_id: 0xffffffff, in_port: 0xffffffff, 'eth.src': 'ff:ff:ff:ff:ff:ff', 'eth.dst': 'ff:ff:ff:ff:ff:ff', 'vlan.tci': 0x1fff });
    expect(Flow.of({}).equalsUnder(keyToFlow(key, 1), new FlowWildcards())).toBe(true);
  });
});

describe('wildcards -> mask, for fields the frame does not have', () => {
  it('matches eth_type when OpenFlow consulted an L3 field of a non-IP frame', () => {
    const key = extractKey(hex('000000000002 000000000001 88b5 00000000'), 1);
    const wc = new FlowWildcards().orField('nw_dst');
    expect(maskOf(wc, key)).toEqual({ recirc_id: 0xffffffff, eth_type: 0xffff });
  });
});
