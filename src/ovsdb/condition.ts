// Conditions (RFC 7047 section 5.1 <condition>): [column, function, value] clauses, all of which a
// row must satisfy; shared by transactions and conditional monitors. Conditions on "_uuid" equality
// are recognised so that the common by-uuid lookup does not scan the table.

import { type Datum, type NamedUuidResolver, datumEquals, datumFromJSON, findKey } from './datum.js';
import type { Row } from './database.js';
import { OvsdbError, show, syntaxError } from './errors.js';
import { type TableSchema, getColumn } from './schema.js';
import type { ColumnType } from './types.js';

export type ConditionFunction = '<' | '<=' | '==' | '!=' | '>=' | '>' | 'includes' | 'excludes';
const FUNCTIONS: ConditionFunction[] = ['<', '<=', '==', '!=', '>=', '>', 'includes', 'excludes'];

/** How a clause reads a row's value: a column position, or the row's _uuid / _version. */
export type ColumnRef = number | '_uuid' | '_version';

const UUID_TYPE: ColumnType = { key: { type: 'uuid' }, min: 1, max: 1 };

export interface Clause {
  column: ColumnRef;
  fn: ConditionFunction;
  value: Datum;
  type: ColumnType;
}

/** A monitor_cond clause may also be the literal true or false. */
export type Condition = (Clause | boolean)[];

export function resolveColumn(t: TableSchema, name: unknown): { ref: ColumnRef; type: ColumnType } {
  if (name === '_uuid' || name === '_version') return { ref: name, type: UUID_TYPE };
  const c = getColumn(t, name);
  return { ref: c.index, type: c.type };
}

export function columnValue(row: Row, ref: ColumnRef): Datum {
  if (ref === '_uuid') return { keys: [row.uuid] };
  if (ref === '_version') return { keys: [row.version] };
  return row.data[ref]!;
}

/** `named` resolves ["named-uuid", X] in transactions: ovs-vsctl selects rows it inserts in the same one. */
export function parseCondition(t: TableSchema, json: unknown, allowBooleans: boolean, where = 'where', named?: NamedUuidResolver): Condition {
  if (!Array.isArray(json)) throw syntaxError(`${where}: a condition must be an array of [column, function, value] clauses, got ${show(json)}`);
  return json.map((cl, i): Clause | boolean => {
    if (allowBooleans && typeof cl === 'boolean') return cl;
    if (!Array.isArray(cl) || cl.length !== 3 || typeof cl[1] !== 'string') {
      throw syntaxError(`${where}[${i}]: expected [column, function, value], got ${show(cl)}`);
    }
    const { ref, type } = resolveColumn(t, cl[0]);
    const fn = cl[1] as ConditionFunction;
    if (!FUNCTIONS.includes(fn)) throw new OvsdbError('unknown function', `${where}[${i}]: unknown function "${cl[1]}" (use ${FUNCTIONS.join(' ')})`);
    const ordered = fn === '<' || fn === '<=' || fn === '>' || fn === '>=';
    if (ordered && (type.value || type.max !== 1 || (type.key.type !== 'integer' && type.key.type !== 'real'))) {
      throw new OvsdbError('syntax error', `${where}[${i}]: "${fn}" compares integers or reals, but column ${show(cl[0])} is not a single number`);
    }
    // The value has the column's type, but may hold any number of elements for set tests.
    const relaxed = fn === 'includes' || fn === 'excludes' ? { anyMin: true, anyMax: true } : { anyMin: true };
    const value = datumFromJSON(type, cl[2], `${where}[${i}] value for column ${String(cl[0])}`, named, relaxed);
    return { column: ref, fn, value, type };
  });
}

function includes(have: Datum, want: Datum): boolean {
  return want.keys.every((k, i) => {
    const at = findKey(have, k);
    return at >= 0 && (!want.values || have.values![at] === want.values[i]);
  });
}

function excludes(have: Datum, want: Datum): boolean {
  return want.keys.every((k, i) => {
    const at = findKey(have, k);
    return at < 0 || (want.values !== undefined && have.values![at] !== want.values[i]);
  });
}

function evalClause(c: Clause, row: Row): boolean {
  const v = columnValue(row, c.column);
  switch (c.fn) {
    case '==':
      return datumEquals(v, c.value);
    case '!=':
      return !datumEquals(v, c.value);
    case 'includes':
      return includes(v, c.value);
    case 'excludes':
      return excludes(v, c.value);
    default: {
      // An empty optional number satisfies no ordering.
      if (v.keys.length === 0 || c.value.keys.length === 0) return false;
      const a = v.keys[0] as number;
      const b = c.value.keys[0] as number;
      return c.fn === '<' ? a < b : c.fn === '<=' ? a <= b : c.fn === '>' ? a > b : a >= b;
    }
  }
}

export function evalCondition(cond: Condition, row: Row): boolean {
  return cond.every((c) => (typeof c === 'boolean' ? c : evalClause(c, row)));
}

/** The uuid a condition pins the row to, when it has a `_uuid == X` clause. */
export function pinnedUuid(cond: Condition): string | undefined {
  for (const c of cond) if (typeof c !== 'boolean' && c.column === '_uuid' && c.fn === '==' && c.value.keys.length === 1) return c.value.keys[0] as string;
  return undefined;
}
