/**
 * tvs-ofctl's flow commands, as ovs-ofctl's: dump-flows, dump-aggregate, add-flow(s), mod-flows,
 * del-flows, replace-flows, diff-flows and bundle (a file of flow and group changes, atomically). On an OpenFlow 1.0 connection, as ovs-ofctl does,
 * dumps switch to NXM, and flow_mods do when a match needs a field OpenFlow 1.0 lacks (and ask
 * for table ids when a flow names a table).
 */
import { statSync } from 'node:fs';
import type { FlowStats, MultipartRequest, OfMessage } from '../openflow/messages.js';
import { OFP10, OFP13 } from '../openflow/messages.js';
import { of10MatchProblem } from '../openflow/codec/match.js';
import { parseFlowMod, parseGroupMod } from '../openflow/flow-syntax.js';
import { OFPG, OFPP } from '../ofproto/actions.js';
import { OFPTT_ALL, flowMod, type FlowMod, type FlowModCommand } from '../ofproto/flow-table.js';
import type { GroupMod } from '../ofproto/groups.js';
import { Match } from '../ofproto/match.js';
import { formatFlow, formatMatch } from '../ofproto/print.js';
import type { OfctlChannel } from './channel.js';
import type { Command } from './commands.js';
import type { SortKey } from './options.js';
import { formatMultipartReply } from './print-reply.js';
import { formatFlowStatsLine } from './print-stats.js';
import { OfctlError, multipart, sendBundle, sendChanges, useFlowFormat, type CommandContext } from './session.js';

type FlowStatsRequest = Extract<MultipartRequest, { kind: 'flow' | 'aggregate' }>;

function statsRequest(kind: 'flow' | 'aggregate', text: string | undefined, strict: boolean): FlowStatsRequest {
  const fm = text === undefined ? flowMod({ command: 'delete' }) : parseFlowMod(text, strict ? 'delete_strict' : 'delete');
  return { kind, tableId: fm.tableId, match: fm.match, outPort: fm.outPort, outGroup: fm.outGroup, cookie: fm.cookie, cookieMask: fm.cookieMask };
}

/** Whether the flow replies on `ch` are Nicira's (NXST_FLOW), which carry idle and hard ages. */
function nicira(ch: OfctlChannel): boolean {
  return ch.session.version === OFP10 && ch.session.flowFormat === 'nxm';
}

async function dumpFlowStats(ch: OfctlChannel, req: FlowStatsRequest): Promise<{ flows: FlowStats[]; xid: number; reply: Awaited<ReturnType<typeof multipart>>['reply'] }> {
  await useFlowFormat(ch, { nxm: true });
  const { reply, xid } = await multipart(ch, req);
  return { flows: reply.kind === 'flow' ? reply.flows : [], xid, reply };
}

/** The value a --sort field has in a flow's match (absent fields sort first, as OVS's wildcarded do). */
function sortValue(f: FlowStats, key: SortKey): bigint {
  if (key.field === undefined || key.field === 'priority') return BigInt(f.priority);
  try {
    const m = f.match.field(key.field as Parameters<Match['field']>[0]);
    return f.match.wc.has(key.field as Parameters<Match['field']>[0]) ? m.value : -1n;
  } catch {
    throw new OfctlError(`${key.field}: unknown field: --sort and --rsort take a match field (e.g. --sort=priority, --sort=nw_src)`);
  }
}

function sortFlows(flows: FlowStats[], keys: readonly SortKey[]): FlowStats[] {
  return [...flows].sort((a, b) => {
    for (const k of keys) {
      const x = sortValue(a, k);
      const y = sortValue(b, k);
      if (x !== y) return (x < y ? -1 : 1) * (k.descending ? -1 : 1);
    }
    return 0;
  });
}

const dumpFlows: Command = async (ctx) => {
  const { inv, io } = ctx;
  const req = statsRequest('flow', inv.args[1], inv.strict);
  const ch = await ctx.open();
  try {
    const { flows, xid, reply } = await dumpFlowStats(ch, req);
    // With sorting, names or no stats, ovs-ofctl prints the flows alone, without the reply's
    // title and without ages.
    if (inv.sort.length === 0 && inv.stats && !inv.names) {
      io.out(formatMultipartReply(reply, ch.session.version, xid, nicira(ch)));
      return 0;
    }
    const sorted = inv.sort.length ? sortFlows(flows, inv.sort) : flows;
    for (const f of sorted) io.out(`${inv.stats ? '' : ' '}${formatFlowStatsLine(f, { stats: inv.stats, ages: false })}\n`);
    return 0;
  } finally {
    ch.close();
  }
};

const dumpAggregate: Command = async (ctx) => {
  const req = statsRequest('aggregate', ctx.inv.args[1], ctx.inv.strict);
  const ch = await ctx.open();
  try {
    await useFlowFormat(ch, { nxm: true });
    const { reply, xid } = await multipart(ch, req);
    ctx.io.out(formatMultipartReply(reply, ch.session.version, xid, nicira(ch)));
    return 0;
  } finally {
    ch.close();
  }
};

/** Sends flow_mods (NXM and table ids on OpenFlow 1.0) and a barrier, or one bundle with --bundle; exit 1 if the switch refused any. */
async function sendFlowMods(ctx: CommandContext, mods: readonly FlowMod[]): Promise<number> {
  const ch = await ctx.open();
  try {
    const tableIds = mods.some((m) => m.tableId !== (m.command === 'add' ? 0 : OFPTT_ALL));
    const nxm = mods.some((m) => of10MatchProblem(m.match) !== undefined);
    await useFlowFormat(ch, { nxm, tableIds });
    const msgs: OfMessage[] = mods.map((mod) => ({ type: 'flow_mod', mod }));
    return await sendChanges(ctx, ch, msgs);
  } finally {
    ch.close();
  }
}

const FILE_COMMANDS: Readonly<Record<string, FlowModCommand>> = {
  add: 'add',
  modify: 'modify',
  mod: 'modify',
  modify_strict: 'modify_strict',
  delete: 'delete',
  del: 'delete',
  delete_strict: 'delete_strict',
};

/** The flows of a file: one a line, blank lines and #comments skipped, each optionally led by add/modify/delete[_strict]. */
function readFlowFile(ctx: CommandContext, path: string, command: FlowModCommand): FlowMod[] {
  const mods: FlowMod[] = [];
  for (const raw of ctx.readFile(path).split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const word = /^(\S+)\s+/.exec(line);
    const lineCommand = word && Object.hasOwn(FILE_COMMANDS, word[1]!) ? FILE_COMMANDS[word[1]!]! : undefined;
    mods.push(parseFlowMod(lineCommand ? line.slice(word![0].length) : line, lineCommand ?? command));
  }
  return mods;
}

const addFlow: Command = (ctx) => sendFlowMods(ctx, [parseFlowMod(ctx.inv.args[1]!, 'add')]);
const addFlows: Command = (ctx) => sendFlowMods(ctx, readFlowFile(ctx, ctx.inv.args[1]!, 'add'));
const modFlows: Command = (ctx) => sendFlowMods(ctx, [parseFlowMod(ctx.inv.args[1]!, ctx.inv.strict ? 'modify_strict' : 'modify')]);
const delFlows: Command = (ctx) => {
  const command = ctx.inv.strict ? 'delete_strict' : 'delete';
  const text = ctx.inv.args[1];
  return sendFlowMods(ctx, [text === undefined ? flowMod({ command }) : parseFlowMod(text, command)]);
};

/** One rule of a table as diff-flows and replace-flows compare it: where it is, and what it does. */
interface FlowVersion {
  key: string;
  tableId: number;
  priority: number;
  mod: FlowMod;
  /** What makes two versions of the same rule equal: cookie, timeouts, importance, actions. */
  body: string;
  /** The line diff-flows prints. */
  text: string;
}

function flowVersion(m: Pick<FlowMod, 'tableId' | 'match' | 'priority' | 'cookie' | 'idleTimeout' | 'hardTimeout' | 'importance' | 'flags' | 'instructions'>): FlowVersion {
  const match = formatMatch(m.match, m.priority);
  const actions = formatFlow({ ...m, match: Match.catchAll(), priority: 0x8000, cookie: 0n, tableId: 0, idleTimeout: 0, hardTimeout: 0, importance: 0, flags: {} });
  let body = '';
  if (m.cookie) body += ` cookie=0x${m.cookie.toString(16)}`;
  if (m.idleTimeout) body += ` idle_timeout=${m.idleTimeout}`;
  if (m.hardTimeout) body += ` hard_timeout=${m.hardTimeout}`;
  if (m.importance) body += ` importance=${m.importance}`;
  body += ` ${actions}`;
  const { tableId, priority, cookie, idleTimeout, hardTimeout, importance, flags, instructions } = m;
  const mod = flowMod({ command: 'add', tableId, match: m.match, priority, cookie, idleTimeout, hardTimeout, importance, flags, instructions });
  return { key: `${m.tableId}/${match}`, tableId: m.tableId, priority: m.priority, mod, body, text: `${m.tableId ? `table=${m.tableId} ` : ''}${match}${body}` };
}

/** The switch's rules, as diff-flows and replace-flows read them. */
async function switchFlows(ctx: CommandContext, target: string): Promise<FlowVersion[]> {
  const ch = await ctx.open(target);
  try {
    const { flows } = await dumpFlowStats(ch, statsRequest('flow', undefined, false));
    return flows.map((f) => flowVersion(f));
  } finally {
    ch.close();
  }
}

/** A flow source of diff-flows: a regular file of flows, else a switch. */
async function readSource(ctx: CommandContext, source: string): Promise<FlowVersion[]> {
  let isFile = false;
  try {
    isFile = statSync(source).isFile();
  } catch {
    // Not a file: a switch.
  }
  if (source === '-' || isFile) return readFlowFile(ctx, source, 'add').map(flowVersion);
  return switchFlows(ctx, source);
}

/** In OVS's order: by table, then priority (highest first), then match. */
function byTableAndPriority(a: FlowVersion, b: FlowVersion): number {
  return a.tableId - b.tableId || b.priority - a.priority || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

const diffFlows: Command = async (ctx) => {
  const [a, b] = await Promise.all([readSource(ctx, ctx.inv.args[0]!), readSource(ctx, ctx.inv.args[1]!)]);
  const inA = new Map(a.map((v) => [v.key, v]));
  const inB = new Map(b.map((v) => [v.key, v]));
  const keys = [...new Map([...a, ...b].map((v) => [v.key, v])).values()].sort(byTableAndPriority);
  let differences = false;
  for (const { key } of keys) {
    const x = inA.get(key);
    const y = inB.get(key);
    if (x && y && x.body === y.body) continue;
    differences = true;
    if (x) ctx.io.out(`-${x.text}\n`);
    if (y) ctx.io.out(`+${y.text}\n`);
  }
  return differences ? 2 : 0;
};

const replaceFlows: Command = async (ctx) => {
  const wanted = readFlowFile(ctx, ctx.inv.args[1]!, 'add').map(flowVersion);
  const current = new Map((await switchFlows(ctx, ctx.inv.args[0]!)).map((v) => [v.key, v]));
  const inFile = new Set(wanted.map((v) => v.key));
  const mods: FlowMod[] = [];
  for (const v of current.values()) {
    if (!inFile.has(v.key)) mods.push(flowMod({ command: 'delete_strict', tableId: v.tableId, match: v.mod.match, priority: v.priority, outPort: OFPP.ANY, outGroup: OFPG.ANY }));
  }
  for (const v of wanted) {
    const now = current.get(v.key);
    if (ctx.inv.readd || !now || now.body !== v.body) mods.push(v.mod);
  }
  return mods.length ? sendFlowMods(ctx, mods) : 0;
};

const GROUP_FILE_COMMANDS: Readonly<Record<string, GroupMod['command']>> = { add: 'add', modify: 'modify', mod: 'modify', delete: 'delete', del: 'delete' };

/** `rest`'s leading command word from `commands`, and what follows it; `fallback` when there is none. */
function leadingCommand<C>(rest: string, commands: Readonly<Record<string, C>>, fallback: C): [C, string] {
  const word = /^([^\s,]+)[\s,]*/.exec(rest);
  return word && Object.hasOwn(commands, word[1]!) ? [commands[word[1]!]!, rest.slice(word[0].length)] : [fallback, rest];
}

/** One line of a bundle file: `flow [add|modify|delete...] FLOW` or `group [add|modify|delete] GROUP`, as ovs-ofctl reads them. */
function parseBundleLine(line: string): OfMessage {
  const [, kind = '', rest = ''] = /^([^\s,]*)[\s,]*(.*)$/.exec(line) ?? [];
  if (kind === 'flow') {
    const [command, flow] = leadingCommand(rest, FILE_COMMANDS, 'add');
    return { type: 'flow_mod', mod: parseFlowMod(flow, command) };
  }
  if (kind === 'group') {
    const [command, group] = leadingCommand(rest, GROUP_FILE_COMMANDS, 'add');
    return { type: 'group_mod', mod: parseGroupMod(group, command) };
  }
  if (kind === 'packet-out') throw new OfctlError('packet-out is not supported in a bundle by tvs-ofctl: bundle flow and group changes, and send the packet with packet-out');
  throw new OfctlError(`Unsupported bundle message type: ${kind} (a line starts with flow or group)`);
}

/**
 * `bundle SWITCH FILE`: every flow and group change of FILE in one atomic, ordered bundle
 * (OpenFlow 1.3+; 1.4 unless -O says otherwise). A line the switch refuses rolls the whole file
 * back; a line that does not parse sends nothing and is named as FILE:LINE.
 */
const bundle: Command = async (ctx) => {
  const path = ctx.inv.args[1]!;
  const msgs: OfMessage[] = [];
  ctx.readFile(path).split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) return;
    try {
      msgs.push(parseBundleLine(line));
    } catch (e) {
      throw new OfctlError(`${path}:${i + 1}: ${e instanceof Error ? e.message : String(e)}`);
    }
  });
  const ch = await ctx.open();
  try {
    if (ch.session.version < OFP13) throw new OfctlError(`bundle: the switch speaks OpenFlow 1.${ch.session.version - 1}, which has no bundles: use -O OpenFlow13 or later`);
    await sendBundle(ctx, ch, msgs);
    return 0;
  } finally {
    ch.close();
  }
};

export const FLOW_COMMANDS: Readonly<Record<string, Command>> = {
  bundle,
  'dump-flows': dumpFlows,
  'dump-aggregate': dumpAggregate,
  'add-flow': addFlow,
  'add-flows': addFlows,
  'mod-flows': modFlows,
  'del-flows': delFlows,
  'replace-flows': replaceFlows,
  'diff-flows': diffFlows,
};

