import { describe, expect, it } from 'vitest';
import { FlowWildcards } from '../../../src/ofproto/flow.js';
import { formatFlow } from '../../../src/ofproto/print.js';
import { parseFlowMod, parseMatch } from '../../../src/openflow/flow-syntax.js';

/** Flows already in the form dump-flows prints: format(parse(s)) must give them back. */
const CORPUS = [
  'priority=100,ip,in_port=1,nw_dst=10.0.0.0/24 actions=output:2',
  'actions=NORMAL',
  'priority=0 actions=NORMAL',
  'tcp,tp_src=123 actions=FLOOD',
  'in_port=LOCAL,dl_vlan=9,dl_src=00:0a:e4:25:6b:b0 actions=drop',
  'udp,dl_vlan_pcp=7 actions=strip_vlan,output:0',
  'tcp,nw_src=192.168.0.3,tp_dst=80 actions=output:1',
  'cookie=0x123456789abcdef, hard_timeout=10, priority=60000 actions=CONTROLLER:65535',
  'idle_timeout=5, send_flow_rem check_overlap importance=7, arp,arp_spa=10.0.0.1,arp_op=1 actions=ALL',
  'table=3, ip,nw_src=10.0.0.0/255.0.255.0 actions=LOCAL',
  'vlan_tci=0x1000/0x1000 actions=IN_PORT',
  'vlan_tci=0x0000 actions=mod_vlan_vid:10,mod_vlan_pcp:3',
  'dl_vlan=10,dl_vlan_pcp=3 actions=pop_vlan',
  'tcp,tp_dst=0x50/0xfff0,tcp_flags=+syn-ack actions=drop',
  'tcp,tcp_flags=syn|ack actions=drop',
  'reg0=0x5/0xff,reg7=0,tun_id=0x5,metadata=0x1/0xff actions=write_metadata:0x1/0xff,goto_table:1',
  'icmp,icmp_type=8,icmp_code=0 actions=push_vlan:0x8100,set_field:10->vlan_vid',
  'icmp6,icmp_type=135,nd_sll=00:11:22:33:44:55 actions=drop',
  'ipv6,ipv6_src=2001:db8::/32,ipv6_dst=fe80::1 actions=dec_ttl,output:3',
  'udp6,tp_dst=53 actions=mod_tp_dst:5353',
  'ip,nw_tos=40,nw_ecn=2,nw_ttl=64 actions=mod_nw_tos:16,mod_nw_dst:10.0.0.1,mod_nw_src:10.0.0.2',
  'dl_dst=01:00:00:00:00:00/01:00:00:00:00:00 actions=mod_dl_src:00:11:22:33:44:55,mod_dl_dst:66:77:88:99:aa:bb',
  'dl_type=0x88cc actions=CONTROLLER:128',
  'ip actions=set_field:10.0.0.1->ip_dst,set_field:00:00:00:00:00:01->eth_src,set_field:0x5->reg3',
  'actions=load:0x5->NXM_NX_REG0[0..15],load:0x1->NXM_NX_REG1[3],move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[]',
  'actions=resubmit(,2),resubmit:3,resubmit(1,4)',
  'actions=set_tunnel:0x5,set_tunnel64:0x123456789,group:1',
  'actions=output:1,clear_actions,write_actions(output:2,group:3),goto_table:5',
  'tcp6,tp_src=1000,tcp_flags=-fin+rst actions=mod_tp_src:22',
];

describe('flow syntax round trip', () => {
  it.each(CORPUS)('format(parse(%s)) gives it back', (s) => {
    const fm = parseFlowMod(s);
    expect(formatFlow(fm)).toBe(s);
  });
});

describe('flow syntax normalisation', () => {
  it.each([
    ['table=0,priority=100,in_port=1,dl_type=0x0800,nw_dst=10.0.0.0/24,actions=output:2', 'priority=100,ip,in_port=1,nw_dst=10.0.0.0/24 actions=output:2'],
    ['dl_type=0x0800,nw_proto=6,actions=2', 'tcp actions=output:2'],
    ['nw_dst=10.0.0.0/24,ip,actions=output:2', 'ip,nw_dst=10.0.0.0/24 actions=output:2'],
    ['ip_dscp=10,ip,actions=drop', 'ip,nw_tos=40 actions=drop'],
    ['arp,nw_src=10.0.0.1,actions=controller', 'arp,arp_spa=10.0.0.1 actions=CONTROLLER:65535'],
    ['tcp,tcp_dst=80 actions=controller(max_len=128)', 'tcp,tp_dst=80 actions=CONTROLLER:128'],
    ['in_port=1 actions=set_field:10.0.0.1->nw_dst', 'in_port=1 actions=set_field:10.0.0.1->ip_dst'],
    ['dl_vlan=0xffff,actions=drop', 'vlan_tci=0x0000 actions=drop'],
    ['cookie=0x0,priority=5,ip actions=output:1', 'priority=5,ip actions=output:1'],
    ['actions=apply_actions(output:1),goto_table:2', 'actions=output:1,goto_table:2'],
    ['udp,tp_src=0x35 actions=drop', 'udp,tp_src=53 actions=drop'],
    // Fed back from dump-flows: stats are ignored.
    [' cookie=0x0, duration=1.234s, table=0, n_packets=0, n_bytes=0, priority=100,ip actions=output:2', 'priority=100,ip actions=output:2'],
  ])('%s prints as %s', (input, out) => {
    expect(formatFlow(parseFlowMod(input))).toBe(out);
  });

  it('formats dump-flows lines with stats and OVS duration precision', () => {
    const fm = parseFlowMod('priority=100,ip,in_port=1,nw_dst=10.0.0.0/24,actions=output:2');
    expect(formatFlow(fm, { stats: { durationMs: 1234, nPackets: 5n, nBytes: 320n } })).toBe(
      ' cookie=0x0, duration=1.234s, table=0, n_packets=5, n_bytes=320, priority=100,ip,in_port=1,nw_dst=10.0.0.0/24 actions=output:2',
    );
    expect(formatFlow(fm, { stats: { durationMs: 2000, nPackets: 0n, nBytes: 0n } })).toContain('duration=2s,');
  });
});

describe('flow mod commands', () => {
  it('parses cookie masks, out_port and strictness for mod/del', () => {
    const d = parseFlowMod('cookie=0x10/0xf0,out_port=2,ip', 'delete');
    expect([d.cookie, d.cookieMask, d.outPort, d.tableId]).toEqual([0x10n, 0xf0n, 2, 255]);
    expect(parseFlowMod('cookie=0x1/-1', 'delete').cookieMask).toBe(0xffffffffffffffffn);
    expect(parseFlowMod('priority=5,ip', 'delete_strict').priority).toBe(5);
    expect(parseFlowMod('cookie=0x9,ip,actions=drop', 'modify').newCookie).toBe(9n);
  });
});

describe('parse errors name the token and the fix', () => {
  it.each([
    ['nw_src=10.0.0.1,actions=drop', /nw_src: prerequisites not met \(OFPBMC_BAD_PREREQ\).*"ip,nw_src=10\.0\.0\.1"/],
    ['tp_dst=80,actions=drop', /tp_dst: prerequisites not met.*"tcp,tp_dst=80"/],
    ['ipv6_src=::1,actions=drop', /ipv6_src: prerequisites not met.*dl_type=0x86dd/],
    ['ip,tcp_flags=+syn,actions=drop', /tcp_flags: prerequisites not met/],
    ['foo=1,actions=drop', /unknown keyword foo: expected a match field/],
    ['in_port=1', /must specify an action: append ",actions=/],
    ['ip,nw_dst=10.0.0.300,actions=drop', /^10\.0\.0\.300: invalid IPv4 address for nw_dst \(300 is more than 255/],
    ['dl_src=00:11:22,actions=drop', /^00:11:22: invalid Ethernet address for dl_src \(3 bytes where there should be 6/],
    ['ip,nw_proto=6/0xf,actions=drop', /6\/0xf: invalid mask for field nw_proto/],
    ['dl_vlan=5000,actions=drop', /VLAN id must be 0-4095/],
    ['tcp,tcp_flags=+syn+bogus,actions=drop', /"bogus" in "\+syn\+bogus" is not a TCP flag/],
    ['actions=output:2,drop', /"drop" must not be accompanied/],
    ['actions=frobnicate:1', /unknown action frobnicate/],
    ['actions=goto_table:1,output:2', /instruction apply_actions may not follow instruction goto_table/],
    ['actions=resubmit(,)', /at least one "in_port" or "table" must be specified on resubmit/],
    ['actions=load:0x10000->NXM_NX_REG0[0..15]', /value 0x10000 does not fit into 16 bits/],
    ['actions=move:NXM_OF_ETH_SRC[]->NXM_NX_REG0[]', /source field is 48 bits wide but destination is 32 bits/],
    ['actions=push_vlan:0x0800', /not a valid VLAN ethertype: use 0x8100 or 0x88a8/],
    ['actions=mod_nw_tos:3', /mod_nw_tos:3: 3: not a valid TOS/],
    ['actions=set_field:1.2.3.4', /missing "->": write set_field:VALUE->FIELD/],
    ['cookie=0x1/0x1,actions=drop', /flow additions cannot use a cookie mask/],
    ['priority=abc,actions=drop', /priority=abc: "abc" is not a number/],
    ['priority=70000,actions=drop', /priority=70000: "70000" does not fit in 16 bits/],
  ])('%s', (s, re) => {
    expect(() => parseFlowMod(s)).toThrow(re);
  });

  it('rejects setting a cookie in del-flows and says how to match one', () => {
    expect(() => parseFlowMod('cookie=0x5', 'delete')).toThrow(/cannot set cookie \(to match on a cookie, specify a mask, e\.g\. cookie=0x5\/-1\)/);
    expect(() => parseFlowMod('ip,actions=drop', 'delete')).toThrow(/del-flows takes no actions/);
  });
});

describe('parseMatch', () => {
  it('builds the same wildcards the classifier will consult', () => {
    const m = parseMatch('tcp,nw_dst=10.0.0.0/8,tp_dst=0x50/0xfff0');
    const wc = new FlowWildcards().orField('dl_type').orField('nw_proto').orField('nw_dst', 0xff000000).orField('tp_dst', 0xfff0);
    expect(m.wc.equals(wc)).toBe(true);
  });
});
