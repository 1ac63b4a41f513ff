// xlate of the kinds of flows ovn-controller installs: many tables joined by resubmit, the
// registers (32-, 64- and 128-bit) and metadata as pipeline state, bit ranges, the push/pop
// stack, output to a register, ARP and IPv6 ND rewrites, and controller(pause) with its resume.
import { describe, expect, it } from 'vitest';
import { bytesToBigint, parseIpv4, parseIpv6, parseMac } from '../../../src/lib/addr.js';
import { OFPP } from '../../../src/ofproto/actions.js';
import { ETH_TYPE, Flow, IP_PROTO, ND_TYPE } from '../../../src/ofproto/flow.js';
import { parseFlowMod } from '../../../src/openflow/flow-syntax.js';
import { MAX_RESUBMIT_DEPTH, xlate, xlateResume } from '../../../src/ofproto/xlate.js';
import { DP, flowOf, makeBridge } from './bridge-builder.js';

const mac = (s: string) => bytesToBigint(parseMac(s));
const ip = (s: string) => BigInt(parseIpv4(s).readUInt32BE(0));
const ip6 = (s: string) => bytesToBigint(parseIpv6(s));

/**
 * A two-port logical switch in OVN's shape: table 0 classifies by in_port into the datapath
 * (metadata) and the logical inport (reg14), table 8 looks the destination MAC up and loads the
 * logical outport into reg15, table 32 maps the outport to a physical port held in reg13, and
 * table 65 outputs to it.
 */
function ovnSwitch() {
  const b = makeBridge([1, 2, 3], { defaultRule: false });
  b.add(
    'table=0,priority=100,in_port=1,actions=load:0x1->OXM_OF_METADATA[],load:0x1->NXM_NX_REG14[],resubmit(,8)',
    'table=0,priority=100,in_port=2,actions=set_field:0x1->metadata,set_field:0x2->reg14,resubmit(,8)',
    'table=8,priority=50,metadata=0x1,dl_dst=00:00:00:00:00:01,actions=load:0x1->NXM_NX_REG15[],resubmit(,32)',
    'table=8,priority=50,metadata=0x1,dl_dst=00:00:00:00:00:02,actions=load:0x2->NXM_NX_REG15[],resubmit(,32)',
    'table=32,priority=100,reg15=0x1,metadata=0x1,actions=load:0x1->NXM_NX_REG13[0..15],resubmit(,65)',
    'table=32,priority=100,reg15=0x2,metadata=0x1,actions=load:0x2->NXM_NX_REG13[0..15],resubmit(,65)',
    'table=65,priority=100,reg14=0x1,reg15=0x1,actions=drop',
    'table=65,priority=10,actions=output:NXM_NX_REG13[0..15]',
  );
  return b;
}

describe('xlate: an OVN-shaped multi-table pipeline', () => {
  it('carries a frame through four tables on metadata and registers to the port the last one names', () => {
    const b = ovnSwitch();
    const r = b.send({ in_port: 1, src: '00:00:00:00:00:01', dst: '00:00:00:00:00:02' }, { trace: true });
    expect(r.error).toBeUndefined();
    expect(r.actions).toEqual([{ type: 'output', port: DP(2) }]);
    expect(r.ruleHits.map((x) => x.tableId)).toEqual([0, 8, 32, 65]);
    expect(r.finalFlow.get('metadata')).toBe(1n);
    expect(r.finalFlow.num('reg14')).toBe(1);
    expect(r.finalFlow.num('reg15')).toBe(2);
    expect(r.finalFlow.num('reg13')).toBe(2);
    expect(b.send({ in_port: 2, dst: '00:00:00:00:00:01' }).actions).toEqual([{ type: 'output', port: DP(1) }]);
  });

  it('keeps registers and metadata out of the megaflow and the destination MAC in it', () => {
    const r = ovnSwitch().send({ in_port: 1, dst: '00:00:00:00:00:02' });
    expect(r.wc.fields()).toEqual(['in_port', 'dl_dst', 'dl_type']);
  });

  it('shows the register output and every table in ofproto/trace', () => {
    const r = ovnSwitch().send({ in_port: 1, dst: '00:00:00:00:00:02' }, { trace: true });
    const text = JSON.stringify(r.trace);
    expect(text).toContain('output:NXM_NX_REG13[0..15]');
    expect(text).toContain('NXM_NX_REG13[0..15] holds port 2');
    expect(text).toContain('65. priority 10');
  });

  it('skips output:REG to the input port, as output:PORT does', () => {
    const b = ovnSwitch();
    b.br.flowMod(parseFlowMod('table=65,priority=100,reg14=0x1,reg15=0x1', 'delete_strict'));
    const r = b.send({ in_port: 1, dst: '00:00:00:00:00:01' }, { trace: true });
    expect(r.ruleHits.map((x) => x.tableId)).toEqual([0, 8, 32, 65]);
    expect(r.actions).toEqual([]);
    expect(JSON.stringify(r.trace)).toContain('skipping output to input port');
  });
});

describe('xlate: wide registers and bit ranges', () => {
  it('moves between xxreg, xreg and reg views of the same words, as OVS lays them out', () => {
    const b = makeBridge([1, 2], { defaultRule: false });
    b.add(
      'table=0,actions=set_field:0x11111111222222223333333344444444->xxreg0,move:NXM_NX_XXREG0[32..63]->NXM_NX_REG4[],move:OXM_OF_PKT_REG0[]->NXM_NX_XXREG1[0..63],resubmit(,1)',
      'table=1,reg4=0x33333333,reg6=0x11111111,reg7=0x22222222,actions=output:2',
    );
    const r = b.send({ in_port: 1 });
    expect(r.actions).toEqual([{ type: 'output', port: DP(2) }]);
    expect(r.finalFlow.get('xreg3')).toBe(0x1111111122222222n);
    expect(r.finalFlow.num('reg3')).toBe(0x44444444);
  });

  it('writes only the masked bits of set_field and the range of load, keeping the rest of the register', () => {
    const b = makeBridge([1, 2], { defaultRule: false });
    b.add('table=0,actions=load:0xffffffff->NXM_NX_REG10[],set_field:0/0xff00->reg10,load:0x5->NXM_NX_REG10[28..31],set_field:0x1/0x1->xxreg3,resubmit(,1)', 'table=1,reg10=0x5fff00ff,reg15=0x1,actions=output:2');
    const r = b.send({ in_port: 1 });
    expect(r.finalFlow.num('reg10')).toBe(0x5fff00ff);
    expect(r.actions).toEqual([{ type: 'output', port: DP(2) }]);
  });

  it('swaps two registers through the push/pop stack, a part of one at a time', () => {
    const b = makeBridge([1, 2], { defaultRule: false });
    b.add('table=0,actions=load:0xaaaa->NXM_NX_REG1[],load:0xbbbb->NXM_NX_REG2[],push:NXM_NX_REG1[0..15],push:NXM_NX_REG2[0..15],pop:NXM_NX_REG1[0..15],pop:NXM_NX_REG2[0..15],resubmit(,1)', 'table=1,reg1=0xbbbb,reg2=0xaaaa,actions=output:2');
    expect(b.send({ in_port: 1 }).actions).toEqual([{ type: 'output', port: DP(2) }]);
  });

  it('keeps the stack across resubmits, as OVN pushes before a lookup and pops after it', () => {
    const b = makeBridge([1, 2], { defaultRule: false });
    b.add('table=0,actions=load:0x7->NXM_NX_REG0[],push:NXM_NX_REG0[],resubmit(,1),pop:NXM_NX_REG0[],resubmit(,2)', 'table=1,actions=load:0x9->NXM_NX_REG0[]', 'table=2,reg0=0x7,actions=output:2');
    expect(b.send({ in_port: 1 }).actions).toEqual([{ type: 'output', port: DP(2) }]);
  });

  it('drops a pop with nothing pushed and says "stack underflow", naming the pop', () => {
    const b = makeBridge([1, 2], { defaultRule: false });
    b.add('table=0,actions=output:2,pop:NXM_NX_REG0[]');
    const r = b.send({ in_port: 1 });
    expect(r.actions).toEqual([]);
    expect(r.error).toEqual({ code: 'stack_underflow', message: 'stack underflow: pop:NXM_NX_REG0[] found nothing pushed: every pop needs a push earlier in the pipeline' });
  });
});

describe('xlate: resubmit limits', () => {
  it(`stops a table that resubmits into itself after ${MAX_RESUBMIT_DEPTH} levels and says where to look`, () => {
    const b = makeBridge([1, 2], { defaultRule: false });
    b.add('table=0,actions=resubmit(,1)', 'table=1,actions=output:2,resubmit(,1)');
    const r = b.send({ in_port: 1 });
    expect(r.actions).toEqual([]);
    expect(r.error?.code).toBe('recursion_too_deep');
    expect(r.error?.message).toMatch(/^over max translation depth 64: resubmit to table 1 nests more than 64 resubmits deep, so the packet is dropped; .*ofproto\/trace$/);
  });

  it('stops a translation of more than 4096 resubmits even when none nests deep', () => {
    const b = makeBridge([1, 2], { defaultRule: false });
    // Each level resubmits to the next twice: 2^13 resubmits at depth 13.
    const tables = Array.from({ length: 13 }, (_, t) => `table=${t},actions=resubmit(,${t + 1}),resubmit(,${t + 1})`);
    b.add(...tables, 'table=13,actions=drop');
    const r = b.send({ in_port: 1 });
    expect(r.error?.code).toBe('too_many_resubmits');
    expect(r.error?.message).toContain('over 4096 resubmit actions: ');
  });

  it('runs 60 tables deep, as a long OVN pipeline does, without an error', () => {
    const b = makeBridge([1, 2], { defaultRule: false });
    b.add(...Array.from({ length: 60 }, (_, t) => `table=${t},actions=load:${t}->NXM_NX_REG0[],resubmit(,${t + 1})`), 'table=60,reg0=59,actions=output:2');
    const r = b.send({ in_port: 1 });
    expect(r.error).toBeUndefined();
    expect(r.actions).toEqual([{ type: 'output', port: DP(2) }]);
  });
});

/** An ARP request from h1 (00:..:01, 10.0.0.1) for 10.0.0.254 on port 1. */
function arpRequest(): Flow {
  const f = flowOf({ in_port: 1, src: '00:00:00:00:00:01', dst: 'ff:ff:ff:ff:ff:ff', type: ETH_TYPE.ARP });
  f.setNum('nw_proto', 1);
  f.set('nw_src', ip('10.0.0.1'));
  f.set('nw_dst', ip('10.0.0.254'));
  f.set('arp_sha', mac('00:00:00:00:00:01'));
  return f;
}

const ARP_RESPONDER =
  'table=0,priority=100,arp,arp_tpa=10.0.0.254,arp_op=1,actions=move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],mod_dl_src:02:00:00:00:00:fe,load:0x2->NXM_OF_ARP_OP[],' +
  'move:NXM_NX_ARP_SHA[]->NXM_NX_ARP_THA[],load:0x0200000000fe->NXM_NX_ARP_SHA[],move:NXM_OF_ARP_SPA[]->NXM_OF_ARP_TPA[],load:0xa0000fe->NXM_OF_ARP_SPA[],IN_PORT';

describe('xlate: ARP field rewrites reach the packet', () => {
  it("turns OVN's ARP responder into set actions on the ARP header and the Ethernet addresses, then the input port", () => {
    const b = makeBridge([1, 2], { defaultRule: false });
    b.add(ARP_RESPONDER);
    const res = xlate(b.br, arpRequest());
    expect(res.actions).toEqual([
      { type: 'set', proto: 'eth', masked: false, fields: [{ field: 'src', value: '02:00:00:00:00:fe' }, { field: 'dst', value: '00:00:00:00:00:01' }] },
      {
        type: 'set',
        proto: 'arp',
        masked: false,
        fields: [
          { field: 'sip', value: '10.0.0.254' },
          { field: 'tip', value: '10.0.0.1' },
          { field: 'op', value: 2 },
          { field: 'sha', value: '02:00:00:00:00:fe' },
          { field: 'tha', value: '00:00:00:00:00:01' },
        ],
      },
      { type: 'output', port: DP(1) },
    ]);
  });

  it('skips an ARP rewrite on a frame that is not ARP, saying why', () => {
    const b = makeBridge([1, 2], { defaultRule: false });
    b.add('table=0,actions=set_field:10.0.0.9->arp_spa,set_field:00:00:00:00:00:09->arp_sha,output:2');
    const r = b.send({ in_port: 1, nw_dst: '10.0.0.2', nw_src: '10.0.0.1' }, { trace: true });
    // On IPv4, arp_spa is nw_src: rewritten; arp_sha has no IPv4 meaning and is skipped.
    expect(r.actions[0]).toMatchObject({ type: 'set', proto: 'ipv4', fields: [{ field: 'src', value: '10.0.0.9' }] });
    expect(JSON.stringify(r.trace)).toContain('skipped: arp_sha needs an ARP frame');
  });
});

/** A neighbor solicitation from h1 (00:..:01, fd00::10) for fd00::1 on port 1, with its source link-layer address. */
function neighborSolicitation(): Flow {
  const f = flowOf({ in_port: 1, src: '00:00:00:00:00:01', dst: '33:33:ff:00:00:01', type: ETH_TYPE.IPV6 });
  f.set('ipv6_src', ip6('fd00::10'));
  f.set('ipv6_dst', ip6('ff02::1:ff00:1'));
  f.setNum('nw_proto', IP_PROTO.ICMPV6);
  f.setNum('nw_ttl', 255);
  f.setNum('tp_src', ND_TYPE.SOLICIT);
  f.set('nd_target', ip6('fd00::1'));
  f.set('arp_sha', mac('00:00:00:00:00:01'));
  return f;
}

describe('xlate: IPv6 neighbor discovery rewrites reach the packet', () => {
  it('matches the solicited target and commits nd_target and nd_sll writes as one set(nd(...)) after the Ethernet one', () => {
    const b = makeBridge([1, 2], { defaultRule: false });
    b.add('table=0,icmp6,icmp_type=135,nd_target=fd00::1,actions=move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],set_field:02:00:00:00:00:fe->eth_src,set_field:fd00::2->nd_target,set_field:02:00:00:00:00:fe->nd_sll,IN_PORT');
    const res = xlate(b.br, neighborSolicitation());
    expect(res.actions).toEqual([
      { type: 'set', proto: 'eth', masked: false, fields: [{ field: 'src', value: '02:00:00:00:00:fe' }, { field: 'dst', value: '00:00:00:00:00:01' }] },
      { type: 'set', proto: 'nd', masked: false, fields: [{ field: 'target', value: 'fd00::2' }, { field: 'sll', value: '02:00:00:00:00:fe' }] },
      { type: 'output', port: DP(1) },
    ]);
    // The megaflow holds what the match and the writes consulted: the message type and the target.
    expect(res.wc.fields()).toEqual(expect.arrayContaining(['dl_type', 'nw_proto', 'tp_src', 'tp_dst', 'nd_target', 'arp_sha']));
  });

  it('commits an ICMPv6 type change after the ND rewrite, as OVS orders them, and an ICMP one on IPv4', () => {
    const b = makeBridge([1, 2], { defaultRule: false });
    b.add('table=0,icmp6,icmp_type=135,actions=set_field:136->icmpv6_type,set_field:fd00::1->ipv6_src,set_field:00:00:00:00:00:01->nd_tll,IN_PORT');
    expect(xlate(b.br, neighborSolicitation()).actions).toEqual([
      { type: 'set', proto: 'ipv6', masked: false, fields: [{ field: 'src', value: 'fd00::1' }] },
      { type: 'set', proto: 'nd', masked: false, fields: [{ field: 'tll', value: '00:00:00:00:00:01' }] },
      { type: 'set', proto: 'icmpv6', masked: false, fields: [{ field: 'type', value: 136 }] },
      { type: 'output', port: DP(1) },
    ]);
    b.add('table=0,priority=200,icmp,icmp_type=8,actions=set_field:0->icmp_type,IN_PORT');
    const echo = flowOf({ in_port: 1, nw_src: '10.0.0.1', nw_dst: '10.0.0.2' });
    echo.setNum('nw_proto', IP_PROTO.ICMP);
    echo.setNum('tp_src', 8);
    expect(xlate(b.br, echo).actions).toEqual([{ type: 'set', proto: 'icmp', masked: false, fields: [{ field: 'type', value: 0 }] }, { type: 'output', port: DP(1) }]);
  });

  it("answers a solicitation as OVN's flow-only ND responder: nd_ext before nd, so the retyped option takes the tll, and the type last", () => {
    const b = makeBridge([1, 2], { defaultRule: false });
    b.add(
      'table=0,icmp6,icmp_type=135,nd_target=fd00::1,actions=move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],set_field:02:00:00:00:00:fe->eth_src,' +
        'move:NXM_NX_IPV6_SRC[]->NXM_NX_IPV6_DST[],set_field:fd00::1->ipv6_src,set_field:136->icmpv6_type,set_field:0xe0000000->nd_reserved,set_field:2->nd_options_type,resubmit(,1)',
      'table=1,icmp6,icmp_type=136,nd_options_type=2,actions=set_field:02:00:00:00:00:fe->nd_tll,IN_PORT',
    );
    const res = xlate(b.br, neighborSolicitation());
    expect(res.actions).toEqual([
      { type: 'set', proto: 'eth', masked: false, fields: [{ field: 'src', value: '02:00:00:00:00:fe' }, { field: 'dst', value: '00:00:00:00:00:01' }] },
      { type: 'set', proto: 'ipv6', masked: false, fields: [{ field: 'src', value: 'fd00::1' }, { field: 'dst', value: 'fd00::10' }] },
      { type: 'set', proto: 'nd_ext', masked: false, fields: [{ field: 'nd_reserved', value: 0xe0000000 }, { field: 'nd_options_type', value: 2 }] },
      { type: 'set', proto: 'nd', masked: false, fields: [{ field: 'tll', value: '02:00:00:00:00:fe' }] },
      { type: 'set', proto: 'icmpv6', masked: false, fields: [{ field: 'type', value: 136 }] },
      { type: 'output', port: DP(1) },
    ]);
    expect(res.wc.fields()).toEqual(expect.arrayContaining(['dl_type', 'nw_proto', 'tp_src', 'tp_dst', 'nd_target', 'nd_reserved', 'nd_options_type']));
  });

  it('matches a solicitation by its options type, which the datapath extracted from its source address option', () => {
    const b = makeBridge([1, 2], { defaultRule: false });
    b.add('table=0,icmp6,icmp_type=135,nd_reserved=0,nd_options_type=1,actions=output:2', 'table=0,priority=0,actions=drop');
    const ns = neighborSolicitation();
    ns.setNum('nd_options_type', 1);
    expect(xlate(b.br, ns).actions).toEqual([{ type: 'output', port: DP(2) }]);
    ns.setNum('nd_reserved', 0x20000000);
    expect(xlate(b.br, ns).actions).toEqual([]);
  });

  it('skips an nd_ext write on ICMPv6 that is no neighbor discovery, saying why', () => {
    const b = makeBridge([1, 2], { defaultRule: false });
    b.add('table=0,actions=set_field:0xe0000000->nd_reserved,set_field:2->nd_options_type,output:2');
    const echo = neighborSolicitation();
    echo.setNum('tp_src', 128);
    const r = xlate(b.br, echo, { trace: true });
    expect(r.actions).toEqual([{ type: 'output', port: DP(2) }]);
    expect(JSON.stringify(r.trace)).toContain('skipped: nd_reserved needs an ICMPv6 neighbor solicitation or advertisement');
    expect(JSON.stringify(r.trace)).toContain('skipped: nd_options_type needs an ICMPv6 neighbor solicitation or advertisement');
  });

  it('skips nd_tll on a solicitation, and every ND field on other ICMPv6, saying why', () => {
    const b = makeBridge([1, 2], { defaultRule: false });
    b.add('table=0,actions=set_field:00:00:00:00:00:09->nd_tll,set_field:fd00::9->nd_target,output:2');
    const ns = xlate(b.br, neighborSolicitation(), { trace: true });
    expect(ns.actions).toEqual([{ type: 'set', proto: 'nd', masked: false, fields: [{ field: 'target', value: 'fd00::9' }] }, { type: 'output', port: DP(2) }]);
    expect(JSON.stringify(ns.trace)).toContain('skipped: nd_tll needs an ICMPv6 neighbor advertisement (icmp_type=136)');
    const echo = neighborSolicitation();
    echo.setNum('tp_src', 128);
    const r = xlate(b.br, echo, { trace: true });
    expect(r.actions).toEqual([{ type: 'output', port: DP(2) }]);
    expect(JSON.stringify(r.trace)).toContain('skipped: nd_target needs an ICMPv6 neighbor solicitation or advertisement');
  });
});

describe('xlate: controller(userdata, pause) and resume', () => {
  const PIPELINE = [
    'table=0,in_port=1,actions=load:0x3->NXM_NX_REG14[],set_field:0x5->metadata,resubmit(,10),output:3',
    'table=10,actions=load:0x7->NXM_NX_XXREG0[96..127],push:NXM_NX_REG14[],mod_dl_dst:00:00:00:00:00:99,controller(userdata=00.00.00.01,pause),pop:NXM_NX_REG1[],resubmit(,20),write_actions(output:2)',
    'table=20,reg1=0x3,reg0=0x7,metadata=0x5,actions=load:0x1->NXM_NX_REG2[]',
  ];

  it('sends a packet-in with the userdata after committing the changes so far, and stops the pipeline there', () => {
    const b = makeBridge([1, 2, 3], { defaultRule: false, config: { upcallPid: 7 } });
    b.add(...PIPELINE);
    const r = b.send({ in_port: 1 });
    expect(r.actions.map((a) => a.type)).toEqual(['set', 'userspace']);
    expect(r.actions[0]).toMatchObject({ proto: 'eth', fields: [{ field: 'dst', value: '00:00:00:00:00:99' }] });
    const [pin] = r.sideEffects.packetIns;
    expect(pin).toMatchObject({ reason: 'action', tableId: 10, userdata: Buffer.from([0, 0, 0, 1]) });
    expect(r.slowPath).toBeDefined();
    // The pipeline fields travel in the packet-in's metadata, which NXT_RESUME brings back.
    expect(pin!.metadata).toMatchObject({ metadata: 5n, reg0: 7n, reg14: 3n });
    const c = pin!.continuation!;
    expect(c.stack).toEqual([3n]);
    // The pausing rule's rest, then its caller's rest after the resubmit; the pausing rule's
    // write_actions is already in the action set.
    expect(c.frames.map((f) => [f.tableId, f.actions.map((a) => a.type)])).toEqual([
      [10, ['pop', 'resubmit']],
      [0, ['output']],
    ]);
    expect(c.actionSet).toEqual([{ type: 'output', port: 2, maxLen: 0 }]);
  });

  it("freezes a rule's write_metadata and goto_table as actions that do the same on resume", () => {
    const b = makeBridge([1, 2, 3], { defaultRule: false });
    b.add('table=0,actions=controller(pause),write_metadata:0x10/0xf0,goto_table:4', 'table=4,metadata=0x10/0xf0,actions=output:2');
    const c = b.send({ in_port: 1 }).sideEffects.packetIns[0]!.continuation!;
    expect(c.frames).toEqual([
      {
        tableId: 0,
        cookie: 0n,
        actions: [
          { type: 'set_field', field: 'metadata', value: 0x10n, mask: 0xf0n },
          { type: 'resubmit', inPort: OFPP.IN_PORT, table: 4 },
        ],
      },
    ]);
    const r = xlateResume(b.br, flowOf({ in_port: 1 }), flowOf({ in_port: 1 }), c);
    expect(r.actions).toEqual([{ type: 'output', port: DP(2) }]);
  });

  it('resumes with the registers and metadata the controller sends back, the stack and the action set, on the packet as it left', () => {
    const b = makeBridge([1, 2, 3], { defaultRule: false, config: { upcallPid: 7 } });
    b.add(...PIPELINE);
    const paused = b.send({ in_port: 1 });
    const pin = paused.sideEffects.packetIns[0]!;
    // What the controller sends back: the packet with the new destination, and the packet-in's metadata.
    const packet = flowOf({ in_port: 1, dst: '00:00:00:00:00:99' });
    const pipeline = Flow.of({ in_port: 1, ...pin.metadata });
    const r = xlateResume(b.br, packet, pipeline, pin.continuation!, { trace: true });
    expect(r.error).toBeUndefined();
    // output:3 from table 0's rest, then the action set's output:2 when the pipeline ends.
    expect(r.actions).toEqual([
      { type: 'output', port: DP(3) },
      { type: 'output', port: DP(2) },
    ]);
    expect(r.finalFlow.num('reg2')).toBe(1);
    expect(r.finalFlow.num('reg1')).toBe(3);
    expect(r.slowPath).toBeDefined();
    // Without the registers (a controller that dropped the metadata), table 20 no longer matches.
    expect(xlateResume(b.br, packet, flowOf({ in_port: 1 }), pin.continuation!).finalFlow.num('reg2')).toBe(0);
  });

  it('pauses again in a resumed pipeline and keeps what the first resume had left', () => {
    const b = makeBridge([1, 2, 3], { defaultRule: false });
    b.add('table=0,actions=resubmit(,1),output:3', 'table=1,actions=controller(pause),resubmit(,2),output:2', 'table=2,actions=controller(pause,userdata=02)');
    const first = b.send({ in_port: 1 }).sideEffects.packetIns[0]!.continuation!;
    const second = xlateResume(b.br, flowOf({ in_port: 1 }), flowOf({ in_port: 1 }), first);
    expect(second.actions.map((a) => a.type)).toEqual(['userspace']);
    const c2 = second.sideEffects.packetIns[0]!.continuation!;
    const done = xlateResume(b.br, flowOf({ in_port: 1 }), flowOf({ in_port: 1 }), c2);
    expect(done.actions).toEqual([
      { type: 'output', port: DP(2) },
      { type: 'output', port: DP(3) },
    ]);
  });

  it('sends controller(pause) in a group bucket without pausing, and says so', () => {
    const b = makeBridge([1, 2], { defaultRule: false });
    b.addGroup('group_id=1,type=all,bucket=actions=controller(pause)');
    b.add('table=0,actions=group:1,output:2');
    const r = b.send({ in_port: 1 }, { trace: true });
    expect(r.sideEffects.packetIns[0]?.continuation).toBeUndefined();
    expect(r.actions.map((a) => a.type)).toEqual(['userspace', 'output']);
    expect(JSON.stringify(r.trace)).toContain('pause inside a group bucket or the action set cannot stop the pipeline');
  });

  it('hands the switch the controller id and meter of a packet-in, and keeps such a flow out of the datapath cache', () => {
    const b = makeBridge([1, 2], { defaultRule: false });
    b.add('table=0,actions=controller(id=2,meter_id=3),output:2');
    const r = b.send({ in_port: 1 });
    expect(r.sideEffects.packetIns).toEqual([{ reason: 'action', tableId: 0, cookie: 0n, maxLen: 0xffff, bridge: 'br0', inPort: 1, metadata: {}, controllerId: 2, meterId: 3 }]);
    expect(r.actions.map((a) => a.type)).toEqual(['userspace', 'output']);
    expect(r.slowPath).toBe('controller action with userdata, id, pause or meter_id');
  });

  it('caches a plain CONTROLLER action as before: no slow path', () => {
    const b = makeBridge([1, 2], { defaultRule: false });
    b.add('table=0,actions=controller(max_len=128)');
    const r = b.send({ in_port: 1 });
    expect(r.sideEffects.packetIns).toEqual([{ reason: 'action', tableId: 0, cookie: 0n, maxLen: 128, bridge: 'br0', inPort: 1, metadata: {} }]);
    expect(r.slowPath).toBeUndefined();
  });
});
