// tvs-vsctl's driver (ovs-vsctl's main and do_vsctl): parse, connect, monitor the database, run
// every command inside one transaction, commit, retry from a fresh view when a verified value
// changed underneath us, print, and unless --no-wait wait for the switch to catch up (cur_cfg).

import { defaultDbSocket, logDir } from '../lib/paths.js';
import { LongTimeout } from '../lib/timer.js';
import { OvsdbClient } from '../ovsdb/client.js';
import type { Replica } from '../ovsdb/replica.js';
import { type DatabaseSchema, parseSchema } from '../ovsdb/schema.js';
import { type Command, type CommandSyntax, Context, type Logger, fatal } from './context.js';
import { DB_COMMANDS } from './db-commands.js';
import { SymbolTable, VsctlError } from './datum-text.js';
import { helpText } from './help.js';
import { Txn, type TxnStatus, txnStatus } from './idl.js';
import { parseCommands, parseOptions } from './options.js';
import { TablePrinter, defaultStyle } from './output.js';
import { ExitRequest, VSWITCH_COMMANDS } from './vswitch-commands.js';

export const PROGRAM = 'tvs-vsctl';
const DATABASE = 'Open_vSwitch';
const EX_DATAERR = 65;

export interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  env: NodeJS.ProcessEnv;
}

let logSeq = 0;

function logLine(io: Io): Logger {
  return (module, level, msg) => {
    const ts = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    io.stderr(`${ts}|${String(++logSeq).padStart(5, '0')}|${module}|${level}|${msg}\n`);
  };
}

function registry(): Map<string, CommandSyntax> {
  const m = new Map<string, CommandSyntax>();
  for (const c of [...VSWITCH_COMMANDS, ...DB_COMMANDS]) m.set(c.name, c);
  return m;
}

function strerror(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return 'No such file or directory';
    case 'ECONNREFUSED':
      return 'Connection refused';
    case 'EACCES':
      return 'Permission denied';
    case 'ETIMEDOUT':
      return 'Connection timed out';
    case 'EHOSTUNREACH':
      return 'No route to host';
    default:
      return (e as Error).message;
  }
}

function escapeArgs(args: string[]): string {
  return args.map((a) => (a !== '' && !/[^-A-Za-z0-9_./:=@,+%]/.test(a) ? a : `"${a.replace(/(["\\])/g, '\\$1')}"`)).join(' ');
}

class Retry extends Error {}

interface Outcome {
  status: TxnStatus;
  nextCfg?: number;
  newIfaces: string[];
}

/** One attempt at running all commands in one transaction (do_vsctl). Throws Retry to start over. */
async function doVsctl(
  client: OvsdbClient,
  schema: DatabaseSchema,
  replica: Replica,
  commands: Command[],
  args: string,
  wait: boolean,
  dryRun: boolean,
  log: Logger,
): Promise<Outcome> {
  const txn = new Txn(schema, replica);
  txn.comment = `${PROGRAM} (invoked by ${process.title || 'node'} (pid ${process.ppid})): ${args}`;
  const ovs = txn.rowsOf('Open_vSwitch')[0] ?? txn.insert('Open_vSwitch');
  if (wait) txn.increment = { table: 'Open_vSwitch', row: ovs.uuid, column: 'next_cfg' };
  const symtab = new SymbolTable();
  for (const c of commands) {
    c.output = '';
    c.table = undefined;
  }
  const ctx = new Context(txn, symtab, ovs, commands[0]!, log);
  commands.forEach((c) => {
    ctx.cmd = c;
    ctx.verifiedPorts = false;
    c.syntax.run?.(ctx);
    if (ctx.tryAgain) throw new Retry();
  });
  for (const [name, sym] of symtab.symbols) {
    if (!sym.created) fatal(`row id "${name}" is referenced but never created (e.g. with "-- --id=${name} create ...")`);
    if (!sym.strongRef) {
      if (!sym.weakRef) log('vsctl', 'WARN', `row id "${name}" was created but no reference to it was inserted, so it will not actually appear in the database`);
      else log('vsctl', 'WARN', `row id "${name}" was created but only a weak reference to it was inserted, so it will not actually appear in the database`);
    }
  }
  const built = txn.operations();
  let status: TxnStatus;
  if (!built) {
    status = { status: 'unchanged' };
  } else {
    const ops = dryRun ? [...built.ops, { op: 'abort' }] : built.ops;
    const results = (await client.request('transact', [DATABASE, ...ops])) as unknown[];
    status = txnStatus(results, built.inserts, built.incIndex);
    if (dryRun && status.status === 'success') status = { status: 'success', inserted: new Map() };
  }
  if (status.status === 'success' || status.status === 'unchanged') {
    const inserted = status.status === 'success' ? status.inserted : new Map<string, string>();
    for (const c of commands) {
      if (c.syntax.post) {
        ctx.cmd = c;
        c.syntax.post(ctx, inserted);
      }
    }
  }
  if (status.status === 'error') {
    log('ovsdb_idl', 'WARN', `transaction error: ${status.error}`);
    fatal(`transaction error: ${status.error}`);
  }
  if (status.status === 'try-again') throw new Retry();
  const newIfaces = txn.rowsOf('Interface').filter((r) => r.inserted);
  return {
    status,
    nextCfg: status.status === 'success' ? status.nextCfg : undefined,
    newIfaces: newIfaces.map((r) => r.uuid),
  };
}

function nextUpdate(replica: Replica, client: OvsdbClient): Promise<void> {
  return new Promise((resolve, reject) => {
    const onUpdate = (): void => {
      client.removeListener('disconnected', onClose);
      resolve();
    };
    const onClose = (): void => {
      replica.removeListener('update', onUpdate);
      reject(new Error('connection closed'));
    };
    replica.once('update', onUpdate);
    client.once('disconnected', onClose);
  });
}

/** Runs tvs-vsctl with `argv` (without the node and script paths); resolves to the exit status. */
export async function vsctlMain(argv: string[], io: Io, onAlarm: () => void): Promise<number> {
  const log = logLine(io);
  const style = defaultStyle();
  const reg = registry();
  const defaultDb = io.env.TVS_DB || `unix:${defaultDbSocket(io.env)}`;
  let client: OvsdbClient | undefined;
  let alarm: LongTimeout | undefined;
  try {
    const { opts, locals, rest } = parseOptions(argv, reg.values(), defaultDb, style);
    if (opts.help) {
      io.stdout(helpText(defaultDb));
      return 0;
    }
    if (opts.listCommands || opts.listOptions || opts.version) {
      if (opts.listCommands) for (const c of reg.values()) io.stdout(`${c.name}${c.options ? `,${c.options}` : ''}\n`);
      if (opts.version || opts.listCommands || opts.listOptions) io.stdout(`${PROGRAM} (TVS) 0.1.0\nDB Schema 8.3.1\n`);
      return 0;
    }
    const commands = parseCommands(rest, locals, reg);
    // Up to 2^32-1 seconds, as ovs-vsctl takes: far beyond what setTimeout holds.
    if (opts.timeout > 0) alarm = new LongTimeout(onAlarm, opts.timeout * 1000);

    for (;;) {
      try {
        client = await OvsdbClient.connect(opts.db, { reconnect: false, probeIntervalMs: 0, tls: opts.tls });
        break;
      } catch (e) {
        if (e instanceof VsctlError) throw e;
        if (!opts.retry) fatal(`${opts.db}: database connection failed (${strerror(e)})`);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    const schema = parseSchema(await client.getSchema(DATABASE));
    const tables: Record<string, object> = {};
    for (const t of schema.tables.keys()) tables[t] = {};
    const replica = await client.monitor(DATABASE, tables);

    // Prerequisites: name checks that OVS makes before touching the database.
    {
      const txn = new Txn(schema, replica);
      const ovs = txn.rowsOf('Open_vSwitch')[0] ?? txn.insert('Open_vSwitch');
      const ctx = new Context(txn, new SymbolTable(), ovs, commands[0]!, log);
      for (const c of commands) {
        ctx.cmd = c;
        c.syntax.pre?.(ctx);
      }
    }

    const args = escapeArgs([PROGRAM, ...argv]);
    // Like OVS's IDL seqno: retry at once if the database changed since the attempt began,
    // otherwise wait for it to change (another client's commit is what made us fail).
    let seqno = 0;
    replica.on('update', () => seqno++);
    let outcome: Outcome;
    for (;;) {
      const attempt = seqno;
      try {
        outcome = await doVsctl(client, schema, replica, commands, args, opts.wait, opts.dryRun, log);
        break;
      } catch (e) {
        if (!(e instanceof Retry)) throw e;
        if (seqno === attempt) await nextUpdate(replica, client);
      }
    }

    const printer = new TablePrinter(style);
    for (const c of commands) {
      if (c.table) io.stdout(printer.format(c.table));
      else if (opts.oneline) io.stdout(`${c.output.replace(/\n$/, '').replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n`);
      else io.stdout(c.output);
    }

    if (opts.wait && outcome.status.status !== 'unchanged' && outcome.nextCfg !== undefined) {
      const next = outcome.nextCfg;
      const done = (): boolean => replica.rows('Open_vSwitch').some((r) => Number(r.get('cur_cfg').keys[0] ?? 0) >= next);
      while (!done()) await nextUpdate(replica, client);
      let failed = false;
      for (const u of outcome.newIfaces) {
        // Our inserted rows got real uuids: find them by the uuid the server assigned.
        const real = outcome.status.status === 'success' ? (outcome.status.inserted.get(u) ?? u) : u;
        const row = replica.row('Interface', real);
        if (!row) continue;
        const ofport = row.columns.has('ofport') ? row.get('ofport').keys[0] : undefined;
        if (ofport === undefined || ofport === -1) {
          const name = String(row.get('name').keys[0] ?? '');
          const err = row.columns.has('error') ? row.get('error').keys[0] : undefined;
          if (typeof err === 'string' && err) {
            io.stderr(`${PROGRAM}: Error detected while setting up '${name}': ${err}.  See tvs-vswitchd log for details.\n`);
          } else {
            io.stderr(`${PROGRAM}: Error detected while setting up '${name}'.  See tvs-vswitchd log for details.\n`);
          }
          failed = true;
        }
      }
      if (failed) {
        io.stderr(`${PROGRAM}: The default log directory is "${logDir(io.env)}".\n`);
        return EX_DATAERR;
      }
    }
    return 0;
  } catch (e) {
    if (e instanceof ExitRequest) return e.status;
    if (e instanceof VsctlError) {
      io.stderr(`${PROGRAM}: ${e.message}\n`);
      return 1;
    }
    io.stderr(`${PROGRAM}: ${(e as Error).message}\n`);
    return 1;
  } finally {
    alarm?.clear();
    client?.close();
  }
}
