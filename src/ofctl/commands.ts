/**
 * tvs-ofctl's commands about the switch, its ports, groups and meters, each as ovs-ofctl's
 * (utilities/ovs-ofctl.c) does it: the same requests, and the replies printed the same way.
 * The flow commands are in ./flow-commands.ts.
 */
import { randomBytes } from 'node:crypto';
import { OFP10, OFP13, OFP14, type MultipartRequest, type OfMessage } from '../openflow/messages.js';
import { parseGroupMod } from '../openflow/flow-syntax.js';
import { parseMeterId, parseMeterMod } from '../openflow/meter-syntax.js';
import { OFPG, OFPP } from '../ofproto/actions.js';
import { RemoteError, type OfctlChannel } from './channel.js';
import { formatRemoteError } from './print-errors.js';
import { formatFeaturesReply, formatGetConfigReply, formatPortDescReply, formatQueueConfigReply } from './print-ports.js';
import { formatMultipartReply } from './print-reply.js';
import { formatTableFeatures } from './print-tables.js';
import { OfctlError, fetchPorts, findPort, multipart, portNumber, sendBatch, sendChanges, withSwitch, type CommandContext } from './session.js';

export type Command = (ctx: CommandContext) => Promise<number>;

/** Every queue of a port (OFPQ_ALL). */
const OFPQ_ALL = 0xffffffff;


/** A multipart request, its reply printed as ovs-ofctl prints it. */
function dumpCommand(request: (ctx: CommandContext) => Promise<MultipartRequest> | MultipartRequest): Command {
  return async (ctx) => {
    const req = await request(ctx);
    return withSwitch(ctx, async (ch) => {
      const { reply, xid } = await multipart(ch, req);
      ctx.io.out(formatMultipartReply(reply, ch.session.version, xid));
      return 0;
    });
  };
}

/** A request that needs OpenFlow `version` or later, refused before it is sent as ovs-ofctl refuses it. */
function needsVersion(ch: OfctlChannel, command: string, version: number): void {
  if (ch.session.version < version) {
    const name = `OpenFlow1${version - 1}`;
    throw new OfctlError(`${command} needs OpenFlow 1.${version - 1} or later ('-O ${name}')`);
  }
}

/** dump-table-desc and dump-group-features: a dump that older versions cannot ask for. */
function versionedDump(command: string, version: number, req: MultipartRequest): Command {
  return (ctx) =>
    withSwitch(ctx, async (ch) => {
      needsVersion(ch, command, version);
      const { reply, xid } = await multipart(ch, req);
      ctx.io.out(formatMultipartReply(reply, ch.session.version, xid));
      return 0;
    });
}

/**
 * dump-table-features prints the tables without a title, folded across the reply's parts as
 * ovs-ofctl's own loop folds them (ofctl_dump_table_features).
 */
const dumpTableFeatures: Command = (ctx) =>
  withSwitch(ctx, async (ch) => {
    needsVersion(ch, 'dump-table-features', OFP13);
    const { reply } = await multipart(ch, { kind: 'table_features' });
    if (reply.kind === 'table_features') ctx.io.out(`${formatTableFeatures(reply.tables).replace(/^\n/, '')}\n`);
    return 0;
  });

/**
 * One port's (or every port's) queues: OFPT_QUEUE_GET_CONFIG before OpenFlow 1.4, which asks for
 * all of a port's queues, OFPMP_QUEUE_DESC from 1.4, which may name one. A refusal is printed as
 * the reply is, and the command still succeeds (ovs-ofctl's dump_transaction).
 */
async function queueConfig(ctx: CommandContext, ch: OfctlChannel, portNo: number, queueId: number): Promise<void> {
  const v = ch.session.version;
  const msg: OfMessage = v >= OFP14 ? { type: 'multipart_request', request: { kind: 'queue_desc', portNo, queueId } } : { type: 'queue_get_config_request', portNo };
  try {
    const { reply, xid } = await ch.transact(msg);
    if (reply.type === 'queue_get_config_reply') ctx.io.out(formatQueueConfigReply('OFPT_QUEUE_GET_CONFIG_REPLY', reply.queues, v, xid));
    else if (reply.type === 'multipart_reply') ctx.io.out(formatMultipartReply(reply.reply, v, xid));
  } catch (e) {
    if (!(e instanceof RemoteError)) throw e;
    ctx.io.out(formatRemoteError(e));
  }
}

/** queue-get-config SWITCH [PORT [QUEUE]]: OpenFlow 1.0 asks port by port (on a second connection, as ovs-ofctl does). */
const queueGetConfig: Command = async (ctx) => {
  const [, portText, queueText] = ctx.inv.args;
  const portNo = portText === undefined ? OFPP.ANY : await portNumber(ctx, portText);
  const queueId = queueText === undefined || queueText.toLowerCase() === 'all' ? OFPQ_ALL : Number.parseInt(queueText, 10) || 0;
  return withSwitch(ctx, async (ch) => {
    if (portNo !== OFPP.ANY || ch.session.version !== OFP10) {
      await queueConfig(ctx, ch, portNo, queueId);
      return 0;
    }
    const ports = (await fetchPorts(ch)).filter((p) => p.portNo < OFPP.MAX);
    await withSwitch(ctx, async (second) => {
      for (const p of ports) await queueConfig(ctx, second, p.portNo, queueId);
      return 0;
    });
    return 0;
  });
};

const show: Command = async (ctx) => {
  await withSwitch(ctx, async (ch) => {
    const { reply, xid } = await ch.transact({ type: 'features_request' });
    if (reply.type !== 'features_reply') throw new OfctlError(`${ctx.inv.args[0]!}: bad reply to features request`);
    ctx.io.out(formatFeaturesReply(reply, ch.session.version, xid));
    // From OpenFlow 1.3 on, the features reply carries no ports.
    if (ch.session.version >= OFP13) {
      const desc = await multipart(ch, { kind: 'port_desc' });
      if (desc.reply.kind === 'port_desc') ctx.io.out(formatPortDescReply(desc.reply.ports, ch.session.version, desc.xid));
    }
    return 0;
  });
  // ovs-ofctl asks for the switch config on a connection of its own.
  return withSwitch(ctx, async (ch) => {
    const { reply, xid } = await ch.transact({ type: 'get_config_request' });
    if (reply.type !== 'get_config_reply') throw new OfctlError(`${ctx.inv.args[0]!}: bad reply to config request`);
    ctx.io.out(formatGetConfigReply(reply, ch.session.version, xid));
    return 0;
  });
};

/** mod-port's actions: the config bit each one sets or clears (`no-` or `no` inverts). */
const PORT_MOD_FLAGS: ReadonlyArray<readonly [name: string, bit: number, on: boolean]> = [
  ['up', 0x1, false],
  ['down', 0x1, true],
  ['stp', 0x2, false],
  ['receive', 0x4, false],
  ['receive-stp', 0x8, false],
  ['flood', 0x10, false],
  ['forward', 0x20, false],
  ['packet-in', 0x40, false],
];

const modPort: Command = async (ctx) => {
  const [, portText, action] = ctx.inv.args as [string, string, string];
  const port = await findPort(ctx, portText);
  const lower = action.toLowerCase();
  const not = lower.startsWith('no');
  const word = lower.startsWith('no-') ? lower.slice(3) : not ? lower.slice(2) : lower;
  const flag = PORT_MOD_FLAGS.find(([name]) => name === word);
  if (!flag) throw new OfctlError(`unknown mod-port command '${action}'`);
  const [, bit, on] = flag;
  const config = on !== not ? bit : 0;
  return withSwitch(ctx, async (ch) => {
    const ok = await sendBatch(ch, [{ type: 'port_mod', portNo: port.portNo, hwAddr: port.hwAddr, config, mask: bit, advertise: 0 }], ctx.io);
    return ok ? 0 : 1;
  });
};

const probe: Command = (ctx) =>
  withSwitch(ctx, async (ch) => {
    const { reply } = await ch.transact({ type: 'echo_request', data: Buffer.alloc(0) });
    if (reply.type !== 'echo_reply' || reply.data.length !== 0) throw new OfctlError('reply does not match request');
    return 0;
  });

const MAX_PING_PAYLOAD = 65535 - 8;

const ping: Command = async (ctx) => {
  const [target, payloadText] = ctx.inv.args as [string, string | undefined];
  const payload = payloadText === undefined ? 64 : Number.parseInt(payloadText, 10) || 0;
  if (payload > MAX_PING_PAYLOAD) throw new OfctlError(`payload must be between 0 and ${MAX_PING_PAYLOAD} bytes`);
  return withSwitch(ctx, async (ch) => {
    for (let i = 0; i < 10; i++) {
      const data = randomBytes(payload);
      const start = process.hrtime.bigint();
      const { reply, xid } = await ch.transact({ type: 'echo_request', data });
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (reply.type !== 'echo_reply' || !reply.data.equals(data)) ctx.io.out('Reply does not match request.\n');
      const size = reply.type === 'echo_reply' ? reply.data.length : 0;
      ctx.io.out(`${size} bytes from ${target}: xid=${xid.toString(16).padStart(8, '0')} time=${ms.toFixed(1)} ms\n`);
    }
    return 0;
  });
};

/** The group id argument of dump-groups, dump-group-stats (`[group_id=]ID`, `all`). */
function groupIdArg(text: string | undefined): number {
  if (text === undefined) return OFPG.ALL;
  const v = text.replace(/^group_id=/, '');
  if (v.toLowerCase() === 'all') return OFPG.ALL;
  if (!/^\d+$/.test(v)) throw new OfctlError(`invalid group id ${v}`);
  return Number(v);
}

/** add-group, mod-group: the group from the command line, or every group in a file (add-groups). */
function groupModCommand(command: 'add' | 'modify', fromFile: boolean): Command {
  return async (ctx) => {
    const text = ctx.inv.args[1];
    if (text === undefined) throw new OfctlError(`${command === 'add' ? 'add-group' : 'mod-group'}: a group is required: give group_id=ID,type=...,bucket=...`);
    const lines = fromFile ? ctx.readFile(text).split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')) : [text];
    const mods = lines.map((l) => ({ type: 'group_mod' as const, mod: parseGroupMod(l, command) }));
    return withSwitch(ctx, (ch) => sendChanges(ctx, ch, mods));
  };
}

const delGroups: Command = async (ctx) => {
  const groupId = groupIdArg(ctx.inv.args[1]);
  return withSwitch(ctx, async (ch) => {
    return sendChanges(ctx, ch, [{ type: 'group_mod', mod: { command: 'delete', groupId, type: 'all', buckets: [] } }]);
  });
};

/** add-meter, mod-meter: the meter from the command line. */
function meterModCommand(command: 'add' | 'modify'): Command {
  return async (ctx) => {
    const mod = parseMeterMod(ctx.inv.args[1]!, command);
    return withSwitch(ctx, async (ch) => ((await sendBatch(ch, [{ type: 'meter_mod', mod }], ctx.io)) ? 0 : 1));
  };
}

const delMeters: Command = async (ctx) => {
  const meterId = parseMeterId(ctx.inv.args[1] ?? '');
  return withSwitch(ctx, async (ch) => {
    const ok = await sendBatch(ch, [{ type: 'meter_mod', mod: { command: 'delete', meterId, flags: {}, bands: [] } }], ctx.io);
    return ok ? 0 : 1;
  });
};

/** Groups exist from OpenFlow 1.1 on; on 1.0 OVS offers them as a Nicira extension. */
export const SWITCH_COMMANDS: Readonly<Record<string, Command>> = {
  show,
  'dump-desc': dumpCommand(() => ({ kind: 'desc' })),
  'dump-tables': dumpCommand(() => ({ kind: 'table' })),
  'dump-table-features': dumpTableFeatures,
  'dump-table-desc': versionedDump('dump-table-desc', OFP14, { kind: 'table_desc' }),
  'dump-ports': dumpCommand(async (ctx) => ({ kind: 'port', portNo: ctx.inv.args[1] === undefined ? OFPP.ANY : await portNumber(ctx, ctx.inv.args[1]) })),
  'dump-ports-desc': dumpCommand(() => ({ kind: 'port_desc' })),
  'queue-stats': dumpCommand(async (ctx) => {
    const [, port, queue] = ctx.inv.args;
    return {
      kind: 'queue',
      portNo: port === undefined || port.toUpperCase() === 'ALL' ? OFPP.ANY : await portNumber(ctx, port),
      queueId: queue === undefined || queue.toUpperCase() === 'ALL' ? OFPQ_ALL : Number(queue),
    };
  }),
  'queue-get-config': queueGetConfig,
  'mod-port': modPort,
  probe,
  ping,
  'add-group': groupModCommand('add', false),
  'add-groups': groupModCommand('add', true),
  'mod-group': groupModCommand('modify', false),
  'del-groups': delGroups,
  // dump-groups asks for every group; a group id argument is checked and, as in OVS 3.1, shows them all.
  'dump-groups': dumpCommand((ctx) => {
    groupIdArg(ctx.inv.args[1]);
    return { kind: 'group_desc' };
  }),
  'dump-group-stats': dumpCommand((ctx) => ({ kind: 'group', groupId: groupIdArg(ctx.inv.args[1]) })),
  'dump-group-features': dumpCommand(() => ({ kind: 'group_features' })),
  // Meters exist from OpenFlow 1.3 on: give -O OpenFlow13, as with ovs-ofctl.
  'add-meter': meterModCommand('add'),
  'mod-meter': meterModCommand('modify'),
  'del-meter': delMeters,
  'del-meters': delMeters,
  'dump-meter': dumpCommand((ctx) => ({ kind: 'meter_config', meterId: parseMeterId(ctx.inv.args[1] ?? '') })),
  'dump-meters': dumpCommand((ctx) => ({ kind: 'meter_config', meterId: parseMeterId(ctx.inv.args[1] ?? '') })),
  'meter-stats': dumpCommand((ctx) => ({ kind: 'meter', meterId: parseMeterId(ctx.inv.args[1] ?? '') })),
};
