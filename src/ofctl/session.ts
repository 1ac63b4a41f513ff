/**
 * The pieces every tvs-ofctl command is made of: opening the target, a request and its printed
 * reply, a batch of messages the switch answers only when it refuses one (then a barrier), and
 * looking a port up by name or number. Like ovs-ofctl, a command that needs a second look at the
 * switch (show's switch config, mod-port's port lookup) opens a second connection for it.
 */
import type { Io } from '../lib/cli-run.js';
import { OFP10, OFP13, OFPBF_ATOMIC, OFPBF_ORDERED, type MultipartReply, type MultipartRequest, type OfMessage, type PortDesc } from '../openflow/messages.js';
import { PORT_NAMES } from '../ofproto/names.js';
import { RemoteError, type OfctlChannel } from './channel.js';
import type { Invocation } from './options.js';
import { formatBundleError, formatRemoteError } from './print-errors.js';

/** A usage or lookup problem: tvs-ofctl prints `tvs-ofctl: MESSAGE` and exits 1. */
export class OfctlError extends Error {}

export interface CommandContext {
  inv: Invocation;
  io: Io;
  /** Opens `target` (default: the command's first argument) and runs the hello exchange. */
  open(target?: string, kind?: 'mgmt' | 'snoop'): Promise<OfctlChannel>;
  /** A file's text, `-` for standard input. */
  readFile(path: string): string;
}

/** Opens the command's switch, runs `body` and closes the connection whatever happens. */
export async function withSwitch(ctx: CommandContext, body: (ch: OfctlChannel) => Promise<number>): Promise<number> {
  const ch = await ctx.open();
  try {
    return await body(ch);
  } finally {
    ch.close();
  }
}

/** Sends a multipart request; resolves to the whole reply and its xid. */
export async function multipart(ch: OfctlChannel, request: MultipartRequest): Promise<{ reply: MultipartReply; xid: number }> {
  const { reply, xid } = await ch.transact({ type: 'multipart_request', request });
  if (reply.type !== 'multipart_reply' || reply.reply.kind !== request.kind) throw new OfctlError(`the switch answered a ${request.kind} request with ${reply.type}`);
  return { reply: reply.reply, xid };
}

/**
 * On an OpenFlow 1.0 connection, what flows need beyond OpenFlow 1.0, each change followed by a
 * barrier as ovs-ofctl sends them: table ids in flow_mods (NXT_FLOW_MOD_TABLE_ID), then Nicira's
 * NXM encoding (NXT_SET_FLOW_FORMAT) for registers, metadata, IPv6 and the other fields
 * OpenFlow 1.0's match lacks.
 */
export async function useFlowFormat(ch: OfctlChannel, need: { nxm: boolean; tableIds?: boolean }): Promise<void> {
  if (ch.session.version !== OFP10) return;
  if (need.tableIds && !ch.session.flowModTableId) {
    ch.send({ type: 'nx_flow_mod_table_id', enable: true });
    await ch.barrier();
  }
  if (need.nxm && ch.session.flowFormat !== 'nxm') {
    ch.send({ type: 'nx_set_flow_format', format: 'nxm' });
    await ch.barrier();
  }
}

/**
 * Sends `msgs` and a barrier. Error replies are printed as ovs-ofctl prints them, on stderr;
 * resolves to whether the switch accepted all of them.
 */
export async function sendBatch(ch: OfctlChannel, msgs: readonly OfMessage[], io: Io): Promise<boolean> {
  const errors: RemoteError[] = [];
  ch.onError((e) => errors.push(e));
  for (const m of msgs) ch.send(m);
  await ch.barrier();
  for (const e of errors) io.err(formatRemoteError(e));
  return errors.length === 0;
}

/** ovs-ofctl's bundles: one at a time, id 0, atomic and ordered. */
const BUNDLE_ID = 0;
const BUNDLE_FLAGS = OFPBF_ATOMIC | OFPBF_ORDERED;

/**
 * Sends `msgs` as one atomic bundle, as ovs-ofctl --bundle does (vconn_bundle_transact): open,
 * add each message, a barrier to collect the adds' errors, then commit, or discard if an add
 * was refused. Errors are printed as ovs-ofctl prints them (`Error NAME for: MESSAGE`) and end
 * the command with `talking to TARGET (Protocol error)`.
 */
export async function sendBundle(ctx: CommandContext, ch: OfctlChannel, msgs: readonly OfMessage[]): Promise<void> {
  const errors: RemoteError[] = [];
  const control = async (request: 'open_request' | 'commit_request' | 'discard_request'): Promise<boolean> => {
    try {
      const { reply } = await ch.transact({ type: 'bundle_control', bundleId: BUNDLE_ID, control: request, flags: BUNDLE_FLAGS });
      return reply.type === 'bundle_control' && reply.bundleId === BUNDLE_ID;
    } catch (e) {
      if (!(e instanceof RemoteError)) throw e;
      errors.push(e);
      return false;
    }
  };
  ch.onError((e) => errors.push(e));
  let ok = await control('open_request');
  if (ok) {
    for (const msg of msgs) ch.send({ type: 'bundle_add', bundleId: BUNDLE_ID, flags: BUNDLE_FLAGS, msg });
    await ch.barrier();
    ok = errors.length === 0 ? await control('commit_request') : (await control('discard_request'), false);
  }
  for (const e of errors) ctx.io.err(formatBundleError(e));
  if (!ok) throw new OfctlError(`talking to ${ctx.inv.args[0] ?? 'the switch'} (Protocol error)`);
}

/** Sends flow, group or port changes: in a bundle with --bundle, else as a batch closed by a barrier. Resolves to the exit status. */
export async function sendChanges(ctx: CommandContext, ch: OfctlChannel, msgs: readonly OfMessage[]): Promise<number> {
  if (!ctx.inv.bundle) return (await sendBatch(ch, msgs, ctx.io)) ? 0 : 1;
  await sendBundle(ctx, ch, msgs);
  return 0;
}

/** The switch's ports: port_desc from OpenFlow 1.3 on, the features reply before. */
export async function fetchPorts(ch: OfctlChannel): Promise<PortDesc[]> {
  if (ch.session.version >= OFP13) {
    const { reply } = await multipart(ch, { kind: 'port_desc' });
    return reply.kind === 'port_desc' ? reply.ports : [];
  }
  const { reply } = await ch.transact({ type: 'features_request' });
  return reply.type === 'features_reply' ? reply.ports : [];
}

/** The switch's port `text`, by number or by name, as mod-port finds it (it needs the port's address). */
export async function findPort(ctx: CommandContext, text: string): Promise<PortDesc> {
  const target = ctx.inv.args[0]!;
  const number = /^\d+$/.test(text) ? Number(text) : undefined;
  const ch = await ctx.open();
  try {
    const port = (await fetchPorts(ch)).find((p) => (number !== undefined ? p.portNo === number : p.name === text));
    if (!port) throw new OfctlError(`${target}: couldn't find port \`${text}'`);
    return port;
  } finally {
    ch.close();
  }
}

/** A port number from a number, a reserved name (LOCAL) or, looked up on the switch, a port's name. */
export async function portNumber(ctx: CommandContext, text: string): Promise<number> {
  if (/^\d+$/.test(text)) return Number(text);
  const reserved = PORT_NAMES.find(([name]) => name === text.toUpperCase());
  if (reserved) return reserved[1];
  const ch = await ctx.open();
  try {
    const port = (await fetchPorts(ch)).find((p) => p.name === text);
    if (!port) throw new OfctlError(`${ctx.inv.args[0]!}: unknown port \`${text}'`);
    return port.portNo;
  } finally {
    ch.close();
  }
}
