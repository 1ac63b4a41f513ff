// OVSDB column types (RFC 7047 section 3.2 <type>, <base-type>): an atomic key type, an optional
// value type (a map), and min/max element counts, with per-atom constraints.

import { OvsdbError, show, syntaxError } from './errors.js';

export type AtomicType = 'integer' | 'real' | 'boolean' | 'string' | 'uuid';
/** Atoms in memory: uuids are lowercase strings, so the column type tells them from strings. */
export type Atom = number | boolean | string;

export interface BaseType {
  type: AtomicType;
  /** Sorted, unique. */
  enum?: Atom[];
  minInteger?: number;
  maxInteger?: number;
  minReal?: number;
  maxReal?: number;
  minLength?: number;
  maxLength?: number;
  refTable?: string;
  refType?: 'strong' | 'weak';
}

export interface ColumnType {
  key: BaseType;
  value?: BaseType;
  min: 0 | 1;
  /** Infinity for "unlimited". */
  max: number;
}

const ATOMIC: AtomicType[] = ['integer', 'real', 'boolean', 'string', 'uuid'];
export const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function compareAtoms(a: Atom, b: Atom): number {
  if (a === b) return 0;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean') return a ? 1 : -1;
  return a < b ? -1 : 1;
}

/** Parses a bare atom of `type` without constraints (used for enum members and conditions). */
export function parseBareAtom(type: AtomicType, json: unknown, where: string): Atom {
  switch (type) {
    case 'integer':
      if (typeof json === 'number' && Number.isInteger(json)) {
        if (!Number.isSafeInteger(json)) {
          throw new OvsdbError('constraint violation', `${where}: integer ${json} is beyond ±2^53-1, the range TVS stores exactly`);
        }
        return json;
      }
      break;
    case 'real':
      if (typeof json === 'number') return json;
      break;
    case 'boolean':
      if (typeof json === 'boolean') return json;
      break;
    case 'string':
      if (typeof json === 'string') return json;
      break;
    case 'uuid':
      if (Array.isArray(json) && json.length === 2 && json[0] === 'uuid' && typeof json[1] === 'string' && UUID_RE.test(json[1])) {
        return json[1].toLowerCase();
      }
      break;
  }
  throw syntaxError(`${where}: expected ${type === 'uuid' ? '["uuid", "<UUID>"]' : `a JSON ${type === 'real' ? 'number' : type}`}, got ${show(json)}`);
}

function parseBaseType(json: unknown, where: string): BaseType {
  if (typeof json === 'string') {
    if (!ATOMIC.includes(json as AtomicType)) throw syntaxError(`${where}: unknown atomic type "${json}" (use one of ${ATOMIC.join(', ')})`);
    return { type: json as AtomicType };
  }
  if (!isObject(json)) throw syntaxError(`${where}: a base type must be a string or an object, got ${show(json)}`);
  const allowed = new Set(['type', 'enum', 'minInteger', 'maxInteger', 'minReal', 'maxReal', 'minLength', 'maxLength', 'refTable', 'refType']);
  for (const k of Object.keys(json)) if (!allowed.has(k)) throw syntaxError(`${where}: unknown member "${k}" in base type`);
  const base = parseBaseType(json.type, `${where}.type`);
  const num = (k: string, intOnly: boolean): number | undefined => {
    const v = json[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || (intOnly && !Number.isInteger(v))) throw syntaxError(`${where}: "${k}" must be ${intOnly ? 'an integer' : 'a number'}, got ${show(v)}`);
    return v;
  };
  const only = (k: string, t: AtomicType): void => {
    if (json[k] !== undefined && base.type !== t) throw syntaxError(`${where}: "${k}" applies only to ${t} columns, not ${base.type}`);
  };
  only('minInteger', 'integer');
  only('maxInteger', 'integer');
  only('minReal', 'real');
  only('maxReal', 'real');
  only('minLength', 'string');
  only('maxLength', 'string');
  only('refTable', 'uuid');
  only('refType', 'uuid');
  const set = <K extends keyof BaseType>(k: K, v: BaseType[K] | undefined): void => {
    if (v !== undefined) base[k] = v;
  };
  set('minInteger', num('minInteger', true));
  set('maxInteger', num('maxInteger', true));
  set('minReal', num('minReal', false));
  set('maxReal', num('maxReal', false));
  set('minLength', num('minLength', true));
  set('maxLength', num('maxLength', true));
  for (const [lo, hi] of [['minInteger', 'maxInteger'], ['minReal', 'maxReal'], ['minLength', 'maxLength']] as const) {
    const l = base[lo];
    const h = base[hi];
    if (l !== undefined && h !== undefined && l > h) throw syntaxError(`${where}: ${lo} ${l} is greater than ${hi} ${h}`);
  }
  if (json.refTable !== undefined) {
    if (typeof json.refTable !== 'string') throw syntaxError(`${where}: "refTable" must be a table name`);
    base.refTable = json.refTable;
    base.refType = 'strong';
  }
  if (json.refType !== undefined) {
    if (json.refType !== 'strong' && json.refType !== 'weak') throw syntaxError(`${where}: "refType" must be "strong" or "weak", got ${show(json.refType)}`);
    if (base.refTable === undefined) throw syntaxError(`${where}: "refType" needs "refTable"`);
    base.refType = json.refType;
  }
  if (json.enum !== undefined) {
    const members = Array.isArray(json.enum) && json.enum[0] === 'set' && Array.isArray(json.enum[1]) ? (json.enum[1] as unknown[]) : [json.enum];
    const atoms = members.map((m, i) => parseBareAtom(base.type, m, `${where}.enum[${i}]`));
    atoms.sort(compareAtoms);
    if (atoms.length === 0) throw syntaxError(`${where}: "enum" must have at least one member`);
    base.enum = atoms.filter((a, i) => i === 0 || compareAtoms(atoms[i - 1]!, a) !== 0);
  }
  return base;
}

export function parseColumnType(json: unknown, where: string): ColumnType {
  if (typeof json === 'string') return { key: parseBaseType(json, where), min: 1, max: 1 };
  if (!isObject(json)) throw syntaxError(`${where}: a type must be an atomic type name or an object, got ${show(json)}`);
  if (!('key' in json)) throw syntaxError(`${where}: a type object needs a "key" member (write {"key": ${show(json)}} for a constrained atom)`);
  for (const k of Object.keys(json)) {
    if (!['key', 'value', 'min', 'max'].includes(k)) throw syntaxError(`${where}: unknown member "${k}" in type`);
  }
  const t: ColumnType = { key: parseBaseType(json.key, `${where}.key`), min: 1, max: 1 };
  if (json.value !== undefined) t.value = parseBaseType(json.value, `${where}.value`);
  if (json.min !== undefined) {
    if (json.min !== 0 && json.min !== 1) throw syntaxError(`${where}: "min" must be 0 or 1, got ${show(json.min)}`);
    t.min = json.min;
  }
  if (json.max !== undefined) {
    if (json.max === 'unlimited') t.max = Infinity;
    else if (typeof json.max === 'number' && Number.isInteger(json.max) && json.max >= 1) t.max = json.max;
    else throw syntaxError(`${where}: "max" must be a positive integer or "unlimited", got ${show(json.max)}`);
  }
  if (t.min > t.max) throw syntaxError(`${where}: "min" ${t.min} exceeds "max" ${t.max}`);
  return t;
}

function baseTypeToJSON(b: BaseType): unknown {
  const o: Record<string, unknown> = { type: b.type };
  if (b.enum) o.enum = b.enum.length === 1 ? atomToJSON(b, b.enum[0]!) : ['set', b.enum.map((a) => atomToJSON(b, a))];
  for (const k of ['minInteger', 'maxInteger', 'minReal', 'maxReal', 'minLength', 'maxLength', 'refTable'] as const) {
    if (b[k] !== undefined) o[k] = b[k];
  }
  if (b.refTable !== undefined && b.refType === 'weak') o.refType = 'weak';
  return Object.keys(o).length === 1 ? b.type : o;
}

export function columnTypeToJSON(t: ColumnType): unknown {
  const key = baseTypeToJSON(t.key);
  if (t.min === 1 && t.max === 1 && !t.value && typeof key === 'string') return key;
  const o: Record<string, unknown> = { key };
  if (t.value) o.value = baseTypeToJSON(t.value);
  if (t.min !== 1) o.min = t.min;
  if (t.max !== 1) o.max = t.max === Infinity ? 'unlimited' : t.max;
  return o;
}

export function atomToJSON(b: BaseType, a: Atom): unknown {
  return b.type === 'uuid' ? ['uuid', a] : a;
}

/** A scalar column holds exactly one atom and is shown as a bare atom, not a set. */
export function isScalar(t: ColumnType): boolean {
  return t.min === 1 && t.max === 1 && !t.value;
}
