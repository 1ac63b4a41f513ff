import { describe, expect, it } from 'vitest';
import { ADDRESS_FIELDS, FIELDS, FlowWildcards } from '../../../src/ofproto/flow.js';
import { formatFlow } from '../../../src/ofproto/print.js';
import { fieldSize } from '../../../src/lib/uint.js';
import { FIELD_NAMES } from '../../../src/ofproto/names.js';
import {
  ACTION_ARGUMENTS, FLOW_MOD_NUMBERS, GROUP_NUMBERS, MATCH_FIELDS, SET_FIELD_PARTS, parseFlowMod, parseGroupMod, parseMatch,
} from '../../../src/openflow/flow-syntax.js';

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
    // OFPVID_PRESENT in the value, as OVS takes it (found by the flow-syntax fuzzer in an OVS-printed flow).
    ['dl_vlan=5 actions=set_field:4100->vlan_vid', 'dl_vlan=5 actions=set_field:4->vlan_vid'],
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
    // Names every JavaScript object has are words like any other, not keywords.
    ['toString=1,actions=drop', /unknown keyword toString: expected a match field/],
    ['constructor,actions=drop', /field constructor missing value/],
    ['actions=set_field:1->hasOwnProperty', /unknown field "hasOwnProperty"/],
    ['in_port=1', /must specify an action: append ",actions=/],
    ['ip,nw_dst=10.0.0.300,actions=drop', /^10\.0\.0\.300: invalid IPv4 address for nw_dst \(300 is more than 255/],
    ['dl_src=00:11:22,actions=drop', /^00:11:22: invalid Ethernet address for dl_src \(3 bytes where there should be 6/],
    ['ip,nw_proto=6/0xf,actions=drop', /6\/0xf: invalid mask for field nw_proto/],
    ['dl_vlan=5000,actions=drop', /^5000: value too large for 12-bit field dl_vlan \(0 to 4095\)$/],
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
    ['dl_vlan=5,actions=set_field:0x2000->vlan_vid', /^0x2000: value too large for 13-bit field vlan_vid \(0 to 0x1fff\)$/],
    ['cookie=0x1/0x1,actions=drop', /flow additions cannot use a cookie mask/],
    ['priority=abc,actions=drop', /^invalid priority "abc" \(0 to 65535\)$/],
    ['priority=70000,actions=drop', /^invalid priority "70000" \(0 to 65535\)$/],
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

/** The first number past a field's top, and its top: what must be refused and what accepted. */
function bounds(bits: number, max = (1n << BigInt(bits)) - 1n): { tooBig: string; top: string } {
  return { tooBig: String(max + 1n), top: String(max) };
}

describe('every match field refuses a value out of its range and names the field', () => {
  it('gives no field a width wider than the flow field that holds it', () => {
    for (const [name, syn] of Object.entries(MATCH_FIELDS)) expect(syn.bits, name).toBeLessThanOrEqual(FIELDS[syn.field].bits);
    for (const f of FIELD_NAMES) expect(f.bits, f.mf).toBeLessThanOrEqual(FIELDS[f.field].bits);
  });

  it.each(Object.entries(MATCH_FIELDS))('%s', (name, syn) => {
    const refuse = (value: string, message: string) => expect(() => parseMatch(`${name}=${value}`)).toThrow(message);
    switch (syn.kind) {
      case 'port':
        refuse('65536', `65536: invalid or unknown port for ${name}`);
        refuse('65280', `65280: invalid or unknown port for ${name}`);
        return;
      case 'mac':
        refuse('00:11:22:33:44:55:66', `00:11:22:33:44:55:66: invalid Ethernet address for ${name} (7 bytes where there should be 6`);
        refuse('00:11:22:33:44:55/ff:ff:ff:ff:ff:ff:ff', `ff:ff:ff:ff:ff:ff:ff: invalid Ethernet address for ${name} mask`);
        return;
      case 'ipv4':
        refuse('10.0.0.256', `10.0.0.256: invalid IPv4 address for ${name} (256 is more than 255`);
        refuse('10.0.0.0/33', `10.0.0.0/33: IPv4 network prefix bits not between 0 and 32, inclusive (in ${name})`);
        refuse('10.0.0.0/255.255.256.0', `255.255.256.0: invalid IPv4 address for ${name} mask`);
        return;
      case 'ipv6':
        refuse('2001:db8::1::2', `2001:db8::1::2: invalid IPv6 address for ${name}`);
        refuse('2001:db8::/129', `2001:db8::/129: IPv6 network prefix bits not between 0 and 128, inclusive (in ${name})`);
        return;
      default: {
        const { tooBig, top } = bounds(syn.bits);
        refuse(tooBig, `${tooBig}: value too large for ${fieldSize(syn.bits)} field ${name} (0 to ${top})`);
        refuse('0x1g', `0x1g: bad syntax for ${name} value`);
        expect(() => parseMatch(`${name}=${top}`)).not.toThrow(/too large/);
        if (syn.masked) refuse(`0/${tooBig}`, `0/${tooBig}: mask too large for ${fieldSize(syn.bits)} field ${name} (0 to ${top})`);
        else refuse('0/1', `0/1: invalid mask for field ${name}: ${name} takes no mask`);
      }
    }
  });
});

describe('every numeric option and action argument refuses a value out of its range in OVS\'s words', () => {
  it.each(Object.entries(FLOW_MOD_NUMBERS))('flow option %s', (name, syn) => {
    const { tooBig, top } = bounds(syn.bits, syn.max);
    const flow = (v: string) => (name === 'out_group' ? parseFlowMod(`${name}=${v}`, 'delete') : parseFlowMod(`${name}=${v},actions=drop`));
    expect(() => flow(tooBig)).toThrow(`invalid ${syn.label} "${tooBig}" (0 to ${top})`);
    expect(() => flow(top)).not.toThrow(/invalid/);
  });

  it.each(Object.entries(ACTION_ARGUMENTS))('action %s', (name, syn) => {
    const { tooBig, top } = bounds(syn.bits, syn.max);
    expect(() => parseFlowMod(`actions=${name}:${tooBig}`)).toThrow(`${name}:${tooBig}: invalid ${syn.label} "${tooBig}" (0 to ${top})`);
    expect(() => parseFlowMod(`actions=${name}:${top}`)).not.toThrow(/invalid/);
  });

  const GROUP_TEXT: Record<string, (v: string) => string> = {
    group_id: (v) => `group_id=${v},type=all`,
    weight: (v) => `group_id=1,type=select,bucket=weight:${v},output:1`,
    watch_group: (v) => `group_id=1,type=ff,bucket=watch_group:${v},output:1`,
  };

  it('knows where every group number is written', () => {
    expect(Object.keys(GROUP_TEXT).sort()).toEqual(Object.keys(GROUP_NUMBERS).sort());
  });

  it.each(Object.entries(GROUP_NUMBERS))('group %s', (name, syn) => {
    const { tooBig, top } = bounds(syn.bits, syn.max);
    expect(() => parseGroupMod(GROUP_TEXT[name]!(tooBig))).toThrow(`invalid ${syn.label} "${tooBig}" (0 to ${top})`);
    expect(() => parseGroupMod(GROUP_TEXT[name]!(top))).not.toThrow(/invalid/);
  });

  it.each([
    ['in_port', 'in_port=65536,actions=drop'],
    ['output', 'actions=output:65536'],
    ['output', 'actions=65536'],
    ['resubmit', 'actions=resubmit(65536,1)'],
    ['out_port', 'out_port=65536'],
    ['watch_port', 'group_id=1,type=ff,bucket=watch_port:65536,output:1'],
    ['in_port', 'actions=set_field:65536->in_port'],
  ])('refuses port 65536 for %s: %s', (field, text) => {
    const parse = () => (text.startsWith('group_id') ? parseGroupMod(text) : parseFlowMod(text, text.startsWith('out_port') ? 'delete' : 'add'));
    expect(parse).toThrow(`65536: invalid or unknown port for ${field} (a port number up to 65279, or IN_PORT, TABLE, NORMAL, FLOOD, ALL, CONTROLLER or LOCAL)`);
  });
});

describe('set_field refuses a value wider than its field', () => {
  /** A malformed address of each kind, and the kind's name in the refusal. */
  const BAD_ADDRESS = { mac: ['00:11:22:33:44:55:66', 'Ethernet'], ipv4: ['10.0.0.256', 'IPv4'], ipv6: ['1::2::3', 'IPv6'] } as const;

  it.each(FIELD_NAMES.map((f) => [f.mf, f] as const))('%s', (mf, f) => {
    const refuse = (value: string, message: string) => expect(() => parseFlowMod(`actions=set_field:${value}->${mf}`)).toThrow(message);
    const kind = ADDRESS_FIELDS[f.field];
    const addr = kind && BAD_ADDRESS[kind];
    if (f.field === 'in_port') refuse('65536', '65536: invalid or unknown port for in_port');
    else if (addr) refuse(addr[0], `${addr[0]}: invalid ${addr[1]} address for ${mf}`);
    else {
      const { tooBig, top } = bounds(f.bits);
      refuse(tooBig, `${tooBig}: value too large for ${fieldSize(f.bits)} field ${mf} (0 to ${top})`);
      refuse(`0/${tooBig}`, `0/${tooBig}: mask too large for ${fieldSize(f.bits)} field ${mf} (0 to ${top})`);
    }
  });

  it.each(Object.entries(SET_FIELD_PARTS))('%s', (name, part) => {
    // vlan_vid's value may carry OFPVID_PRESENT, one bit above the VLAN id.
    const bits = part.present ? part.bits + 1 : part.bits;
    const { tooBig, top } = bounds(bits);
    expect(() => parseFlowMod(`actions=set_field:${tooBig}->${name}`)).toThrow(`${tooBig}: value too large for ${fieldSize(bits)} field ${name} (0 to ${top})`);
    expect(() => parseFlowMod(`actions=set_field:${top}->${name}`)).not.toThrow();
  });

  it('refuses a load wider than its destination, as OVS words it', () => {
    expect(() => parseFlowMod('actions=load:0x10000->NXM_NX_REG0[0..15]')).toThrow('value 0x10000 does not fit into 16 bits');
    expect(() => parseFlowMod('actions=load:0x1->NXM_NX_REG0[0..32]')).toThrow('bits 0..32 are outside NXM_NX_REG0 (0..31)');
  });
});
