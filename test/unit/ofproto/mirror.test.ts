import { describe, expect, it } from 'vitest';
import { encodeActions } from '../../../src/datapath/actions.js';
import { extractKey } from '../../../src/datapath/dpif.js';
import { MAX_MIRRORS, type MirrorSpec } from '../../../src/ofproto/mirror.js';
import { cacheOf, creditStats, revalidate } from '../../../src/ofproto/revalidate.js';
import { wcToMask } from '../../../src/ofproto/odp-convert.js';
import { xlateMiss } from '../../../src/ofproto/xlate.js';
import { ofprotoTrace } from '../../../src/ofproto/trace.js';
import { parseMatch } from '../../../src/openflow/flow-syntax.js';
import { VLAN_CFI } from '../../../src/ofproto/flow.js';
import { acts, DP, makeBridge } from './bridge-builder.js';

const H1 = '00:00:00:00:00:01';
const H2 = '00:00:00:00:00:02';

const mirror = (spec: Partial<MirrorSpec> & { name: string }): MirrorSpec => ({ id: spec.name, selectAll: false, srcPorts: [], dstPorts: [], vlans: [], ...spec });

/** Hosts on ports 1 and 2 (learned), an analyzer on port 3, a trunk on port 4. */
function lan() {
  const b = makeBridge([1, 2, 3, 4]);
  b.send({ in_port: 1, src: H1, dst: H2 });
  b.send({ in_port: 2, src: H2, dst: H1 });
  return b;
}

describe('port mirroring in xlate', () => {
  it('SPAN select_all: copies both directions of a conversation to the output port, once each', () => {
    const b = lan();
    expect(b.br.setMirrors([mirror({ name: 'm0', selectAll: true, outPort: 3 })])).toEqual([]);
    // The copy of the received frame goes out first (ingress), then the forwarded frame; its
    // egress selection finds the mirror already served.
    expect(b.outs(b.send({ in_port: 1, src: H1, dst: H2 }))).toEqual([3, 2]);
    expect(b.outs(b.send({ in_port: 2, src: H2, dst: H1 }))).toEqual([3, 1]);
  });

  it('select_src_port copies what a port receives, select_dst_port what is sent to it', () => {
    const b = lan();
    b.br.setMirrors([mirror({ name: 'rx1', srcPorts: [1], outPort: 3 })]);
    expect(b.outs(b.send({ in_port: 1, src: H1, dst: H2 }))).toEqual([3, 2]);
    expect(b.outs(b.send({ in_port: 2, src: H2, dst: H1 }))).toEqual([1]);
    b.br.setMirrors([mirror({ name: 'tx1', dstPorts: [1], outPort: 3 })]);
    expect(b.outs(b.send({ in_port: 1, src: H1, dst: H2 }))).toEqual([2]);
    expect(b.outs(b.send({ in_port: 2, src: H2, dst: H1 }))).toEqual([1, 3]);
  });

  it('reserves the output port for mirroring: NORMAL neither floods to it nor accepts frames from it', () => {
    const b = makeBridge([1, 2, 3]);
    b.br.setMirrors([mirror({ name: 'm0', srcPorts: [2], outPort: 3 })]);
    // An unknown destination floods to 2 but not to the analyzer on 3.
    expect(b.outs(b.send({ in_port: 1, src: H1, dst: H2 }))).toEqual([2]);
    expect(b.send({ in_port: 3, src: '00:00:00:00:00:33', dst: H1 }).actions).toEqual([]);
    expect(ofprotoTrace(b.br, [`in_port=3,dl_dst=${H1}`], parseMatch)).toContain('>> dropping packet received on port p3, which is reserved exclusively for mirroring');
  });

  it('select_vlan selects only frames in the listed VLANs, and SPAN copies keep their VLAN tag on a trunk', () => {
    const b = makeBridge([{ ofport: 1, vlan: { tag: 10 } }, { ofport: 2, vlan: { tag: 20 } }, { ofport: 3, vlan: { tag: 10 } }, 4]);
    b.br.setMirrors([mirror({ name: 'v10', selectAll: true, vlans: [10], outPort: 4 })]);
    const r10 = b.send({ in_port: 1, src: H1, dst: 'ff:ff:ff:ff:ff:ff' });
    expect(acts(r10)).toEqual([{ type: 'push_vlan', tpid: 0x8100, tci: VLAN_CFI | 10 }, { output: 4 }, { type: 'pop_vlan' }, { output: 3 }]);
    expect(b.outs(b.send({ in_port: 2, src: H2, dst: 'ff:ff:ff:ff:ff:ff' }))).toEqual([]);
  });

  it('RSPAN floods a copy tagged with output_vlan to the ports carrying it, not back to the source', () => {
    // Hosts on access ports of VLAN 10; a trunk of VLAN 999 and VLAN 10 (the source's own VLAN), an access port of 999, a trunk of VLAN 5 only.
    const b = makeBridge([{ ofport: 1, vlan: { tag: 10 } }, { ofport: 2, vlan: { tag: 10 } }, { ofport: 3, vlan: { trunks: [10, 999] } }, { ofport: 4, vlan: { tag: 999 } }, { ofport: 5, vlan: { trunks: [5] } }]);
    b.send({ in_port: 2, src: H2, dst: H1 });
    b.br.setMirrors([mirror({ name: 'rspan', srcPorts: [1], outVlan: 999 })]);
    const r = b.send({ in_port: 1, src: H1, dst: H2 });
    expect(acts(r)).toEqual([{ type: 'push_vlan', tpid: 0x8100, tci: VLAN_CFI | 999 }, { output: 3 }, { type: 'pop_vlan' }, { output: 4 }, { output: 2 }]);
  });

  it('sends a frame once to an output however many mirrors select it, and credits each mirror that sent it', () => {
    const b = lan();
    b.br.setMirrors([mirror({ name: 'a', srcPorts: [1], outPort: 3 }), mirror({ name: 'b', dstPorts: [2], outPort: 3 }), mirror({ name: 'c', srcPorts: [1], outPort: 4 })]);
    const r = b.send({ in_port: 1, src: H1, dst: H2 });
    expect(b.outs(r)).toEqual([3, 4, 2]);
    creditStats(b.br, cacheOf(r), { packets: 2, bytes: 200 });
    expect(Object.fromEntries(b.br.mirrors.list().map((m) => [m.spec.name, [m.txPackets, m.txBytes]]))).toEqual({ a: [2n, 200n], b: [0n, 0n], c: [2n, 200n] });
  });

  it('mirrors the outputs of OpenFlow rules, not only NORMAL', () => {
    const b = makeBridge([1, 2, 3], { defaultRule: false });
    b.add('in_port=1,actions=mod_dl_dst:00:00:00:00:00:99,output:2');
    b.br.setMirrors([mirror({ name: 'tx2', dstPorts: [2], outPort: 3 })]);
    const r = b.send({ in_port: 1, src: H1, dst: H2 });
    // The copy is the frame as it left port 2.
    expect(acts(r)).toEqual([
      { type: 'set', proto: 'eth', masked: false, fields: [{ field: 'dst', value: '00:00:00:00:00:99' }] },
      { output: 2 },
      { output: 3 },
    ]);
  });

  it('shows each mirror copy in ofproto/trace', () => {
    const b = lan();
    b.br.setMirrors([mirror({ name: 'm0', selectAll: true, outPort: 3 })]);
    const out = ofprotoTrace(b.br, [`in_port=1,dl_src=${H1},dl_dst=${H2}`], parseMatch);
    expect(out).toContain('-> mirror m0: packet received on p1, copy to port p3');
    expect(out).toContain(`Datapath actions: ${DP(3)},${DP(2)}`);
  });

  it('revalidation stops the copies of a removed mirror', () => {
    const b = lan();
    b.br.setMirrors([mirror({ name: 'm0', selectAll: true, outPort: 3 })]);
    const frame = Buffer.concat([Buffer.from(H2.split(':').map((x) => parseInt(x, 16))), Buffer.from(H1.split(':').map((x) => parseInt(x, 16))), Buffer.from([0x88, 0xb5]), Buffer.alloc(46)]);
    const key = extractKey(frame, DP(1));
    const r = xlateMiss(b.br, key)!;
    const installed = { key, mask: wcToMask(r.wc, key), actions: encodeActions(r.actions), cache: cacheOf(r) };
    b.br.setMirrors([]);
    expect(revalidate(b.br, [installed]).modify.map((m) => m.actions)).toEqual([[{ type: 'output', port: DP(2) }]]);
  });

  it(`refuses a mirror beyond ${MAX_MIRRORS} per bridge and names it, keeping the others`, () => {
    const b = lan();
    const specs = [...Array(MAX_MIRRORS + 1).keys()].map((i) => mirror({ name: `m${i}`, srcPorts: [1], outPort: 3 }));
    const refused = b.br.setMirrors(specs);
    expect(refused.map((x) => x.why)).toEqual([`maximum of ${MAX_MIRRORS} port mirrors reached, cannot create m${MAX_MIRRORS} (delete another mirror of this bridge first)`]);
    expect(b.br.mirrors.list()).toHaveLength(MAX_MIRRORS);
    // All 32 share an output: one copy.
    expect(b.outs(b.send({ in_port: 1, src: H1, dst: H2 }))).toEqual([3, 2]);
  });
});
