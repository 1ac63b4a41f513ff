// The generic database commands ovs-vsctl shares with the other *ctl tools (lib/db-ctl-base.c):
// list, find, get, set, add, remove, clear, create, destroy, wait-until, comment and show; table
// and column names by unique case-insensitive prefix, records by uuid, name, "." or a referring
// row's name (Controller via its Bridge), values in OVS's syntax.

import { type Datum, datumEquals, defaultDatum } from '../ovsdb/datum.js';
import type { ColumnSchema, DatabaseSchema, TableSchema } from '../ovsdb/schema.js';
import { type ColumnType, UUID_RE, compareAtoms } from '../ovsdb/types.js';
import { type CommandSyntax, type Context, fatal } from './context.js';
import {
  VsctlError,
  atomFromString,
  atomToString,
  datumCompare,
  datumExcludesAll,
  datumFromString,
  datumIncludesAll,
  datumSubtract,
  datumToString,
  datumUnion,
  parseToken,
} from './datum-text.js';
import type { TxnRow } from './idl.js';
import { type Cell, OutTable } from './output.js';

/** How records of a table may be named besides their uuid (ovs-vsctl's ctl_table_class row_ids). */
interface RowId {
  /** The table holding the name column. */
  table: string;
  nameColumn: string;
  /** When set, the named row's column that refers to the wanted row. */
  uuidColumn?: string;
}

const ROW_IDS: Record<string, RowId> = {
  Bridge: { table: 'Bridge', nameColumn: 'name' },
  Controller: { table: 'Bridge', nameColumn: 'name', uuidColumn: 'controller' },
  Interface: { table: 'Interface', nameColumn: 'name' },
  Mirror: { table: 'Mirror', nameColumn: 'name' },
  Manager: { table: 'Manager', nameColumn: 'target' },
  NetFlow: { table: 'Bridge', nameColumn: 'name', uuidColumn: 'netflow' },
  Port: { table: 'Port', nameColumn: 'name' },
  QoS: { table: 'Port', nameColumn: 'name', uuidColumn: 'qos' },
  sFlow: { table: 'Bridge', nameColumn: 'name', uuidColumn: 'sflow' },
  Flow_Table: { table: 'Flow_Table', nameColumn: 'name' },
  IPFIX: { table: 'Bridge', nameColumn: 'name', uuidColumn: 'ipfix' },
  AutoAttach: { table: 'Bridge', nameColumn: 'name', uuidColumn: 'auto_attach' },
  Flow_Sample_Collector_Set: { table: 'Flow_Sample_Collector_Set', nameColumn: 'id' },
};

const norm = (c: string | undefined): string | undefined => (c === '-' ? '_' : c?.toLowerCase());

/** score_partial_match: how well user input `s` matches `name` (0 = not at all). */
function scorePartialMatch(name: string, s: string): number {
  if (name === s) return Number.MAX_SAFE_INTEGER;
  let score = 0;
  for (;; score++) {
    const a = name[score];
    const b = s[score];
    if (norm(a) !== norm(b)) break;
    if (a === undefined) return Number.MAX_SAFE_INTEGER - 1;
  }
  return score === s.length ? score : 0;
}

function bestMatch<T extends { name: string }>(items: Iterable<T>, s: string): T[] {
  let best = 0;
  let matches: T[] = [];
  for (const it of items) {
    const score = scorePartialMatch(it.name, s);
    if (score && score >= best) {
      if (score > best) matches = [];
      matches.push(it);
      best = score;
    }
  }
  return matches;
}

/** Sorted as OVS's sset_join prints (sset iterates in hash order; sorting keeps ours stable). */
function joinNames(items: { name: string }[]): string {
  return items
    .map((i) => i.name)
    .sort()
    .join(', ');
}

function getTable(schema: DatabaseSchema, name: string): TableSchema {
  const m = bestMatch(schema.tables.values(), name);
  if (m.length === 0) fatal(`unknown table "${name}"`);
  if (m.length > 1) fatal(`"${name}" matches multiple table names: ${joinNames(m)}`);
  return m[0]!;
}

function getColumn(table: TableSchema, name: string): ColumnSchema {
  const m = bestMatch(
    table.columns.filter((c) => !c.name.startsWith('_')),
    name,
  );
  if (m.length === 0) fatal(`${table.name} does not contain a column whose name matches "${name}"`);
  if (m.length > 1) fatal(`${table.name} contains more than one column whose name matches "${name}": ${joinNames(m)}`);
  return m[0]!;
}

function recordIdEquals(type: ColumnType['key'], name: unknown, id: string): boolean {
  if (type.type === 'string') {
    const s = name as string;
    if (s === id) return true;
    return id.length >= 4 && UUID_RE.test(s) && s.startsWith(id);
  }
  if (type.type === 'uuid') return UUID_RE.test(id) && id.toLowerCase() === name;
  return name === Number.parseInt(id, 10);
}

function getRowById(ctx: Context, table: TableSchema, id: RowId, recordId: string): TxnRow | undefined | 'multiple' {
  const idTable = ctx.txn.schema.tables.get(id.table);
  const nameCol = idTable?.columnsByName.get(id.nameColumn);
  if (!idTable || !nameCol) return undefined;
  if (id.uuidColumn && !idTable.columnsByName.has(id.uuidColumn)) return undefined;
  if (nameCol.type.key.type === 'integer' && !/^\d+$/.test(recordId)) return undefined;
  let referrer: TxnRow | undefined;
  for (const row of ctx.txn.rowsOf(idTable.name)) {
    const d = row.get(nameCol.name);
    if (d.keys.length !== 1) continue;
    if (recordIdEquals(nameCol.type.key, d.keys[0], recordId)) {
      if (referrer) return 'multiple';
      referrer = row;
    }
  }
  if (!referrer) return undefined;
  if (!id.uuidColumn) return referrer;
  ctx.txn.verify(referrer, id.uuidColumn);
  const u = referrer.get(id.uuidColumn);
  return u.keys.length === 1 ? ctx.txn.row(table.name, u.keys[0] as string) : undefined;
}

/** ctl_get_row. */
function getRow(ctx: Context, table: TableSchema, recordId: string, mustExist: boolean): TxnRow | undefined {
  let row: TxnRow | undefined;
  if (UUID_RE.test(recordId)) row = ctx.txn.row(table.name, recordId.toLowerCase());
  if (!row && recordId === '.') {
    const rows = ctx.txn.rowsOf(table.name);
    if (rows.length === 1) row = rows[0];
  }
  if (!row) {
    const id = ROW_IDS[table.name];
    if (id) {
      const r = getRowById(ctx, table, id, recordId);
      if (r === 'multiple') fatal(`multiple rows in ${id.table} match "${recordId}"`);
      row = r;
    }
  }
  if (!row && partialUuidLength(recordId) >= 4) {
    for (const r of ctx.txn.rowsOf(table.name)) {
      if (r.uuid.startsWith(recordId.toLowerCase())) {
        if (!row) row = r;
        else fatal(`${table.name} contains 2 or more rows whose UUIDs begin with ${recordId}: at least ${row.uuid} and ${r.uuid}`);
      }
    }
  }
  if (mustExist && !row) fatal(`no row "${recordId}" in table ${table.name}`);
  return row;
}

/** uuid_is_partial_string: the length of a leading uuid fragment, or 0. */
function partialUuidLength(s: string): number {
  const tmpl = 'xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx';
  let i = 0;
  for (; i < s.length && i < tmpl.length; i++) {
    const c = s[i]!;
    if (tmpl[i] === '-' ? c !== '-' : !/[0-9a-fA-F]/.test(c)) return 0;
  }
  return i === s.length ? i : 0;
}

interface ColumnKeyValue {
  column: ColumnSchema;
  key: string | undefined;
  op: number;
  value: string | undefined;
}

function missingOperator(arg: string, ops: string[]): string {
  let s = `${arg}: argument does not end in "${ops[0]!}"`;
  if (ops.length === 2) s += ` or "${ops[1]!}"`;
  else if (ops.length > 2) s += `${ops.slice(1, -1).map((o) => `, "${o}"`).join('')}, or "${ops[ops.length - 1]!}"`;
  return `${s} followed by a value.`;
}

/** parse_column_key_value. `ops` undefined: no value expected; [] means just "=". */
function parseColumnKeyValue(arg: string, table: TableSchema, ops: string[] | undefined): ColumnKeyValue {
  let p = 0;
  const c = parseToken(arg, p);
  p = c.pos;
  if (c.token === '') fatal(`${arg}: missing column name`);
  const column = getColumn(table, c.token);
  let key: string | undefined;
  if (arg[p] === ':') {
    const k = parseToken(arg, p + 1);
    key = k.token;
    p = k.pos;
  }
  if (ops) {
    const allowed = ops.length ? ops : ['='];
    let best = -1;
    let bestLen = 0;
    allowed.forEach((op, i) => {
      if (op.length > bestLen && arg.startsWith(op, p) && arg.length > p + op.length) {
        best = i;
        bestLen = op.length;
      }
    });
    if (best < 0) fatal(missingOperator(arg, allowed));
    return { column, key, op: best, value: arg.slice(p + bestLen) };
  }
  if (p < arg.length) fatal(`${arg}: trailing garbage "${arg.slice(p)}" in argument`);
  return { column, key, op: -1, value: undefined };
}

/** Column name check at prerequisite time (pre_parse_column_key_value). */
function preColumn(table: TableSchema, arg: string): void {
  const c = parseToken(arg, 0);
  if (c.token === '') fatal(`${arg}: missing column name`);
  getColumn(table, c.token);
}

function checkMutable(row: TxnRow, column: ColumnSchema): void {
  if (!column.mutable && !row.inserted) fatal(`cannot modify read-only column ${column.name} in table ${row.table.name}`);
}

/** set_column: COLUMN[:KEY]=VALUE on `row`. */
export function setColumn(ctx: Context, table: TableSchema, row: TxnRow, arg: string): void {
  const { column, key, value } = parseColumnKeyValue(arg, table, []);
  if (value === undefined) fatal(`${arg}: missing value`);
  checkMutable(row, column);
  const type = column.type;
  if (key !== undefined) {
    if (!type.value) fatal(`cannot specify key to set for non-map column ${column.name}`);
    const k = atomFromString(type.key, key, ctx.symtab);
    const v = atomFromString(type.value, value, ctx.symtab);
    // ovsdb_datum_union keeps existing keys, so put the new pair first: OVS's add_unsafe + union does.
    const merged = datumUnion(type, { keys: [k], values: [v] }, row.get(column.name));
    ctx.txn.verify(row, column.name);
    ctx.txn.write(row, column.name, merged);
  } else {
    ctx.txn.write(row, column.name, datumFromString(type, value, ctx.symtab));
  }
}

function cellOf(row: TxnRow, column: ColumnSchema | undefined): Cell {
  if (!column) return { type: { key: { type: 'uuid' }, min: 1, max: 1 }, datum: { keys: [row.uuid] } };
  return { type: column.type, datum: row.get(column.name) };
}

function parseColumnNames(table: TableSchema, names: string | undefined): (ColumnSchema | undefined)[] {
  if (names === undefined) {
    // OVS lists columns in its IDL's order, which is alphabetical.
    const cols = table.columns.filter((c) => !c.name.startsWith('_')).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return [undefined, ...cols];
  }
  const cols = names
    .split(/[, ]/)
    .filter((s) => s !== '')
    .map((n) => (n.toLowerCase() === '_uuid' ? undefined : getColumn(table, n)));
  if (cols.length === 0) fatal('must specify at least one column name');
  return cols;
}

function makeTable(cols: (ColumnSchema | undefined)[]): OutTable {
  return new OutTable(cols.map((c) => c?.name ?? '_uuid'));
}

function listRecord(t: OutTable, row: TxnRow, cols: (ColumnSchema | undefined)[]): void {
  t.rows.push(cols.map((c) => cellOf(row, c)));
}

function tableArg(ctx: Context): TableSchema {
  return getTable(ctx.txn.schema, ctx.argv[1]!);
}

function preList(ctx: Context): void {
  const t = tableArg(ctx);
  parseColumnNames(t, ctx.option('--columns'));
}

function cmdList(ctx: Context): void {
  const table = tableArg(ctx);
  const mustExist = !ctx.has('--if-exists');
  const cols = parseColumnNames(table, ctx.option('--columns'));
  const out = (ctx.cmd.table = makeTable(cols));
  if (ctx.argv.length > 2) {
    for (const id of ctx.argv.slice(2)) {
      const row = getRow(ctx, table, id, mustExist);
      if (row) listRecord(out, row, cols);
    }
  } else {
    for (const row of ctx.txn.rowsOf(table.name)) listRecord(out, row, cols);
  }
}

const RELOPS = ['=', '!=', '<', '>', '<=', '>=', '{=}', '{!=}', '{<}', '{>}', '{<=}', '{>=}', '{in}', '{not-in}'];

function evaluateRelop(a: Datum, b: Datum, op: string): boolean {
  switch (op) {
    case '=':
    case '{=}':
      return datumCompare(a, b) === 0;
    case '!=':
    case '{!=}':
      return datumCompare(a, b) !== 0;
    case '<':
      return datumCompare(a, b) < 0;
    case '>':
      return datumCompare(a, b) > 0;
    case '<=':
      return datumCompare(a, b) <= 0;
    case '>=':
      return datumCompare(a, b) >= 0;
    case '{<}':
      return b.keys.length > a.keys.length && datumIncludesAll(b, a);
    case '{>}':
      return a.keys.length > b.keys.length && datumIncludesAll(a, b);
    case '{<=}':
    case '{in}':
      return datumIncludesAll(b, a);
    case '{>=}':
      return datumIncludesAll(a, b);
    case '{not-in}':
      return datumExcludesAll(b, a);
  }
  return false;
}

/** check_condition: COLUMN[:KEY]OPVALUE against `row`. */
function checkCondition(ctx: Context, table: TableSchema, row: TxnRow, arg: string): boolean {
  const { column, key, op, value } = parseColumnKeyValue(arg, table, RELOPS);
  if (value === undefined) fatal(`${arg}: missing value`);
  const relop = RELOPS[op]!;
  const have = row.get(column.name);
  if (key !== undefined) {
    if (!column.type.value) fatal(`cannot specify key to check for non-map column ${column.name}`);
    const wantKey = atomFromString(column.type.key, key, ctx.symtab);
    const vtype: ColumnType = { key: column.type.value, min: column.type.min, max: Infinity };
    const b = datumFromString(vtype, value, ctx.symtab);
    const idx = have.keys.findIndex((k) => compareAtoms(k, wantKey) === 0);
    const isSetOp = relop.startsWith('{');
    if (idx < 0 && !isSetOp) return false;
    const a: Datum = idx >= 0 ? { keys: [have.values![idx]!] } : { keys: [] };
    return evaluateRelop(a, b, relop);
  }
  const want = datumFromString(column.type, value, ctx.symtab);
  return evaluateRelop(have, want, relop);
}

function preFind(ctx: Context): void {
  const t = tableArg(ctx);
  parseColumnNames(t, ctx.option('--columns'));
  for (const a of ctx.argv.slice(2)) preColumn(t, a);
}

function cmdFind(ctx: Context): void {
  const table = tableArg(ctx);
  const cols = parseColumnNames(table, ctx.option('--columns'));
  const out = (ctx.cmd.table = makeTable(cols));
  for (const row of ctx.txn.rowsOf(table.name)) {
    if (ctx.argv.slice(2).every((a) => checkCondition(ctx, table, row, a))) listRecord(out, row, cols);
  }
}

function preGet(ctx: Context): void {
  const t = tableArg(ctx);
  for (const a of ctx.argv.slice(3)) if (a.toLowerCase() !== '_uuid' && a.toLowerCase() !== '-uuid') preColumn(t, a);
}

function createSymbol(ctx: Context, id: string): { sym: ReturnType<Context['symtab']['insert']>; isNew: boolean } {
  if (!id.startsWith('@')) fatal(`row id "${id}" does not begin with "@"`);
  const isNew = !ctx.symtab.symbols.has(id);
  const sym = ctx.symtab.insert(id);
  if (sym.created) fatal(`row id "${id}" may only be specified on one --id option`);
  sym.created = true;
  return { sym, isNew };
}

function cmdGet(ctx: Context): void {
  const id = ctx.option('--id');
  const mustExist = !ctx.has('--if-exists');
  if (id !== undefined && !mustExist) fatal('--if-exists and --id may not be specified together');
  const table = tableArg(ctx);
  const recordId = ctx.argv[2]!;
  const row = getRow(ctx, table, recordId, mustExist);
  if (!row) return;
  if (id !== undefined) {
    const { sym, isNew } = createSymbol(ctx, id);
    if (!isNew) fatal(`row id "${id}" specified on "get" command was used before it was defined`);
    sym.uuid = row.uuid;
    sym.strongRef = true;
  }
  for (const arg of ctx.argv.slice(3)) {
    if (arg.toLowerCase() === '_uuid' || arg.toLowerCase() === '-uuid') {
      ctx.out(`${row.uuid}\n`);
      continue;
    }
    const { column, key } = parseColumnKeyValue(arg, table, undefined);
    ctx.txn.verify(row, column.name);
    const d = row.get(column.name);
    if (key !== undefined) {
      if (!column.type.value) fatal(`cannot specify key to get for non-map column ${column.name}`);
      const k = atomFromString(column.type.key, key, ctx.symtab);
      const idx = d.keys.findIndex((x) => compareAtoms(x, k) === 0);
      if (idx < 0) {
        if (mustExist) fatal(`no key "${key}" in ${table.name} record "${recordId}" column ${column.name}`);
      } else {
        ctx.out(atomToString(column.type.value, d.values![idx]!));
      }
    } else {
      ctx.out(datumToString(column.type, d));
    }
    ctx.out('\n');
  }
}

function preSet(ctx: Context): void {
  const t = tableArg(ctx);
  for (const a of ctx.argv.slice(3)) preColumn(t, a);
}

function cmdSet(ctx: Context): void {
  const table = tableArg(ctx);
  const row = getRow(ctx, table, ctx.argv[2]!, !ctx.has('--if-exists'));
  if (!row) return;
  for (const a of ctx.argv.slice(3)) setColumn(ctx, table, row, a);
  ctx.invalidateCache();
}

function preAddRemove(ctx: Context): void {
  getColumn(tableArg(ctx), ctx.argv[3]!);
}

function cmdAdd(ctx: Context): void {
  mutateColumn(ctx, 'add', (d, type, a) => datumUnion(type, d, datumFromString({ ...type, min: 1, max: Infinity }, a, ctx.symtab), true));
}

function cmdRemove(ctx: Context): void {
  mutateColumn(ctx, 'remove', (d, type, a) => {
    let rm: Datum;
    try {
      rm = datumFromString({ ...type, min: 1, max: Infinity }, a, ctx.symtab);
    } catch (e) {
      // A map column also takes bare keys: remove those pairs whatever their values.
      if (!(e instanceof VsctlError) || !type.value) throw e;
      rm = datumFromString({ key: type.key, min: 1, max: Infinity }, a, ctx.symtab);
    }
    return datumSubtract(d, rm);
  });
}

/**
 * "add" and "remove": fold each argument into the column's value, then hold
 * the result to the column's maximum (add) or minimum (remove) number of
 * elements, as ovs-vsctl does.
 */
function mutateColumn(ctx: Context, operation: 'add' | 'remove', fold: (d: Datum, type: ColumnType, arg: string) => Datum): void {
  const table = tableArg(ctx);
  const column = getColumn(table, ctx.argv[3]!);
  const row = getRow(ctx, table, ctx.argv[2]!, !ctx.has('--if-exists'));
  if (!row) return;
  checkMutable(row, column);
  const type = column.type;
  const d = ctx.argv.slice(4).reduce((acc, a) => fold(acc, type, a), row.get(column.name));
  const [bound, limit, outside] =
    operation === 'add' ? ['maximum', type.max, d.keys.length > type.max] : ['minimum', type.min, d.keys.length < type.min];
  if (outside) {
    fatal(
      `"${operation}" operation would put ${d.keys.length} ${type.value ? 'pairs' : 'values'} in column ${column.name} of table ${table.name} but the ${bound} number is ${limit}`,
    );
  }
  ctx.txn.verify(row, column.name);
  ctx.txn.write(row, column.name, d);
  ctx.invalidateCache();
}

function preClear(ctx: Context): void {
  const t = tableArg(ctx);
  for (const a of ctx.argv.slice(3)) getColumn(t, a);
}

function cmdClear(ctx: Context): void {
  const table = tableArg(ctx);
  const row = getRow(ctx, table, ctx.argv[2]!, !ctx.has('--if-exists'));
  if (!row) return;
  for (const a of ctx.argv.slice(3)) {
    const column = getColumn(table, a);
    checkMutable(row, column);
    if (column.type.min > 0) {
      fatal(`"clear" operation cannot be applied to column ${column.name} of table ${table.name}, which is not allowed to be empty`);
    }
    ctx.txn.write(row, column.name, column.type.value ? { keys: [], values: [] } : { keys: [] });
  }
  ctx.invalidateCache();
}

function preCreate(ctx: Context): void {
  const table = tableArg(ctx);
  if (ctx.option('--id') === undefined && !table.isRoot) {
    ctx.log('db_ctl_base', 'WARN', `applying "create" command to table ${table.name} without --id option will have no effect`);
  }
}

function cmdCreate(ctx: Context): void {
  const id = ctx.option('--id');
  const table = tableArg(ctx);
  let row: TxnRow;
  if (id !== undefined && UUID_RE.test(id)) {
    row = ctx.txn.insert(table.name, id.toLowerCase());
  } else if (id !== undefined) {
    const { sym } = createSymbol(ctx, id);
    if (table.isRoot) sym.strongRef = true;
    row = ctx.txn.insert(table.name, sym.uuid);
  } else {
    row = ctx.txn.insert(table.name);
  }
  for (const a of ctx.argv.slice(2)) setColumn(ctx, table, row, a);
  ctx.out(row.uuid);
}

function postCreate(ctx: Context, inserted: Map<string, string>): void {
  const real = inserted.get(ctx.cmd.output);
  if (real) ctx.cmd.output = real;
  ctx.cmd.output += '\n';
}

function cmdDestroy(ctx: Context): void {
  const mustExist = !ctx.has('--if-exists');
  const all = ctx.has('--all');
  const table = tableArg(ctx);
  if (all && ctx.argv.length > 2) fatal('--all and records argument should not be specified together');
  if (all && !mustExist) fatal('--all and --if-exists should not be specified together');
  if (!all && ctx.argv.length === 2) {
    ctx.log('db_ctl_base', 'WARN', 'either --all or records argument should be specified');
    return;
  }
  if (all) {
    for (const r of ctx.txn.rowsOf(table.name)) ctx.txn.delete(r);
  } else {
    for (const id of ctx.argv.slice(2)) {
      const r = getRow(ctx, table, id, mustExist);
      if (r) ctx.txn.delete(r);
    }
  }
  ctx.invalidateCache();
}

function cmdWaitUntil(ctx: Context): void {
  const table = tableArg(ctx);
  const row = getRow(ctx, table, ctx.argv[2]!, false);
  if (!row) {
    ctx.tryAgain = true;
    return;
  }
  for (const a of ctx.argv.slice(3)) {
    if (!checkCondition(ctx, table, row, a)) {
      ctx.tryAgain = true;
      return;
    }
  }
}

// ---- show ----

interface ShowTable {
  table: string;
  nameColumn?: string;
  columns: string[];
}

const SHOW_TABLES: ShowTable[] = [
  { table: 'Open_vSwitch', columns: ['manager_options', 'bridges', 'ovs_version'] },
  { table: 'Bridge', nameColumn: 'name', columns: ['controller', 'fail_mode', 'datapath_type', 'ports'] },
  { table: 'Port', nameColumn: 'name', columns: ['tag', 'trunks', 'interfaces'] },
  { table: 'Interface', nameColumn: 'name', columns: ['type', 'options', 'error', 'bfd_status'] },
  { table: 'Controller', nameColumn: 'target', columns: ['is_connected'] },
  { table: 'Manager', nameColumn: 'target', columns: ['is_connected'] },
];

function showRow(ctx: Context, row: TxnRow, level: number, shown: Set<string>, filters: Map<string, string[]>): void {
  const show = SHOW_TABLES.find((s) => s.table === row.table.name);
  const start = ctx.cmd.output.length;
  let line = ' '.repeat(level * 4);
  const nameCol = show?.nameColumn ? row.table.columnsByName.get(show.nameColumn) : undefined;
  if (show && nameCol) line += `${show.table} ${datumToString(nameCol.type, row.get(nameCol.name))}`;
  else line += row.uuid;
  ctx.out(`${line}\n`);
  if (!show || shown.has(show.table)) return;
  shown.add(show.table);
  for (const cname of show.columns) {
    const column = row.table.columnsByName.get(cname);
    if (!column) continue;
    const d = row.get(cname);
    const ref = column.type.key.refTable;
    if (column.type.key.type === 'uuid' && ref) {
      const refShow = SHOW_TABLES.find((s) => s.table === ref);
      if (refShow) {
        for (const k of d.keys) {
          const r = ctx.txn.row(ref, k as string);
          if (r) showRow(ctx, r, level + 1, shown, filters);
        }
        continue;
      }
    } else if (column.type.value?.type === 'uuid' && column.type.value.refTable) {
      const refShow = SHOW_TABLES.find((s) => s.table === column.type.value!.refTable);
      if (refShow?.nameColumn) {
        ctx.out(`${' '.repeat((level + 1) * 4)}${cname}:\n`);
        d.keys.forEach((k, i) => {
          const r = ctx.txn.row(refShow.table, d.values![i] as string);
          const rc = r?.table.columnsByName.get(refShow.nameColumn!);
          const name = r && rc ? datumToString(rc.type, r.get(rc.name)) : '"<null>"';
          ctx.out(`${' '.repeat((level + 2) * 4)}${atomToString(column.type.key, k)}=${name}\n`);
        });
        continue;
      }
    }
    if (!datumEquals(d, defaultDatum(column.type))) ctx.out(`${' '.repeat((level + 1) * 4)}${cname}: ${datumToString(column.type, d)}\n`);
  }
  shown.delete(show.table);
  const values = filters.get(show.table);
  if (values) {
    const text = ctx.cmd.output.slice(start).toLowerCase();
    if (!values.some((v) => text.includes(v.toLowerCase()))) ctx.cmd.output = ctx.cmd.output.slice(0, start);
  }
}

function parseFilters(ctx: Context, s: string): Map<string, string[]> {
  const filters = new Map<string, string[]>();
  for (const item of new Set(s.split(',').filter((x) => x))) {
    const paren = item.indexOf('(');
    let table: string;
    let values: string;
    if (paren >= 0 && item.endsWith(')')) {
      table = getTable(ctx.txn.schema, item.slice(0, paren)).name;
      values = item.slice(paren + 1, -1);
    } else if (paren < 0) {
      table = 'Open_vSwitch';
      values = item;
    } else {
      fatal("Malformed filter: missing closing ')'");
    }
    const list = filters.get(table) ?? [];
    list.push(...values.split('|').filter((v) => v));
    filters.set(table, list);
  }
  return filters;
}

function cmdShow(ctx: Context): void {
  const f = ctx.option('--filter');
  const filters = f ? parseFilters(ctx, f) : new Map<string, string[]>();
  for (const row of ctx.txn.rowsOf('Open_vSwitch')) showRow(ctx, row, 0, new Set(), filters);
}

const MAX = Number.MAX_SAFE_INTEGER;

export const DB_COMMANDS: CommandSyntax[] = [
  { name: 'comment', minArgs: 0, maxArgs: MAX, arguments: '[ARG]...', options: '', mode: 'RO' },
  { name: 'get', minArgs: 2, maxArgs: MAX, arguments: 'TABLE RECORD [COLUMN[:KEY]]...', pre: preGet, run: cmdGet, options: '--if-exists,--id=', mode: 'RO' },
  { name: 'list', minArgs: 1, maxArgs: MAX, arguments: 'TABLE [RECORD]...', pre: preList, run: cmdList, options: '--if-exists,--columns=', mode: 'RO' },
  { name: 'find', minArgs: 1, maxArgs: MAX, arguments: 'TABLE [COLUMN[:KEY]=VALUE]...', pre: preFind, run: cmdFind, options: '--columns=', mode: 'RO' },
  { name: 'set', minArgs: 3, maxArgs: MAX, arguments: 'TABLE RECORD COLUMN[:KEY]=VALUE...', pre: preSet, run: cmdSet, options: '--if-exists', mode: 'RW' },
  { name: 'add', minArgs: 4, maxArgs: MAX, arguments: 'TABLE RECORD COLUMN [KEY=]VALUE...', pre: preAddRemove, run: cmdAdd, options: '--if-exists', mode: 'RW' },
  { name: 'remove', minArgs: 4, maxArgs: MAX, arguments: 'TABLE RECORD COLUMN KEY|VALUE|KEY=VALUE...', pre: preAddRemove, run: cmdRemove, options: '--if-exists', mode: 'RW' },
  { name: 'clear', minArgs: 3, maxArgs: MAX, arguments: 'TABLE RECORD COLUMN...', pre: preClear, run: cmdClear, options: '--if-exists', mode: 'RW' },
  { name: 'create', minArgs: 2, maxArgs: MAX, arguments: 'TABLE COLUMN[:KEY]=VALUE...', pre: preCreate, run: cmdCreate, post: postCreate, options: '--id=', mode: 'RW' },
  { name: 'destroy', minArgs: 1, maxArgs: MAX, arguments: 'TABLE [RECORD]...', pre: (ctx) => void tableArg(ctx), run: cmdDestroy, options: '--if-exists,--all', mode: 'RW' },
  { name: 'wait-until', minArgs: 2, maxArgs: MAX, arguments: 'TABLE RECORD [COLUMN[:KEY]=VALUE]...', pre: preSet, run: cmdWaitUntil, options: '', mode: 'RO' },
  { name: 'show', minArgs: 0, maxArgs: 0, arguments: '', run: cmdShow, options: '--filter=', mode: 'RO' },
];
