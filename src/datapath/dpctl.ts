// The datapath operations behind `tvs-dpctl` and `tvs-appctl dpctl/...`:
// show, dump-dps, dump-flows, add/mod/del/get-flow (del-flows is the daemon's,
// which flushes ofproto's flows with the datapath's), in OVS's datapath flow
// syntax so OVS users' habits carry over.
import type { Datapath, DatapathFlow } from './dpif.js';
import { decodeActions } from './actions.js';
import { decodeKey, encodeKey, type FlowKey } from './flow-key.js';
import { formatFlow, OdpSyntaxError, parseActions, parseMatch, type DpMatch } from './odp-syntax.js';

/** A datapath as dpctl addresses it: `netdev@<name>`, as OVS's userspace datapath. */
export interface NamedDatapath {
  name: string;
  dp: Datapath;
}

/** TCP flags as OVS prints them in flow stats (`flags:S.`). */
function formatTcpFlags(flags: number): string {
  const letters: [number, string][] = [
    [0x002, 'S'],
    [0x001, 'F'],
    [0x008, 'P'],
    [0x004, 'R'],
    [0x020, 'U'],
    [0x010, '.'],
    [0x040, 'E'],
    [0x080, 'C'],
    [0x100, 'N'],
  ];
  return letters
    .filter(([bit]) => flags & bit)
    .map(([, l]) => l)
    .join('');
}

/** ufid text for a datapath flow id (OVS prints ufids as UUIDs). */
export function formatUfid(id: bigint): string {
  const hex = id.toString(16).padStart(32, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function parseUfid(text: string): bigint {
  const m = /^ufid:([0-9a-fA-F-]+)$/.exec(text.trim());
  const hex = m?.[1]?.replace(/-/g, '');
  if (!hex || hex.length !== 32 || !/^[0-9a-fA-F]+$/.test(hex)) {
    throw new Error(`"${text}" is not a ufid: expected ufid:xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx as dump-flows -m prints it`);
  }
  return BigInt(`0x${hex}`);
}

function matchOf(flow: DatapathFlow): DpMatch {
  const key = decodeKey(flow.key);
  const ethType = Number(key.eth_type ?? 0);
  const mask: FlowKey = decodeKey(flow.mask, ethType);
  // Every flow of ours is on recirculation 0, as dump-flows always shows it.
  mask.recirc_id = 0xffffffff;
  return { key, mask };
}

/** One dump-flows line for an installed flow. */
export function formatDatapathFlow(flow: DatapathFlow, opts: { ufid?: boolean; stats?: boolean } = {}): string {
  const line = formatFlow({
    match: matchOf(flow),
    stats: opts.stats === false ? undefined : {
      packets: flow.packets,
      bytes: flow.bytes,
      used: flow.idleMs === null ? null : flow.idleMs / 1000,
      ...(flow.tcpFlags ? { flags: formatTcpFlags(flow.tcpFlags) } : {}),
    },
    actions: decodeActions(flow.actions),
  });
  return opts.ufid ? `ufid:${formatUfid(flow.id)}, ${line}` : line;
}

export function dumpDps(dps: NamedDatapath[]): string {
  return dps.map((d) => `netdev@${d.name}\n`).join('');
}

/** `dpctl/show [-s]`, in OVS's layout. */
export function show(d: NamedDatapath, opts: { stats?: boolean } = {}): string {
  const s = d.dp.stats();
  const classifierHits = s.hit - s.emcHit;
  const lines = [
    `netdev@${d.name}:`,
    `  lookups: hit:${s.hit} missed:${s.missed} lost:${s.lost}`,
    `  flows: ${s.flows}`,
    `  masks: hit:${s.masksProbed} total:${s.masks} hit/pkt:${(classifierHits > 0 ? s.masksProbed / classifierHits : 0).toFixed(2)}`,
    `  caches:`,
    `    emc: hit:${s.emcHit}`,
  ];
  for (const p of d.dp.ports()) {
    const shownType = p.type === 'tap' || p.type === 'vxlan' || p.type === 'geneve' || p.type === 'gre' ? ` (${p.type})` : '';
    lines.push(`  port ${p.port}: ${p.name}${shownType}${p.detached ? ' (detached: waiting for the device)' : ''}`);
    if (opts.stats) {
      const t = p.stats;
      lines.push(
        `    RX packets:${t.rxPackets} errors:${t.rxErrors} dropped:${t.rxDropped} overruns:0 frame:0`,
        `    TX packets:${t.txPackets} errors:${t.txErrors} dropped:${t.txDropped} aborted:0 carrier:0`,
        `    collisions:0`,
        `    RX bytes:${t.rxBytes}  TX bytes:${t.txBytes}`,
      );
    }
  }
  return lines.join('\n') + '\n';
}

/** `dpctl/dump-flows [-m]`; `filter` keeps flows whose line contains it. */
export function dumpFlows(d: NamedDatapath, opts: { more?: boolean; filter?: string } = {}): string {
  return d.dp
    .dumpFlows()
    .map((f) => formatDatapathFlow(f, { ufid: opts.more }))
    .filter((line) => !opts.filter || line.includes(opts.filter))
    .map((line) => line + '\n')
    .join('');
}

/** Runs `parse`, saying which argument a syntax error is in, in OVS's words ("parsing flow key"). */
function parsing<T>(what: 'flow key' | 'actions', parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof OdpSyntaxError) throw new OdpSyntaxError(`parsing ${what}: ${e.message}`, e.column);
    throw e;
  }
}

function keyAndMask(flowText: string): { key: Buffer; mask: Buffer } {
  const m = parsing('flow key', () => parseMatch(flowText));
  return { key: encodeKey(m.key), mask: encodeKey(m.mask) };
}

/** `dpctl/add-flow FLOW ACTIONS` (mode `modify` for mod-flow, `put` for mod-flow --may-create). */
export function addFlow(d: NamedDatapath, flowText: string, actionsText: string, mode: 'create' | 'modify' | 'put' = 'create'): bigint {
  const { key, mask } = keyAndMask(flowText);
  const actions = parsing('actions', () => parseActions(actionsText));
  return d.dp.putFlow({ key, mask, actions, mode, refuseOverlap: mode !== 'modify' });
}

/** The id of the flow a FLOW or ufid: argument names. */
function resolve(d: NamedDatapath, flowText: string): bigint {
  if (flowText.trim().startsWith('ufid:')) return parseUfid(flowText);
  const { key, mask } = keyAndMask(flowText);
  const id = d.dp.findFlow(key, mask);
  if (id === null) throw new Error(`flow not found: no flow is installed with exactly this match (dump-flows lists them): ${flowText}`);
  return id;
}

/** `dpctl/get-flow FLOW|ufid:UFID`. */
export function getFlow(d: NamedDatapath, flowText: string): string {
  return formatDatapathFlow(d.dp.getFlow(resolve(d, flowText)), { ufid: true }) + '\n';
}

/** `dpctl/del-flow FLOW|ufid:UFID`; returns the flow's final line with stats. */
export function delFlow(d: NamedDatapath, flowText: string): string {
  const id = resolve(d, flowText);
  const flow = d.dp.getFlow(id);
  d.dp.deleteFlow(id);
  return formatDatapathFlow(flow) + '\n';
}
