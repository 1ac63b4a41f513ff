// The "transact" operations of RFC 7047 section 5.2, run in order inside one Txn: the first
// failing operation stops the transaction, and commit-time violations are reported after the
// per-operation results, as the RFC lays out.

import { type ColumnRef, type Condition, columnValue, evalCondition, parseCondition, pinnedUuid, resolveColumn } from './condition.js';
import { type Datum, type NamedUuidResolver, checkAtom, checkCount, datumFromJSON, datumKey, datumToJSON, defaultDatum, findKey, makeDatum } from './datum.js';
import { type Changeset, type Database, type Row, type Table, newUuid } from './database.js';
import { OvsdbError, show, syntaxError } from './errors.js';
import { type ColumnSchema, type TableSchema, getColumn } from './schema.js';
import { Txn } from './transaction.js';
import { type Atom, type ColumnType, UUID_RE, parseBareAtom } from './types.js';
import { own } from '../lib/own.js';

export interface ExecContext {
  /** For "assert": does the requesting session own this lock? */
  ownsLock(name: string): boolean;
  /** The _Server database accepts only reads. */
  readOnly?: boolean;
  /** Set when a blocked "wait" has run out of time: fail it instead of blocking again. */
  timedOut?: boolean;
}

export type ExecOutcome =
  | { kind: 'done'; results: unknown[]; changeset?: Changeset }
  /** A "wait" is not satisfied yet and may be: run again after a commit, or when `timeoutMs` passes. */
  | { kind: 'blocked'; timeoutMs: number };

const OP_MEMBERS: Record<string, string[]> = {
  // "uuid" is OVS's extension (2.13+) for choosing the new row's uuid.
  insert: ['table', 'row', 'uuid-name', 'uuid'],
  select: ['table', 'where', 'columns'],
  update: ['table', 'where', 'row'],
  mutate: ['table', 'where', 'mutations'],
  delete: ['table', 'where'],
  wait: ['table', 'where', 'columns', 'until', 'rows', 'timeout'],
  commit: ['durable'],
  abort: [],
  comment: ['comment'],
  assert: ['lock'],
};

const ID_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Thrown by a "wait" whose rows differ from the expected ones: the transaction waits for a change or for timeoutMs. */
class Blocked extends Error {
  constructor(readonly timeoutMs: number) {
    super(`"wait" blocked for up to ${timeoutMs} ms`);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function rowToJSON(t: TableSchema, row: Row, columns: ColumnRef[] | undefined): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (!columns) {
    o._uuid = ['uuid', row.uuid];
    o._version = ['uuid', row.version];
    for (const c of t.columns) o[c.name] = datumToJSON(c.type, row.data[c.index]!);
    return o;
  }
  for (const ref of columns) {
    if (ref === '_uuid' || ref === '_version') o[ref] = ['uuid', ref === '_uuid' ? row.uuid : row.version];
    else o[t.columns[ref]!.name] = datumToJSON(t.columns[ref]!.type, row.data[ref]!);
  }
  return o;
}

class Executor {
  private readonly txn: Txn;
  /** uuid-name -> uuid, and whether an insert has claimed the name yet (forward references are allowed). */
  private readonly symbols = new Map<string, { uuid: string; created: boolean }>();
  private readonly named: NamedUuidResolver = (name) => {
    let s = this.symbols.get(name);
    if (!s) this.symbols.set(name, (s = { uuid: newUuid(), created: false }));
    return s.uuid;
  };

  constructor(
    private readonly db: Database,
    private readonly ctx: ExecContext,
  ) {
    this.txn = new Txn(db);
  }

  run(ops: unknown[]): ExecOutcome {
    const results: unknown[] = [];
    let failed = false;
    for (const [i, op] of ops.entries()) {
      try {
        results.push(this.operation(op, i));
      } catch (e) {
        if (e instanceof Blocked) return { kind: 'blocked', timeoutMs: e.timeoutMs };
        if (!(e instanceof OvsdbError)) throw e;
        results.push(e.toJSON());
        failed = true;
        break;
      }
    }
    if (failed) {
      while (results.length < ops.length) results.push(null);
      return { kind: 'done', results };
    }
    try {
      for (const [name, s] of this.symbols) {
        if (!s.created) throw new OvsdbError('referential integrity violation', `named-uuid "${name}" is referenced but no insert in this transaction has "uuid-name": "${name}"`);
      }
      const changeset = this.txn.commit();
      return changeset.changes.length > 0 || changeset.comment !== undefined ? { kind: 'done', results, changeset } : { kind: 'done', results };
    } catch (e) {
      if (!(e instanceof OvsdbError)) throw e;
      results.push(e.toJSON());
      return { kind: 'done', results };
    }
  }

  private operation(op: unknown, i: number): unknown {
    if (!isObject(op)) throw syntaxError(`operation ${i} must be a JSON object, got ${show(op)}`);
    const name = op.op;
    const members = typeof name === 'string' ? own(OP_MEMBERS, name) : undefined;
    if (typeof name !== 'string' || !members) {
      throw syntaxError(`operation ${i} has unknown "op" ${show(name)} (use ${Object.keys(OP_MEMBERS).join(', ')})`);
    }
    for (const k of Object.keys(op)) {
      if (k !== 'op' && !members.includes(k)) throw syntaxError(`operation ${i} ("${name}") has member "${k}", which "${name}" does not take`);
    }
    const writes = name === 'insert' || name === 'update' || name === 'mutate' || name === 'delete';
    if (writes && this.ctx.readOnly) throw new OvsdbError('not allowed', `database ${this.db.name} is read-only; "${name}" is not allowed`);
    switch (name) {
      case 'insert':
        return this.insert(op);
      case 'select':
        return this.select(op);
      case 'update':
        return this.update(op);
      case 'mutate':
        return this.mutate(op);
      case 'delete':
        return this.delete(op);
      case 'wait':
        return this.wait(op);
      case 'commit':
        if (typeof op.durable !== 'boolean') throw syntaxError('"commit" needs "durable": true or false');
        return {};
      case 'abort':
        throw new OvsdbError('aborted', `operation ${i} ("abort") aborted the transaction`);
      case 'comment':
        if (typeof op.comment !== 'string') throw syntaxError('"comment" needs a string "comment"');
        this.txn.comment = this.txn.comment === undefined ? op.comment : `${this.txn.comment}\n${op.comment}`;
        return {};
      default:
        if (typeof op.lock !== 'string') throw syntaxError('"assert" needs a string "lock"');
        if (!this.ctx.ownsLock(op.lock)) throw new OvsdbError('not owner', `this session does not own lock "${op.lock}"; take it with the "lock" method first`);
        return {};
    }
  }

  private table(op: Record<string, unknown>): Table {
    if (op.table === undefined) throw syntaxError(`"${String(op.op)}" needs "table"`);
    const t = typeof op.table === 'string' ? this.db.tables.get(op.table) : undefined;
    if (!t) throw syntaxError(`unknown table ${show(op.table)}: database ${this.db.name} has no such table`);
    return t;
  }

  private where(t: Table, op: Record<string, unknown>): Row[] {
    if (op.where === undefined) throw syntaxError(`"${String(op.op)}" needs "where"`);
    const cond: Condition = parseCondition(t.schema, op.where, false, 'where', this.named);
    const pinned = pinnedUuid(cond);
    if (pinned !== undefined) {
      const row = this.txn.get(t, pinned);
      return row && evalCondition(cond, row) ? [row] : [];
    }
    const out: Row[] = [];
    for (const row of this.txn.rows(t)) if (evalCondition(cond, row)) out.push(row);
    return out;
  }

  private writableColumn(t: TableSchema, name: string, forUpdate: boolean): ColumnSchema {
    if (name === '_uuid' || name === '_version') throw new OvsdbError('constraint violation', `column ${name} of table ${t.name} is maintained by the database and cannot be written`);
    const c = getColumn(t, name);
    if (forUpdate && !c.mutable) throw new OvsdbError('constraint violation', `column ${name} of table ${t.name} is immutable: it is set only when the row is inserted`);
    return c;
  }

  private parseRow(t: TableSchema, json: unknown, forUpdate: boolean): Map<number, Datum> {
    if (!isObject(json)) throw syntaxError(`"row" must be a JSON object of column values, got ${show(json)}`);
    const out = new Map<number, Datum>();
    for (const [name, v] of Object.entries(json)) {
      const c = this.writableColumn(t, name, forUpdate);
      out.set(c.index, datumFromJSON(c.type, v, `table ${t.name} column ${name}`, this.named));
    }
    return out;
  }

  private insert(op: Record<string, unknown>): unknown {
    const t = this.table(op);
    const values = this.parseRow(t.schema, op.row ?? {}, false);
    const explicit = op.uuid;
    if (explicit !== undefined && (typeof explicit !== 'string' || !UUID_RE.test(explicit))) throw syntaxError(`"uuid" must be a UUID string, got ${show(explicit)}`);
    let uuid = explicit?.toLowerCase() ?? newUuid();
    const un = op['uuid-name'];
    if (un !== undefined) {
      if (typeof un !== 'string' || !ID_RE.test(un)) throw syntaxError(`"uuid-name" must be an identifier, got ${show(un)}`);
      const s = this.symbols.get(un);
      if (s?.created) throw new OvsdbError('duplicate uuid-name', `uuid-name "${un}" is already used by an earlier insert in this transaction`);
      if (s && explicit !== undefined && s.uuid !== uuid) {
        throw syntaxError(`uuid-name "${un}" is used before the insert that gives it "uuid" ${uuid}; put that insert first`);
      }
      if (s) uuid = s.uuid;
      this.symbols.set(un, { uuid, created: true });
    }
    const data = t.schema.columns.map((c) => values.get(c.index) ?? defaultDatum(c.type));
    this.txn.insert(t, uuid, data);
    return { uuid: ['uuid', uuid] };
  }

  private columnList(t: TableSchema, json: unknown): ColumnRef[] | undefined {
    if (json === undefined) return undefined;
    if (!Array.isArray(json)) throw syntaxError(`"columns" must be an array of column names, got ${show(json)}`);
    return json.map((n) => resolveColumn(t, n).ref);
  }

  private select(op: Record<string, unknown>): unknown {
    const t = this.table(op);
    const columns = this.columnList(t.schema, op.columns);
    return { rows: this.where(t, op).map((r) => rowToJSON(t.schema, r, columns)) };
  }

  private update(op: Record<string, unknown>): unknown {
    const t = this.table(op);
    const values = this.parseRow(t.schema, op.row, true);
    const rows = this.where(t, op);
    for (const row of rows) {
      const data = [...row.data];
      for (const [i, d] of values) data[i] = d;
      this.txn.update(t, row, data);
    }
    return { count: rows.length };
  }

  private delete(op: Record<string, unknown>): unknown {
    const t = this.table(op);
    const rows = this.where(t, op);
    for (const row of rows) this.txn.delete(t, row);
    return { count: rows.length };
  }

  private mutate(op: Record<string, unknown>): unknown {
    const t = this.table(op);
    if (!Array.isArray(op.mutations)) throw syntaxError(`"mutations" must be an array of [column, mutator, value], got ${show(op.mutations)}`);
    const mutations = op.mutations.map((m, i) => {
      if (!Array.isArray(m) || m.length !== 3 || typeof m[0] !== 'string' || typeof m[1] !== 'string') {
        throw syntaxError(`mutation ${i} must be [column, mutator, value], got ${show(m)}`);
      }
      const col = this.writableColumn(t.schema, m[0], true);
      return this.parseMutation(t.schema, col, m[1], m[2]);
    });
    const rows = this.where(t, op);
    for (const row of rows) {
      const data = [...row.data];
      for (const { col, apply } of mutations) data[col.index] = apply(data[col.index]!);
      this.txn.update(t, row, data);
    }
    return { count: rows.length };
  }

  private parseMutation(t: TableSchema, col: ColumnSchema, mutator: string, arg: unknown): { col: ColumnSchema; apply: (d: Datum) => Datum } {
    const type = col.type;
    const where = `table ${t.name} column ${col.name}`;
    switch (mutator) {
      case '+=':
      case '-=':
      case '*=':
      case '/=':
      case '%=': {
        const numeric = type.key.type === 'integer' || (type.key.type === 'real' && mutator !== '%=');
        if (!numeric || type.value) throw new OvsdbError('constraint violation', `${where}: "${mutator}" needs ${mutator === '%=' ? 'an integer' : 'a number'} column or set, but it holds ${type.value ? 'a map' : type.key.type + 's'}`);
        const n = parseBareAtom(type.key.type, arg, `${where} "${mutator}" operand`) as number;
        if ((mutator === '/=' || mutator === '%=') && n === 0) throw new OvsdbError('domain error', `${where}: "${mutator}" by zero`);
        return { col, apply: (d) => arithmetic(type, d, mutator, n, where) };
      }
      case 'insert': {
        const v = datumFromJSON(type, arg, `${where} "insert" operand`, this.named, { anyMin: true, anyMax: true });
        return { col, apply: (d) => setInsert(type, d, v, where) };
      }
      case 'delete': {
        // A map loses pairs given as a map, or keys given as a set of keys.
        const keysOnly = type.value !== undefined && !(Array.isArray(arg) && arg[0] === 'map');
        const asType: ColumnType = keysOnly ? { key: type.key, min: 0, max: Infinity } : type;
        const v = datumFromJSON(asType, arg, `${where} "delete" operand`, this.named, { anyMin: true, anyMax: true });
        return { col, apply: (d) => setDelete(type, d, v, keysOnly, where) };
      }
      default:
        throw new OvsdbError('unknown mutator', `${where}: unknown mutator "${mutator}" (use += -= *= /= %= insert delete)`);
    }
  }

  private wait(op: Record<string, unknown>): unknown {
    const t = this.table(op);
    // ovs-vsctl leaves "columns" out when it checks that a table is still empty: all columns.
    const columns = this.columnList(t.schema, op.columns) ?? t.schema.columns.map((c) => c.index);
    if (op.until !== '==' && op.until !== '!=') throw syntaxError(`"wait" needs "until": "==" or "!=", got ${show(op.until)}`);
    if (!Array.isArray(op.rows)) throw syntaxError(`"wait" needs "rows", an array of rows, got ${show(op.rows)}`);
    const timeout = op.timeout ?? Infinity;
    if (typeof timeout !== 'number' || timeout < 0) throw syntaxError(`"timeout" must be a number of milliseconds, got ${show(op.timeout)}`);
    const types = columns.map((ref) => (typeof ref === 'number' ? t.schema.columns[ref]!.type : resolveColumn(t.schema, ref).type));
    const names = columns.map((ref) => (typeof ref === 'number' ? t.schema.columns[ref]!.name : ref));
    const expected = op.rows.map((r, n) => {
      if (!isObject(r)) throw syntaxError(`"wait" row ${n} must be an object, got ${show(r)}`);
      for (const k of Object.keys(r)) if (!names.includes(k)) throw syntaxError(`"wait" row ${n} has column "${k}", which is not in "columns"`);
      return names.map((name, ci) => datumKey(r[name] === undefined ? defaultDatum(types[ci]!) : datumFromJSON(types[ci]!, r[name], `"wait" row ${n} column ${name}`, this.named))).join('\u0000');
    });
    const actual = this.where(t, op).map((row) => columns.map((ref) => datumKey(columnValue(row, ref))).join('\u0000'));
    // Rows compare as multisets: order does not matter.
    expected.sort();
    const equal = actual.length === expected.length && actual.sort().every((k, i) => k === expected[i]);
    if (equal === (op.until === '==')) return {};
    if (timeout === 0 || this.ctx.timedOut) {
      throw new OvsdbError('timed out', `"wait" on table ${t.schema.name}: the rows did not become ${op.until === '==' ? 'equal to' : 'different from'} the given rows${timeout === 0 ? ' (timeout 0: the row changed since the client read it; re-read and retry)' : ` within ${timeout} ms`}`);
    }
    throw new Blocked(timeout);
  }
}

function arithmetic(type: ColumnType, d: Datum, mutator: string, n: number, where: string): Datum {
  const out: Atom[] = d.keys.map((a) => {
    const x = a as number;
    let r: number;
    switch (mutator) {
      case '+=':
        r = x + n;
        break;
      case '-=':
        r = x - n;
        break;
      case '*=':
        r = x * n;
        break;
      case '/=':
        r = type.key.type === 'integer' ? Math.trunc(x / n) : x / n;
        break;
      default:
        r = x % n;
    }
    if (type.key.type === 'integer' ? !Number.isSafeInteger(r) : !Number.isFinite(r)) {
      throw new OvsdbError('range error', `${where}: ${x} ${mutator} ${n} overflows`);
    }
    checkAtom(type.key, r, where);
    return r;
  });
  return makeDatum(out, undefined, `${where} (result of "${mutator}")`);
}

function setInsert(type: ColumnType, d: Datum, v: Datum, where: string): Datum {
  const keys = [...d.keys];
  const values = d.values ? [...d.values] : undefined;
  v.keys.forEach((k, i) => {
    if (findKey(d, k) >= 0) return; // RFC 7047: inserting an existing key leaves its value alone
    keys.push(k);
    values?.push(v.values![i]!);
  });
  const out = makeDatum(keys, values, where);
  checkCount(type, out.keys.length, `${where} (after "insert")`);
  return out;
}

function setDelete(type: ColumnType, d: Datum, v: Datum, keysOnly: boolean, where: string): Datum {
  const drop = d.keys.map((k, i) => {
    const at = findKey(v, k);
    return at >= 0 && (keysOnly || !d.values || v.values![at] === d.values[i]);
  });
  const keys = d.keys.filter((_, i) => !drop[i]);
  const out: Datum = d.values ? { keys, values: d.values.filter((_, i) => !drop[i]) } : { keys };
  checkCount(type, out.keys.length, `${where} (after "delete")`);
  return out;
}

/** Runs the operations of one "transact" request (params without the database name). */
export function executeTransaction(db: Database, ops: unknown[], ctx: ExecContext): ExecOutcome {
  return new Executor(db, ctx).run(ops);
}
