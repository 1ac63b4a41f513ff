#!/usr/bin/env node
// tvsdb-client: command-line access to an OVSDB server, in the manner of ovsdb-client.

import { setLogLevel } from '../lib/log.js';
import { JsonRpcError } from '../lib/jsonrpc.js';
import { OvsdbClient } from '../ovsdb/client.js';
import { OvsdbError } from '../ovsdb/errors.js';
import type { TableUpdates } from '../ovsdb/monitor.js';
import { parseSchema } from '../ovsdb/schema.js';
import { type OutputFormat, formatTable, parseFormat } from '../ovsdb/table-format.js';
import { columnTypeToJSON } from '../ovsdb/types.js';
import { defaultDbSocket } from '../lib/paths.js';
import { UsageError } from '../lib/usage-error.js';
import { TLS_SHORT_OPTIONS, TLS_USAGE, type TlsFiles, takeTlsOption } from '../lib/tls.js';
import { parseTransactionArg } from '../ovsdb/transaction-arg.js';

const DEFAULT_DB = 'Open_vSwitch';

const USAGE = `usage: tvsdb-client [OPTIONS] COMMAND [SERVER] [ARG...]
SERVER is unix:PATH, tcp:IP:PORT or ssl:IP:PORT (default unix:${defaultDbSocket()}, TVS_RUNDIR); DATABASE defaults to ${DEFAULT_DB}.

  list-dbs [SERVER]                         list the databases the server serves
  get-schema [SERVER] [DATABASE]            print DATABASE's schema as JSON
  list-tables [SERVER] [DATABASE]           list DATABASE's tables
  list-columns [SERVER] [DATABASE] [TABLE]  list the columns of TABLE (or of every table)
  dump [SERVER] [DATABASE] [TABLE [COLUMN...]]
                                            print every row of TABLE (or of every table)
  transact [SERVER] TRANSACTION             run TRANSACTION (["DATABASE", OP...]) and print the results
  query [SERVER] TRANSACTION                like transact, but nothing is committed
  monitor [SERVER] [DATABASE] TABLE [COLUMN,...]
                                            print TABLE's rows, then every change to them, until killed

  -f, --format=table|csv|json   output format for tables (default table)
  -v, --verbose[=SPEC]          log more ("dbg", or "module:level,...")
  -h, --help                    show this help

${TLS_USAGE}`;

interface Invocation {
  command: string;
  server: string;
  args: string[];
  format: OutputFormat;
  tls: TlsFiles;
}

function parseArgs(argv: string[]): Invocation {
  let format: OutputFormat = 'table';
  const tls: TlsFiles = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.indexOf('=');
    const short = TLS_SHORT_OPTIONS.includes(a.slice(0, 2)) && a.length > 2;
    const flag = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : short ? a.slice(0, 2) : a;
    const attached = a.startsWith('--') && eq > 0 ? a.slice(eq + 1) : short ? a.slice(2) : undefined;
    const value = (): string => {
      const v = attached ?? argv[++i];
      if (v === undefined) throw new UsageError(`option '${flag}' requires an argument`);
      return v;
    };
    if (takeTlsOption({ word: a, flag, attached, value }, tls)) continue;
    if (a === '-h' || a === '--help') {
      process.stdout.write(USAGE);
      process.exit(0);
    } else if (a.startsWith('--format=')) format = parseFormat(a.slice(9));
    else if (a === '-f' || a === '--format') format = parseFormat(argv[++i] ?? '');
    else if (a === '-v' || a === '--verbose') setLogLevel('dbg');
    else if (a.startsWith('--verbose=')) setLogLevel(a.slice(10));
    else if (a.startsWith('-') && a.length > 1 && !a.startsWith('-[')) throw new UsageError(`unknown option ${a} (see --help)`);
    else positional.push(a);
  }
  const command = positional.shift();
  if (!command) throw new UsageError('missing COMMAND (see --help)');
  const server = positional[0] && /^(unix|tcp|ssl):/.test(positional[0]) ? positional.shift()! : `unix:${defaultDbSocket()}`;
  return { command, server, args: positional, format, tls };
}

function print(s: string): void {
  process.stdout.write(s);
}

/** Takes a leading DATABASE argument if the server serves a database of that name. */
async function takeDb(c: OvsdbClient, args: string[]): Promise<string> {
  if (args.length > 0 && (await c.listDbs()).includes(args[0]!)) return args.shift()!;
  return DEFAULT_DB;
}

async function dump(c: OvsdbClient, inv: Invocation): Promise<void> {
  const db = await takeDb(c, inv.args);
  const schema = parseSchema(await c.getSchema(db));
  const tables = inv.args[0] ? [inv.args[0]] : [...schema.tables.keys()].sort();
  const ops = tables.map((t) => {
    const ts = schema.tables.get(t);
    if (!ts) throw new UsageError(`database ${db} has no table ${t}`);
    const columns = inv.args.length > 1 ? inv.args.slice(1) : ['_uuid', ...ts.columns.map((col) => col.name).sort()];
    return { op: 'select', table: t, where: [], columns };
  });
  const results = (await c.transact(db, ops)) as { rows: Record<string, unknown>[] }[];
  results.forEach((r, i) => {
    const headings = ops[i]!.columns;
    const rows = r.rows.map((row) => headings.map((h) => row[h]));
    const sep = i < results.length - 1 && inv.format === 'table' ? '\n' : '';
    print(formatTable({ caption: `${tables[i]!} table`, headings, rows }, inv.format) + sep);
  });
}

/** Prints version-1 table-updates (whole rows, which is what a change log wants to show). */
function printUpdates(updates: TableUpdates, table: string, columns: string[], initial: boolean, format: OutputFormat): void {
  const rows: unknown[][] = [];
  for (const [uuid, u] of Object.entries(updates[table] ?? {})) {
    const upd = u as { new?: Record<string, unknown>; old?: Record<string, unknown> };
    if (upd.old && upd.new) {
      rows.push([uuid, 'old', ...columns.map((col) => (col in upd.old! ? upd.old![col] : ''))]);
      rows.push(['', 'new', ...columns.map((col) => upd.new![col])]);
    } else {
      rows.push([uuid, initial ? 'initial' : upd.new ? 'insert' : 'delete', ...columns.map((col) => (upd.new ?? upd.old)![col])]);
    }
  }
  if (rows.length === 0) return;
  if (format === 'json') print(JSON.stringify(updates) + '\n');
  else print(formatTable({ headings: ['row', 'action', ...columns], rows }, format) + (format === 'table' ? '\n' : ''));
}

async function monitor(c: OvsdbClient, inv: Invocation): Promise<void> {
  const db = await takeDb(c, inv.args);
  const [table, cols] = inv.args;
  if (!table) throw new UsageError('monitor needs a TABLE');
  const ts = parseSchema(await c.getSchema(db)).tables.get(table);
  if (!ts) throw new UsageError(`database ${db} has no table ${table}`);
  const columns = cols ? cols.split(',') : ts.columns.map((col) => col.name);
  c.on('disconnected', () => {
    process.stderr.write('tvsdb-client: connection to the server lost\n');
    process.exit(1);
  });
  c.on('notification', (method, params) => {
    if (method === 'update' && Array.isArray(params)) printUpdates(params[1] as TableUpdates, table, columns, false, inv.format);
  });
  const initial = (await c.request('monitor', [db, 'tvsdb-client', { [table]: { columns } }])) as TableUpdates;
  printUpdates(initial, table, columns, true, inv.format);
  // Runs until killed (or the server goes away).
  await new Promise<never>(() => undefined);
}

async function run(inv: Invocation): Promise<void> {
  const c = await OvsdbClient.connect(inv.server, { reconnect: false, tls: inv.tls });
  try {
    switch (inv.command) {
      case 'list-dbs':
        print((await c.listDbs()).map((d) => d + '\n').join(''));
        return;
      case 'get-schema':
        print(JSON.stringify(await c.getSchema(inv.args[0] ?? DEFAULT_DB), null, 2) + '\n');
        return;
      case 'list-tables': {
        const s = parseSchema(await c.getSchema(inv.args[0] ?? DEFAULT_DB));
        print(formatTable({ headings: ['Table'], rows: [...s.tables.keys()].sort().map((t) => [t]) }, inv.format));
        return;
      }
      case 'list-columns': {
        const s = parseSchema(await c.getSchema(await takeDb(c, inv.args)));
        const one = inv.args[0];
        const tables = one ? [one] : [...s.tables.keys()].sort();
        const rows: string[][] = [];
        for (const t of tables) {
          const ts = s.tables.get(t);
          if (!ts) throw new UsageError(`database ${s.name} has no table ${t}`);
          for (const col of ts.columns) {
            const type = columnTypeToJSON(col.type);
            rows.push([...(one ? [] : [t]), col.name, typeof type === 'string' ? type : JSON.stringify(type)]);
          }
        }
        print(formatTable({ headings: [...(one ? [] : ['Table']), 'Column', 'Type'], rows }, inv.format));
        return;
      }
      case 'dump':
        return await dump(c, inv);
      case 'transact':
      case 'query': {
        const [db, ...ops] = parseTransactionArg(inv.args[0]);
        // A query ends in "abort": it runs every operation but commits none of them.
        const results = (await c.request('transact', [db, ...ops, ...(inv.command === 'query' ? [{ op: 'abort' }] : [])])) as unknown[];
        print(JSON.stringify(inv.command === 'query' ? results.slice(0, ops.length) : results) + '\n');
        return;
      }
      case 'monitor':
        return await monitor(c, inv);
      default:
        throw new UsageError(`unknown command "${inv.command}" (see --help)`);
    }
  } finally {
    if (inv.command !== 'monitor') c.close();
  }
}

async function main(argv = process.argv.slice(2)): Promise<void> {
  try {
    await run(parseArgs(argv));
  } catch (e) {
    const msg = e instanceof JsonRpcError ? e.message : e instanceof OvsdbError ? `${e.tag}: ${e.details}` : (e as Error).message;
    process.stderr.write(`tvsdb-client: ${msg}\n`);
    process.exit(e instanceof UsageError ? 2 : 1);
  }
}

void main();
