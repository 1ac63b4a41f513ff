// A hermetic bridge for xlate tests: ports on a fake clock, rules and groups in ovs-ofctl syntax,
// and packets described by a few named fields. Datapath port numbers are ofport + 10 so tests
// notice when the two get mixed up.
import type { Action as DpAction } from '../../../src/datapath/actions.js';
import { Flow, VLAN_CFI, type FieldId } from '../../../src/ofproto/flow.js';
import type { PortVlanConfig } from '../../../src/ofproto/vlan.js';
import { XBridge, type XBridgeOptions } from '../../../src/ofproto/xbridge.js';
import { xlate, type XlateResult } from '../../../src/ofproto/xlate.js';
import { bytesToBigint, parseIpv4, parseMac } from '../../../src/lib/addr.js';
import { parseFlowMod, parseGroupMod } from '../../../src/openflow/flow-syntax.js';

export const DP = (ofport: number) => ofport + 10;

export type PortDef = number | { ofport: number; name?: string; vlan?: PortVlanConfig; noFlood?: boolean; adminUp?: boolean };

export interface Pkt {
  in_port: number;
  src?: string;
  dst?: string;
  /** VLAN id of an 802.1Q tag (absent: untagged). */
  vlan?: number;
  pcp?: number;
  type?: number;
  nw_src?: string;
  nw_dst?: string;
  proto?: number;
  ttl?: number;
  tos?: number;
  tp_src?: number;
  tp_dst?: number;
}

export function flowOf(p: Pkt): Flow {
  const f = new Flow();
  f.setNum('in_port', p.in_port);
  f.set('dl_src', bytesToBigint(parseMac(p.src ?? '00:00:00:00:00:01')));
  f.set('dl_dst', bytesToBigint(parseMac(p.dst ?? '00:00:00:00:00:02')));
  f.setNum('dl_type', p.type ?? (p.nw_dst || p.nw_src || p.proto !== undefined ? 0x0800 : 0x88b5));
  if (p.vlan !== undefined) f.setNum('vlan_tci', VLAN_CFI | ((p.pcp ?? 0) << 13) | p.vlan);
  const set = (k: FieldId, v: number | undefined) => v !== undefined && f.setNum(k, v);
  if (p.nw_src) f.setNum('nw_src', parseIpv4(p.nw_src).readUInt32BE(0));
  if (p.nw_dst) f.setNum('nw_dst', parseIpv4(p.nw_dst).readUInt32BE(0));
  set('nw_proto', p.proto);
  set('nw_ttl', p.ttl);
  set('nw_tos', p.tos);
  set('tp_src', p.tp_src);
  set('tp_dst', p.tp_dst);
  return f;
}

export function makeBridge(ports: PortDef[], opts: Partial<XBridgeOptions> = {}) {
  let now = 1_000_000;
  const br = new XBridge({ name: 'br0', clock: () => now, ...opts });
  for (const d of ports) {
    const p = typeof d === 'number' ? { ofport: d } : d;
    br.addPort({ ofport: p.ofport, dpPort: DP(p.ofport), name: p.name ?? `p${p.ofport}`, ...(p.vlan ? { vlan: p.vlan } : {}), ...(p.noFlood ? { noFlood: true } : {}), ...(p.adminUp === false ? { adminUp: false } : {}) });
  }
  const b = {
    br,
    now: () => now,
    advance: (ms: number) => (now += ms),
    add: (...flows: string[]) => flows.forEach((s) => br.flowMod(parseFlowMod(s, 'add'))),
    del: (s = '') => br.flowMod(parseFlowMod(s, 'delete')),
    addGroup: (s: string) => br.groupMod(parseGroupMod(s, 'add')),
    /** Translates a packet (learning MACs, like a real miss). */
    send: (p: Pkt, opts: { sideEffects?: boolean; trace?: boolean } = {}): XlateResult => xlate(br, flowOf(p), opts),
    /** The ofports a translation outputs to, in order. */
    outs: (r: XlateResult): number[] => r.actions.filter((a): a is Extract<DpAction, { type: 'output' }> => a.type === 'output').map((a) => a.port - 10),
  };
  return b;
}

/** Datapath actions with the dp port numbers turned back into ofports, for readable specs. */
export function acts(r: XlateResult): unknown[] {
  return r.actions.map((a) => (a.type === 'output' ? { output: a.port - 10 } : a));
}
