// The state one tvs-vsctl command runs in (OVS's ctl_context + vsctl_context): the transaction,
// the --id symbol table, the Open_vSwitch row, the command's own options, arguments and output,
// and the bridge/port/interface cache that the high-level commands share.

import type { Datum } from '../ovsdb/datum.js';
import type { Atom } from '../ovsdb/types.js';
import { type SymbolTable, VsctlError } from './datum-text.js';
import type { Txn, TxnRow } from './idl.js';
import type { OutTable } from './output.js';

export type Mode = 'RO' | 'RW';

export interface CommandSyntax {
  name: string;
  minArgs: number;
  maxArgs: number;
  arguments: string;
  /** OVS's option list, e.g. "--if-exists,--columns=". */
  options: string;
  mode: Mode;
  /** Checks names against the schema before anything runs (OVS's prerequisites). */
  pre?: (ctx: Context) => void;
  run?: (ctx: Context) => void;
  post?: (ctx: Context, inserted: Map<string, string>) => void;
}

export interface Command {
  syntax: CommandSyntax;
  /** Option name ("--if-exists") to value (undefined when it has none), in the order given. */
  options: Map<string, string | undefined>;
  /** argv[0] is the command name. */
  argv: string[];
  output: string;
  table?: OutTable;
}

export interface VBridge {
  cfg: TxnRow | undefined;
  name: string;
  ports: VPort[];
  children: Map<number, VBridge>;
  parent: VBridge | undefined;
  vlan: number;
}

export interface VPort {
  cfg: TxnRow;
  bridge: VBridge;
  ifaces: VIface[];
}

export interface VIface {
  cfg: TxnRow;
  port: VPort;
}

export interface Cache {
  bridges: Map<string, VBridge>;
  ports: Map<string, VPort>;
  ifaces: Map<string, VIface>;
}

export type Logger = (module: string, level: 'WARN' | 'ERR' | 'INFO', msg: string) => void;

export class Context {
  cache: Cache | undefined;
  verifiedPorts = false;
  /** Set by wait-until when its condition does not hold yet. */
  tryAgain = false;

  constructor(
    readonly txn: Txn,
    readonly symtab: SymbolTable,
    readonly ovs: TxnRow,
    public cmd: Command,
    readonly log: Logger,
  ) {}

  get argv(): string[] {
    return this.cmd.argv;
  }

  option(name: string): string | undefined {
    return this.cmd.options.get(name);
  }

  has(name: string): boolean {
    return this.cmd.options.has(name);
  }

  out(s: string): void {
    this.cmd.output += s;
  }

  invalidateCache(): void {
    this.cache = undefined;
  }
}

export function fatal(msg: string): never {
  throw new VsctlError(msg);
}

/** The single string of a scalar string column ("" when unset). */
export function str(row: TxnRow, column: string): string {
  const d = row.get(column);
  return d.keys.length ? String(d.keys[0]) : '';
}

/** An optional column's single atom, or undefined. */
export function opt(row: TxnRow, column: string): Atom | undefined {
  if (!row.table.columnsByName.has(column)) return undefined;
  const d = row.get(column);
  return d.keys.length === 1 ? d.keys[0] : undefined;
}

export function refs(ctx: Context, row: TxnRow, column: string, table: string): TxnRow[] {
  if (!row.table.columnsByName.has(column)) return [];
  const out: TxnRow[] = [];
  for (const k of row.get(column).keys) {
    const r = ctx.txn.row(table, k as string);
    if (r) out.push(r);
  }
  return out;
}

export function uuidSet(rows: TxnRow[]): Datum {
  const keys = [...new Set(rows.map((r) => r.uuid))].sort();
  return { keys };
}

export function hasColumn(row: TxnRow, column: string): boolean {
  return row.table.columnsByName.has(column);
}
