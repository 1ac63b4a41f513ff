/**
 * tvs-ofctl's commands that watch or inject packets: monitor (the packet-ins, port-status and
 * flow-removed messages a switch sends, and with `watch:[SPEC]` flow monitor updates), snoop (the switch's .snoop socket) and packet-out.
 * A packet-in prints as ovs-ofctl prints it (ofputil_packet_in_private_format):
 * `OFPT_PACKET_IN (xid=0x0): total_len=60 in_port=1 (via no_match) data_len=60 (unbuffered)`, then
 * the packet's flow and checksum (./print-packet.ts).
 */
import type { FlowMonitorRequest, MessageOf, OfMessage } from '../openflow/messages.js';
import { NXFMF, OFP10 } from '../openflow/messages.js';
import { parseFlowMod } from '../openflow/flow-syntax.js';
import { formatMatch } from '../ofproto/print.js';
import type { OfctlChannel } from './channel.js';
import type { Command } from './commands.js';
import { formatDuration, title } from './print-common.js';
import { formatFlowMonitorPause } from './print-monitor.js';
import { formatPacket } from './print-packet.js';
import { formatPortDesc } from './print-ports.js';
import { formatMultipartReply } from './print-reply.js';
import { OfctlError, multipart, portNumber, sendBatch, type CommandContext } from './session.js';

const NO_COOKIE = 0xffff_ffff_ffff_ffffn;

function packetInName(s: OfctlChannel['session']): string {
  if (s.packetInFormat === 'nxt_packet_in2') return 'NXT_PACKET_IN2';
  if (s.packetInFormat === 'nxt_packet_in') return 'NXT_PACKET_IN';
  return 'OFPT_PACKET_IN';
}

function formatPacketIn(m: MessageOf<'packet_in'>, ch: OfctlChannel, xid: number): string {
  let s = title(packetInName(ch.session), ch.session.version, xid);
  if (m.tableId) s += ` table_id=${m.tableId}`;
  if (m.cookie !== NO_COOKIE) s += ` cookie=0x${m.cookie.toString(16)}`;
  s += ` total_len=${m.totalLen} ${formatMatch(m.match)} (via ${m.reason}) data_len=${m.data.length}`;
  s += m.bufferId === 0xffffffff ? ' (unbuffered)' : ` buffer=0x${m.bufferId.toString(16).padStart(8, '0')}`;
  s += '\n';
  if (m.userdata?.length) s += ` userdata=${[...m.userdata].map((b) => b.toString(16).padStart(2, '0')).join('.')}\n`;
  return `${s}${formatPacket(m.data)}\n`;
}

/** The asynchronous messages monitor and snoop print; others by their type. */
function formatAsync(msg: OfMessage, ch: OfctlChannel, xid: number): string {
  const v = ch.session.version;
  switch (msg.type) {
    case 'packet_in':
      return formatPacketIn(msg, ch, xid);
    case 'port_status':
      return `${title('OFPT_PORT_STATUS', v, xid)} ${msg.reason.toUpperCase()}:${formatPortDesc(msg.desc)}`;
    case 'flow_removed':
      return (
        `${title(v === OFP10 && ch.session.flowFormat === 'nxm' ? 'NXT_FLOW_REMOVED' : 'OFPT_FLOW_REMOVED', v, xid)} ${formatMatch(msg.match, msg.priority)} ` +
        `reason=${msg.reason === 'idle_timeout' ? 'idle' : msg.reason === 'hard_timeout' ? 'hard' : msg.reason} ` +
        `${msg.tableId ? `table_id=${msg.tableId} ` : ''}cookie:0x${msg.cookie.toString(16)} duration${formatDuration(msg.durationMs)} ` +
        `idle${msg.idleTimeout} hard${msg.hardTimeout} pkts${msg.packetCount} bytes${msg.byteCount}\n`
      );
    case 'multipart_reply':
      return formatMultipartReply(msg.reply, v, xid);
    case 'flow_monitor_paused':
      return formatFlowMonitorPause('PAUSED', v, xid);
    case 'flow_monitor_resumed':
      return formatFlowMonitorPause('RESUMED', v, xid);
    default:
      return `${title(msg.type.toUpperCase(), v, xid)}\n`;
  }
}

/** Prints what the switch sends until it closes the connection. */
async function watch(ch: OfctlChannel, ctx: CommandContext): Promise<number> {
  ch.onMessage((msg, xid) => ctx.io.out(formatAsync(msg, ch, xid)));
  await ch.closed();
  return 0;
}

/** Flow monitor flags a `watch:` spec turns off with `!NAME`. */
const WATCH_FLAGS: Readonly<Record<string, number>> = { initial: NXFMF.INITIAL, add: NXFMF.ADD, delete: NXFMF.DELETE, modify: NXFMF.MODIFY, actions: NXFMF.ACTIONS, own: NXFMF.OWN };

/**
 * `watch:[SPEC]` as ovs-ofctl parses it (parse_flow_monitor_request): every kind of update, with
 * actions and the connection's own changes in full, less each `!initial`, `!add`, `!delete`,
 * `!modify`, `!actions`, `!own`; `table=N`, `out_port=N` and match fields narrow it.
 */
function parseWatch(spec: string, id: number): FlowMonitorRequest {
  let flags = NXFMF.INITIAL | NXFMF.ADD | NXFMF.DELETE | NXFMF.MODIFY | NXFMF.ACTIONS | NXFMF.OWN;
  const rest: string[] = [];
  for (const word of spec.split(/[\s,]+/).filter(Boolean)) {
    const off = word.startsWith('!') ? WATCH_FLAGS[word.slice(1)] : undefined;
    if (word.startsWith('!') && off === undefined) throw new OfctlError(`${spec}: unknown keyword ${word} (use !initial, !add, !delete, !modify, !actions or !own)`);
    if (off !== undefined) flags &= ~off;
    else rest.push(word);
  }
  const fm = parseFlowMod(rest.join(','), 'delete');
  return { id, command: 'add', flags, outPort: fm.outPort, outGroup: fm.outGroup, tableId: fm.tableId, match: fm.match };
}

const monitor: Command = async (ctx) => {
  const ch = await ctx.open();
  const [, ...args] = ctx.inv.args;
  let monitorId = 0;
  for (const arg of args) {
    if (/^\d+$/.test(arg)) ch.send({ type: 'set_config', flags: 0, missSendLen: Number(arg) });
    else if (arg.startsWith('watch:')) {
      const { reply, xid } = await multipart(ch, { kind: 'flow_monitor', monitors: [parseWatch(arg.slice('watch:'.length), monitorId++)] });
      ctx.io.out(formatMultipartReply(reply, ch.session.version, xid));
    } else throw new OfctlError(`${arg}: unsupported "monitor" argument`);
  }
  // A controller connection is what the switch sends packet-ins to: ask for the most it says.
  ch.send({ type: 'nx_set_packet_in_format', format: 'nxt_packet_in2' });
  await ch.barrier();
  return watch(ch, ctx);
};

const snoop: Command = async (ctx) => watch(await ctx.open(ctx.inv.args[0], 'snoop'), ctx);

/** `packet-out SWITCH "in_port=P packet=HEX actions=A"`, or the older `packet-out SWITCH IN_PORT ACTIONS PACKET...`. */
const packetOut: Command = async (ctx) => {
  const args = ctx.inv.args.slice(1);
  let inPortText: string;
  let actionsText: string;
  let packets: string[];
  if (args.length === 1) {
    const text = args[0]!;
    const m = /^(.*?)(?:^|[\s,])actions=(.*)$/.exec(text);
    if (!m) throw new OfctlError(`"${text}": must specify actions: give in_port=PORT packet=HEX actions=...`);
    const fields = new Map(m[1]!.split(/[\s,]+/).filter(Boolean).map((kv) => kv.split('=', 2) as [string, string]));
    const packet = fields.get('packet');
    if (packet === undefined) throw new OfctlError('packet-out: must specify packet: give packet=HEX (the frame in hex)');
    inPortText = fields.get('in_port') ?? 'CONTROLLER';
    actionsText = m[2]!;
    packets = [packet];
  } else {
    [inPortText, actionsText] = args as [string, string];
    packets = args.slice(2);
  }
  const actions = parseFlowMod(`actions=${actionsText}`).instructions.apply;
  const inPort = await portNumber(ctx, inPortText);
  const msgs: OfMessage[] = packets.map((hex) => {
    const clean = hex.replace(/[\s.:]/g, '');
    if (!/^([0-9a-fA-F]{2})+$/.test(clean)) throw new OfctlError(`${hex}: a packet is the frame's bytes in hex (e.g. ffffffffffff5254...)`);
    return { type: 'packet_out', bufferId: 0xffffffff, inPort, actions, data: Buffer.from(clean, 'hex') };
  });
  const ch = await ctx.open();
  try {
    return (await sendBatch(ch, msgs, ctx.io)) ? 0 : 1;
  } finally {
    ch.close();
  }
};

export const MONITOR_COMMANDS: Readonly<Record<string, Command>> = { monitor, snoop, 'packet-out': packetOut };
