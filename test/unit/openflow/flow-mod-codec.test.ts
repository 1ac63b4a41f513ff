import { describe, expect, it } from 'vitest';
import { decodeFlowMod, encodeFlowMod } from '../../../src/openflow/codec/flow-messages.js';
import { OfReader } from '../../../src/openflow/codec/buffer.js';
import { parseFlowMod } from '../../../src/openflow/flow-syntax.js';
import type { Session } from '../../../src/openflow/messages.js';
import type { Match } from '../../../src/ofproto/match.js';
import { formatFlow } from '../../../src/ofproto/print.js';
import { FLOW_CORPUS, OVN_FLOW_CORPUS } from './flow-corpus.js';
import { NX_VENDOR_ID, OFPT_VENDOR, PROTOCOLS, captureOvsOfctl, frame, ofpPrint, parseFlowText, type ProtocolName } from './ovs-oracle.js';

const OFPT_FLOW_MOD = 14;
const NXT_FLOW_MOD = 13;
const NXT_FLOW_MOD_TABLE_ID = 15;

function flowModMessage(p: ProtocolName, body: Buffer): Buffer {
  const P = PROTOCOLS[p];
  return P.wire === 'nx' ? frame(1, OFPT_VENDOR, body, NXT_FLOW_MOD) : frame(P.session.version, OFPT_FLOW_MOD, body);
}

/** What OVS makes of `flow` for protocol `p`, or undefined when OVS cannot express it there. */
function ovsText(flow: string, p: ProtocolName): string | undefined {
  try {
    const text = parseFlowText(flow, p);
    return text.startsWith('***') ? undefined : text;
  } catch {
    return undefined;
  }
}

/** Instructions OpenFlow 1.0 cannot carry (ovs-ofctl silently drops them there; TVS refuses). */
function needsOf11(flow: string): boolean {
  const ins = parseFlowMod(flow).instructions;
  return ins.clearActions || ins.write !== undefined || ins.gotoTable !== undefined;
}

/** A meter needs OpenFlow 1.3 (ovs-ofctl finds no usable protocol below it). */
function hasMeter(flow: string): boolean {
  return parseFlowMod(flow).instructions.meter !== undefined;
}

const CASES = (Object.keys(PROTOCOLS) as ProtocolName[]).flatMap((p) =>
  FLOW_CORPUS.flatMap((flow) => {
    if (PROTOCOLS[p].session.version === 1 && (needsOf11(flow) || hasMeter(flow))) return [];
    const want = ovsText(flow, p);
    return want === undefined ? [] : [{ p, flow, want }];
  }),
);

/**
 * The match an OXM match carries for `m`: OXM has vlan_vid and vlan_pcp but no vlan_tci, so
 * "no tag" (vlan_tci=0/0xffff) is vlan_vid=0, which leaves the priority bits free (OVS does the same).
 */
function asOxmCarriesIt(m: Match, p: ProtocolName): Match {
  const out = m.clone();
  const tci = m.field('vlan_tci');
  if (PROTOCOLS[p].session.version >= 3 && !(tci.value & 0x1000n)) out.set('vlan_tci', tci.value, tci.mask & 0x1fffn);
  return out;
}

describe('flow_mod bodies, judged by ovs-ofctl', () => {
  it('covers every protocol with most of the corpus', () => {
    for (const p of Object.keys(PROTOCOLS) as ProtocolName[]) {
      expect(CASES.filter((c) => c.p === p).length, p).toBeGreaterThan(p === 'of10' ? 15 : 30);
    }
  });

  it.each(CASES)('$p: ovs-ofctl ofp-print reads "$flow" as parse-flow does', ({ p, flow, want }) => {
    const body = encodeFlowMod(parseFlowMod(flow), PROTOCOLS[p].session, PROTOCOLS[p].wire);
    expect(ofpPrint(flowModMessage(p, body))).toBe(want);
  });

  it.each(CASES)('$p: "$flow" decodes back to the flow_mod it was encoded from', ({ p, flow }) => {
    const { session, wire } = PROTOCOLS[p];
    const body = encodeFlowMod(parseFlowMod(flow), session, wire);
    const back = decodeFlowMod(new OfReader(body), session, wire);
    // Byte-identical re-encoding: nothing was lost or invented on the way.
    expect(encodeFlowMod(back, session, wire).toString('hex')).toBe(body.toString('hex'));
    expect(back.match.equals(asOxmCarriesIt(parseFlowMod(flow).match, p))).toBe(true);
  });
});

describe('OVN flows over OpenFlow 1.3, the version ovn-controller speaks', () => {
  // What a flow_mod decoded from the wire prints as: every field named as it was sent (arp_spa, not ip_src).
  it.each(OVN_FLOW_CORPUS)('"%s" decoded from the wire prints as ovs-ofctl prints it', (flow) => {
    const { session, wire } = PROTOCOLS.of13;
    const back = decodeFlowMod(new OfReader(encodeFlowMod(parseFlowMod(flow), session, wire)), session, wire);
    expect(`ADD ${formatFlow(back)}`).toBe(parseFlowText(flow, 'of13'));
  });
});

describe('what OpenFlow 1.0 cannot carry', () => {
  it.each(FLOW_CORPUS.filter((f) => needsOf11(f) && !hasMeter(f)))('refuses "%s" on OpenFlow 1.0 and names the version it needs', (flow) => {
    expect(() => encodeFlowMod(parseFlowMod(flow), PROTOCOLS.nxm.session, 'nx')).toThrow(/OpenFlow 1\.1 or later/);
  });

  it.each(FLOW_CORPUS.filter(hasMeter))('refuses the meter of "%s" on OpenFlow 1.0 and names the version meters need', (flow) => {
    expect(() => encodeFlowMod(parseFlowMod(flow), PROTOCOLS.nxm.session, 'nx')).toThrow(/meter:\d+ needs OpenFlow 1\.3 or later/);
    expect(() => encodeFlowMod(parseFlowMod(flow), PROTOCOLS.of10.session, 'ofp')).toThrow(/meter:\d+ needs OpenFlow 1\.3 or later/);
  });

  it('refuses a match OpenFlow 1.0 cannot express, pointing at NXM', () => {
    expect(() => encodeFlowMod(parseFlowMod('reg0=1 actions=drop'), PROTOCOLS.of10.session, 'ofp')).toThrow(/cannot match reg0.*NXM flow format/);
    expect(() => encodeFlowMod(parseFlowMod('ip,nw_src=10.0.0.0/255.0.255.0 actions=drop'), PROTOCOLS.of10.session, 'ofp')).toThrow(/CIDR/);
  });
});

describe('flow_mods as ovs-ofctl sends them', () => {
  for (const p of Object.keys(PROTOCOLS) as ProtocolName[]) {
    it(`${p}: decodes every flow_mod of add-flows into the flow ovs-ofctl was given`, async () => {
      const flows = CASES.filter((c) => c.p === p).map((c) => c.flow);
      const { session, args } = PROTOCOLS[p];
      const file = `/tmp/tvs-corpus-${process.pid}-${p}.txt`;
      const { writeFileSync, rmSync } = await import('node:fs');
      writeFileSync(file, flows.join('\n') + '\n');
      let sent: Buffer[];
      try {
        sent = await captureOvsOfctl(session.version, (target) => [...args, 'add-flows', target, file]);
      } finally {
        rmSync(file, { force: true });
      }
      const s: Session = { ...session, flowModTableId: false };
      const decoded = [];
      for (const msg of sent) {
        const nx = msg.readUInt8(1) === OFPT_VENDOR && msg.readUInt32BE(8) === NX_VENDOR_ID;
        const subtype = nx ? msg.readUInt32BE(12) : -1;
        if (subtype === NXT_FLOW_MOD_TABLE_ID) s.flowModTableId = msg.readUInt8(16) === 1;
        if (msg.readUInt8(1) !== OFPT_FLOW_MOD && subtype !== NXT_FLOW_MOD) continue;
        const wire = nx ? 'nx' : 'ofp';
        const body = msg.subarray(nx ? 16 : 8);
        const mod = decodeFlowMod(new OfReader(body), s, wire);
        decoded.push(mod);
        // What we would send for the same flow_mod means the same, and from OpenFlow 1.1 on is what OVS sent byte for
        // byte (an OpenFlow 1.0 add into table 0 may carry 0 or OVS's "unspecified" 255 in its command).
        const ours = encodeFlowMod(mod, s, wire);
        expect(decodeFlowMod(new OfReader(ours), s, wire), `re-encoding flow ${decoded.length}`).toEqual(mod);
        if (s.version > 1) expect(ours.toString('hex'), `re-encoding flow ${decoded.length}`).toBe(body.toString('hex'));
      }
      expect(decoded).toHaveLength(flows.length);
      decoded.forEach((mod, i) => {
        const want = parseFlowMod(flows[i]!);
        expect(mod.match.equals(asOxmCarriesIt(want.match, p)), flows[i]).toBe(true);
        expect({ priority: mod.priority, tableId: mod.tableId, cookie: mod.cookie, idle: mod.idleTimeout, hard: mod.hardTimeout, flags: mod.flags }, flows[i]).toEqual({
          priority: want.priority, tableId: want.tableId, cookie: want.cookie, idle: want.idleTimeout, hard: want.hardTimeout, flags: want.flags,
        });
      });
    });
  }
});

describe('modify and delete as ovs-ofctl sends them', () => {
  const COMMANDS = [
    ['mod-flows', 'modify', 'cookie=0x5,in_port=1 actions=output:3'],
    ['mod-flows', 'modify', 'in_port=1 actions=output:3'],
    ['del-flows', 'delete', 'in_port=1'],
    ['del-flows', 'delete', 'cookie=0x5/-1,in_port=1'],
    ['--strict del-flows', 'delete_strict', 'priority=5,in_port=1'],
  ] as const;
  const CMD_CASES = (['of10', 'nxm', 'of13', 'of15'] as const).flatMap((p) =>
    COMMANDS.filter(([, , flow]) => !(p === 'of10' && flow.includes('/'))).map(([cmd, command, flow]) => ({ p, cmd, command, flow })),
  );

  it.each(CMD_CASES)('$p: TVS encodes "$cmd $flow" to the bytes ovs-ofctl sends, and decodes them', async ({ p, cmd, command, flow }) => {
    const { session, args } = PROTOCOLS[p];
    const sent = await captureOvsOfctl(session.version, (target) => [...args, ...cmd.split(' '), target, flow]);
    const isNx = (m: Buffer, sub: number) => m.readUInt8(1) === OFPT_VENDOR && m.readUInt32BE(12) === sub;
    const msg = sent.filter((m) => m.readUInt8(1) === OFPT_FLOW_MOD || isNx(m, NXT_FLOW_MOD)).pop();
    if (!msg) throw new Error('ovs-ofctl sent no flow_mod');
    const wire = isNx(msg, NXT_FLOW_MOD) ? 'nx' : 'ofp';
    const s: Session = { ...session, flowModTableId: sent.some((m) => isNx(m, NXT_FLOW_MOD_TABLE_ID)) };
    const body = msg.subarray(wire === 'nx' ? 16 : 8);
    const want = parseFlowMod(flow, command);
    expect(encodeFlowMod(want, s, wire).toString('hex')).toBe(body.toString('hex'));
    const got = decodeFlowMod(new OfReader(body), s, wire);
    expect(got.match.equals(want.match)).toBe(true);
    // An OpenFlow 1.1+ modify has no "new cookie": the cookie of mod-flows is lost there, with OVS as with TVS.
    const cookie = s.version > 1 && command === 'modify' && !want.cookieMask ? 0n : want.cookie;
    expect({ command: got.command, cookie: got.cookie, cookieMask: got.cookieMask, outPort: got.outPort }).toEqual({ command, cookie, cookieMask: want.cookieMask, outPort: want.outPort });
  });
});
