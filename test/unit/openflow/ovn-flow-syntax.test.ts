// The flow syntax of what ovn-controller installs: wide registers, bit ranges, the stack,
// output to a register, controller(...) with userdata and pause, ARP and IPv6 ND rewrites, and the conntrack
// words TVS refuses until it has a connection tracker. Printing is checked against Debian's
// ovs-ofctl (OpenFlow 1.3, the version ovn-controller speaks) where it is installed.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatFlow } from '../../../src/ofproto/print.js';
import { parseFlowMod } from '../../../src/openflow/flow-syntax.js';

/** Flows in the form ovs-ofctl -O OpenFlow13 prints them: format(parse(s)) must give each back. */
const OVN_CORPUS = [
  'priority=100,in_port=1 actions=load:0x1->OXM_OF_METADATA[],load:0x1->NXM_NX_REG14[],resubmit(,8)',
  'priority=50,metadata=0x1,dl_dst=00:00:00:00:00:01 actions=load:0x1->NXM_NX_REG15[],resubmit(,32)',
  'reg15=0x1,metadata=0x1 actions=load:0x1->NXM_NX_REG13[0..15],resubmit(,65)',
  'priority=10 actions=output:NXM_NX_REG13[0..15],output:NXM_NX_REG15[]',
  'reg2=0,reg3=0x1234,reg11=0x5/0xff,reg12=0x5 actions=move:NXM_NX_XXREG0[]->NXM_NX_XXREG1[],load:0x1->OXM_OF_PKT_REG3[0..3],set_field:0x10->xxreg3,set_field:0x10->xreg4',
  'actions=push:NXM_NX_XXREG1[],pop:NXM_NX_REG3[0..7],move:OXM_OF_PKT_REG1[]->NXM_NX_XXREG0[0..63],move:NXM_NX_XXREG0[32..63]->NXM_NX_REG10[]',
  'actions=set_field:0x5->metadata,load:0x5->OXM_OF_METADATA[0..7],load:0->NXM_OF_IN_PORT[],resubmit(1,3),resubmit:2',
  'arp,arp_tpa=10.0.0.254,arp_op=1 actions=move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],set_field:02:00:00:00:00:fe->eth_src,load:0x2->NXM_OF_ARP_OP[],move:NXM_NX_ARP_SHA[]->NXM_NX_ARP_THA[],load:0x200000000fe->NXM_NX_ARP_SHA[],move:NXM_OF_ARP_SPA[]->NXM_OF_ARP_TPA[],load:0xa0000fe->NXM_OF_ARP_SPA[],IN_PORT',
  'arp actions=set_field:00:00:00:00:00:01->arp_sha,set_field:10.0.0.1->arp_spa,set_field:10.0.0.2->arp_tpa,set_field:2->arp_op,set_field:00:00:00:00:00:02->arp_tha',
  'actions=controller(reason=no_match,max_len=100,id=3,userdata=00.01.02,pause),controller(userdata=00.00.00.1b.00.00.00.00),controller(pause),CONTROLLER:100',
  'actions=controller(max_len=10,id=2,userdata=00.01,pause,meter_id=5),controller(meter_id=1)',
  // The IPv6 ND responder and port security: the target, and each message's link-layer address.
  'icmp6,icmp_type=135,nd_target=fd00::1 actions=move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],set_field:00:00:00:00:00:01->eth_src,set_field:00:00:00:00:00:01->nd_sll,IN_PORT',
  'icmp6,icmp_type=136,icmp_code=0,nd_target=fd00::/16,nd_tll=00:11:22:33:44:55 actions=set_field:fd00::2->nd_target,move:NXM_OF_ETH_SRC[]->NXM_NX_ND_TLL[],load:0x1->NXM_NX_ND_TLL[0..7]',
  'icmp6,icmp_type=136,nd_tll=00:11:22:00:00:00/ff:ff:ff:00:00:00 actions=set_field:00:00:00:00:00:01->nd_tll,move:NXM_NX_ND_TARGET[]->NXM_NX_XXREG0[]',
  'icmp6,icmp_type=135,nd_sll=00:11:22:33:44:55 actions=drop',
  'icmp6,icmp_type=135,nd_target=fd00::1 actions=set_field:136->icmpv6_type,set_field:fd00::1->ipv6_src,IN_PORT',
];

/** What ovs-ofctl prints after ADD for `flow`, or undefined without ovs-ofctl. */
function ovsPrints(flow: string): string {
  const out = execFileSync('ovs-ofctl', ['-O', 'OpenFlow13', 'parse-flow', flow], { encoding: 'utf8' });
  const last = out.trim().split('\n').at(-1)!;
  return last.slice(last.indexOf(' ADD ') + ' ADD '.length);
}
const haveOvsOfctl = existsSync('/usr/bin/ovs-ofctl');

describe('OVN flow syntax', () => {
  it.each(OVN_CORPUS)('format(parse(%s)) gives it back', (s) => {
    expect(formatFlow(parseFlowMod(s))).toBe(s);
  });

  it.skipIf(!haveOvsOfctl).each(OVN_CORPUS)('prints %s as ovs-ofctl -O OpenFlow13 does', (s) => {
    expect(ovsPrints(s)).toBe(s);
  });

  it('reads the short names OVN flows are often written with as the NXM fields ovs-ofctl prints', () => {
    const fm = parseFlowMod('xreg1=0x1234,xxreg2=0x5/0xff,reg15=7 actions=move:xxreg0[0..127]->xxreg1[],load:1->xreg3[0..3],output:reg14,push:xxreg1,pop:reg3[0..7],mod_dl_src:02:00:00:00:00:fe');
    expect(formatFlow(fm)).toBe(
      'reg2=0,reg3=0x1234,reg11=0x5/0xff,reg15=0x7 actions=move:NXM_NX_XXREG0[]->NXM_NX_XXREG1[],load:0x1->OXM_OF_PKT_REG3[0..3],output:NXM_NX_REG14[],push:NXM_NX_XXREG1[],pop:NXM_NX_REG3[0..7],mod_dl_src:02:00:00:00:00:fe',
    );
  });

  it('models controller(...) with its userdata, reason, id and pause, and a bare max_len as an output', () => {
    const fm = parseFlowMod('actions=controller(userdata=00.01.02,pause,reason=invalid_ttl,id=3),controller(max_len=128)');
    expect(fm.instructions.apply).toEqual([
      { type: 'controller', maxLen: 0xffff, reason: 'invalid_ttl', controllerId: 3, userdata: Buffer.from([0, 1, 2]), pause: true },
      { type: 'output', port: 0xfffd, maxLen: 128 },
    ]);
  });

  it('records which name of a shared field an action used, so arp_spa prints as arp_spa and not ip_src', () => {
    const fm = parseFlowMod('arp actions=set_field:10.0.0.1->arp_spa,move:NXM_OF_ARP_SPA[]->NXM_OF_ARP_TPA[]');
    expect(fm.instructions.apply).toEqual([
      { type: 'set_field', field: 'nw_src', value: 0x0a000001n, mask: 0xffffffffn, name: 'arp_spa' },
      { type: 'move', src: { field: 'nw_src', ofs: 0, nBits: 32, name: 'arp_spa' }, dst: { field: 'nw_dst', ofs: 0, nBits: 32, name: 'arp_tpa' } },
    ]);
  });
});

describe('OVN flow syntax: refusals', () => {
  const conntrack = /connection tracking \(conntrack\) is not supported by TVS yet.*OVN's stateful ACLs, load balancers and NAT need it/;

  it.each([
    ['actions=ct(commit,zone=NXM_NX_REG13[0..15])', 'ct'],
    ['ip actions=ct_clear,output:1', 'ct_clear'],
    ['ct_state=+trk+est,actions=output:1', 'ct_state'],
    ['ct_zone=5,actions=output:1', 'ct_zone'],
    ['ct_mark=0x1/0x1,actions=output:1', 'ct_mark'],
    ['ct_label=0x1,actions=output:1', 'ct_label'],
    ['actions=set_field:1->ct_mark', 'ct_mark'],
    ['actions=resubmit(,3,ct)', 'resubmit\\(,3,ct\\)'],
  ])('refuses %s naming %s and saying conntrack is not supported yet', (flow, word) => {
    expect(() => parseFlowMod(flow)).toThrow(conntrack);
    expect(() => parseFlowMod(flow)).toThrow(new RegExp(`^${word}: `));
  });

  it.each([
    ['icmp6,nd_target=fe80::1,actions=drop', 'nd_target: prerequisites not met (OFPBMC_BAD_PREREQ): matching nd_target requires icmp6 with icmp_type=135 (neighbor solicitation) or icmp_type=136'],
    ['icmp6,icmp_type=128,nd_target=fe80::1,actions=drop', 'matching nd_target requires icmp6 with icmp_type=135'],
    ['icmp6,icmp_type=136,nd_sll=00:00:00:00:00:01,actions=drop', 'nd_sll: prerequisites not met (OFPBMC_BAD_PREREQ): matching nd_sll requires icmp6 with icmp_type=135 and icmp_code=0 (nd_sll is in neighbor solicitations)'],
    ['icmp6,icmp_type=135,nd_tll=00:00:00:00:00:01,actions=drop', 'matching nd_tll requires icmp6 with icmp_type=136 and icmp_code=0 (nd_tll is in neighbor advertisements)'],
  ])('refuses %s: the ND field is only in its own kind of message, as in OVS', (flow, message) => {
    expect(() => parseFlowMod(flow)).toThrow(message);
  });

  it('refuses a bit range outside a wide register and names the register and its bits', () => {
    expect(() => parseFlowMod('actions=load:1->NXM_NX_XXREG0[120..128]')).toThrow('"NXM_NX_XXREG0[120..128]": bits 120..128 are outside NXM_NX_XXREG0 (0..127)');
  });

  it('refuses output to a register range wider than a port number', () => {
    expect(() => parseFlowMod('actions=output:xreg0')).toThrow('output:xreg0: a port number is at most 32 bits');
  });

  it('refuses userdata that is not hex bytes, and an unknown controller reason, naming the action', () => {
    expect(() => parseFlowMod('actions=controller(userdata=0g)')).toThrow('controller(userdata=0g): userdata must be hex bytes separated by dots');
    expect(() => parseFlowMod('actions=controller(reason=bored)')).toThrow('controller(reason=bored): unknown reason "bored": use no_match, action, invalid_ttl, action_set, group, packet_out');
  });

  it('refuses pop without a field', () => {
    expect(() => parseFlowMod('actions=pop')).toThrow('pop: missing field: write pop:FIELD[bits], e.g. pop:NXM_NX_REG0[]');
  });
});
