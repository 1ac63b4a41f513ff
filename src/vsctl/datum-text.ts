// OVS's human syntax for database values, as ovs-vsctl reads and prints them (lib/ovsdb-data.c):
// atoms are bare words or JSON strings, sets are "[a, b]" (brackets optional on input), maps are
// "{k=v}". Errors are returned in OVS's words, since scripts and people match on them.

import { randomUUID } from 'node:crypto';
import { type Datum, codePoints, makeDatum } from '../ovsdb/datum.js';
import { type Atom, type BaseType, type ColumnType, UUID_RE, compareAtoms } from '../ovsdb/types.js';

/** A failure that ovs-vsctl reports as "ovs-vsctl: MESSAGE" and exit status 1. */
export class VsctlError extends Error {}

/** `--id=@name` symbols: a uuid chosen up front, and whether a row was created and referenced. */
export interface VsctlSymbol {
  uuid: string;
  created: boolean;
  strongRef: boolean;
  weakRef: boolean;
}

export class SymbolTable {
  readonly symbols = new Map<string, VsctlSymbol>();

  insert(name: string): VsctlSymbol {
    let s = this.symbols.get(name);
    if (!s) this.symbols.set(name, (s = { uuid: randomUUID(), created: false, strongRef: false, weakRef: false }));
    return s;
  }
}

const DELIMS = ':=, []{}!<>';

/** ovsdb_token_parse: a token up to the next delimiter; backslash escapes, quotes protect delimiters. */
export function parseToken(s: string, pos: number): { token: string; pos: number } {
  let out = '';
  let inQuotes = false;
  let p = pos;
  while (p < s.length) {
    const c = s[p++]!;
    if (c === '\\') {
      if (inQuotes) out += '\\';
      if (p >= s.length) throw new VsctlError(`${s.slice(pos)}: backslash at end of argument`);
      out += s[p++]!;
    } else if (!inQuotes && DELIMS.includes(c)) {
      p--;
      break;
    } else {
      out += c;
      if (c === '"') inQuotes = !inQuotes;
    }
  }
  if (inQuotes) throw new VsctlError(`${s.slice(pos)}: quoted string extends past end of argument`);
  return { token: out, pos: p };
}

/** JSON string escapes as OVS's json_string_unescape accepts them. */
function unquote(s: string): string {
  const body = s.slice(1, -1);
  try {
    const v: unknown = JSON.parse(`"${body}"`);
    if (typeof v === 'string') return v;
  } catch {
    // fall through
  }
  throw new VsctlError(`${s}: invalid JSON string`);
}

const INT_RE = /^[+-]?\d+$/;

function parseInteger(s: string): number | undefined {
  if (!INT_RE.test(s.trim()) || s.trim() !== s) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

function fmtReal(x: number): string {
  // printf("%.15g")
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : x < 0 ? '-inf' : 'nan';
  let s = x.toPrecision(15);
  if (s.includes('e')) {
    let [m, e] = s.split('e') as [string, string];
    if (m.includes('.')) m = m.replace(/0+$/, '').replace(/\.$/, '');
    const sign = e.startsWith('-') ? '-' : '+';
    e = e.replace(/^[+-]/, '');
    return `${m}e${sign}${e.padStart(2, '0')}`;
  }
  if (s.includes('.')) s = s.replace(/0+$/, '').replace(/\.$/, '');
  return s;
}

function enumText(base: BaseType): string {
  const all = base.enum!.map((a) => atomToString(base, a));
  return all.length === 1 ? all[0]! : `[${all.join(', ')}]`;
}

/** ovsdb_atom_check_constraints, with OVS's messages. */
function checkConstraints(base: BaseType, a: Atom): void {
  if (base.enum && !base.enum.some((e) => compareAtoms(e, a) === 0)) {
    throw new VsctlError(`constraint violation: ${atomToString(base, a)} is not one of the allowed values (${enumText(base)})`);
  }
  if (base.type === 'integer' && typeof a === 'number') {
    const lo = base.minInteger;
    const hi = base.maxInteger;
    if ((lo === undefined || a >= lo) && (hi === undefined || a <= hi)) return;
    if (lo !== undefined && hi !== undefined) throw new VsctlError(`constraint violation: ${a} is not in the valid range ${lo} to ${hi} (inclusive)`);
    if (lo !== undefined) throw new VsctlError(`constraint violation: ${a} is less than minimum allowed value ${lo}`);
    throw new VsctlError(`constraint violation: ${a} is greater than maximum allowed value ${hi!}`);
  }
  if (base.type === 'real' && typeof a === 'number') {
    const lo = base.minReal;
    const hi = base.maxReal;
    if ((lo === undefined || a >= lo) && (hi === undefined || a <= hi)) return;
    if (lo !== undefined && hi !== undefined) {
      throw new VsctlError(`constraint violation: ${fmtReal(a)} is not in the valid range ${fmtReal(lo)} to ${fmtReal(hi)} (inclusive)`);
    }
    if (lo !== undefined) throw new VsctlError(`constraint violation: ${fmtReal(a)} is less than minimum allowed value ${fmtReal(lo)}`);
    throw new VsctlError(`constraint violation: ${fmtReal(a)} is greater than maximum allowed value ${fmtReal(hi!)}`);
  }
  if (base.type === 'string' && typeof a === 'string') {
    const n = codePoints(a);
    if (base.minLength !== undefined && n < base.minLength) {
      throw new VsctlError(`constraint violation: "${a}" length ${n} is less than minimum allowed length ${base.minLength}`);
    }
    if (base.maxLength !== undefined && n > base.maxLength) {
      throw new VsctlError(`constraint violation: "${a}" length ${n} is greater than maximum allowed length ${base.maxLength}`);
    }
  }
}

/** ovsdb_atom_from_string (without ranges): one atom of `base` from a token. */
export function atomFromString(base: BaseType, s: string, symtab?: SymbolTable): Atom {
  let a: Atom;
  switch (base.type) {
    case 'integer': {
      const n = parseInteger(s);
      if (n === undefined) throw new VsctlError(`"${s}" is not a valid integer or range`);
      a = n;
      break;
    }
    case 'real': {
      const n = s.trim() === '' ? NaN : Number(s);
      if (Number.isNaN(n)) throw new VsctlError(`"${s}" is not a valid real number`);
      a = n === 0 ? 0 : n;
      break;
    }
    case 'boolean':
      if (['true', 'yes', 'on', '1'].includes(s)) a = true;
      else if (['false', 'no', 'off', '0'].includes(s)) a = false;
      else throw new VsctlError(`"${s}" is not a valid boolean (use "true" or "false")`);
      break;
    case 'string':
      if (s === '') throw new VsctlError('An empty string is not valid as input; use "" to represent the empty string');
      if (s.startsWith('"')) {
        if (s.length < 2 || !s.endsWith('"')) throw new VsctlError(`${s}: missing quote at end of quoted string`);
        a = unquote(s);
      } else {
        a = s;
      }
      break;
    case 'uuid':
      if (s.startsWith('@') && symtab) {
        const sym = symtab.insert(s);
        if (base.refTable) {
          if (base.refType === 'weak') sym.weakRef = true;
          else sym.strongRef = true;
        }
        a = sym.uuid;
      } else if (UUID_RE.test(s)) {
        a = s.toLowerCase();
      } else {
        throw new VsctlError(`"${s}" is not a valid UUID`);
      }
      break;
  }
  checkConstraints(base, a);
  return a;
}

/** The most atoms an integer range may stand for (OVS's MAX_OVSDB_ATOM_RANGE_SIZE). */
const MAX_RANGE_SIZE = 4096;
const INT_RANGE_RE = /^([+-]?\d+)-([+-]?\d+)$/;

/**
 * The atoms one element of a set stands for: one, or, in an integer column, every integer of a
 * range "A-B" (trunks=10-20), both ends checked against the column's constraints, as
 * ovsdb_atom_from_string does.
 */
function atomsFromString(base: BaseType, s: string, symtab?: SymbolTable): Atom[] {
  const range = base.type === 'integer' ? INT_RANGE_RE.exec(s) : null;
  if (!range) return [atomFromString(base, s, symtab)];
  const start = parseInteger(range[1]!);
  const end = parseInteger(range[2]!);
  if (start === undefined || end === undefined) throw new VsctlError(`"${s}" is not a valid integer or range`);
  if (end < start) throw new VsctlError(`"${s}" is not a valid range. Range end cannot be before start.`);
  checkConstraints(base, start);
  checkConstraints(base, end);
  if (end - start >= MAX_RANGE_SIZE) {
    throw new VsctlError(`constraint violation: Range "${start}-${end}" is too big. Maximum allowed size is ${MAX_RANGE_SIZE}.`);
  }
  return Array.from({ length: end - start + 1 }, (_, i) => start + i);
}

function skipSpaces(s: string, p: number): number {
  while (p < s.length && /\s/.test(s[p]!)) p++;
  return p;
}

function typeToEnglish(type: ColumnType): string {
  const key = type.key.type;
  if (type.min === 1 && type.max === 1 && !type.value) return key;
  const s = type.value ? `map of ${key}-${type.value.type} pairs` : `set of ${key}s`;
  if (type.max === Infinity) return s;
  return s;
}

/**
 * ovsdb_datum_from_string: "a, b", "[a b]", "{k=v, k2=v2}", with count and uniqueness checks; a
 * set of integers may list ranges ("[1-5, 10]").
 */
export function datumFromString(type: ColumnType, s: string, symtab?: SymbolTable): Datum {
  const isMap = type.value !== undefined;
  let p = skipSpaces(s, 0);
  let end = '';
  if (s[p] === (isMap ? '{' : '[')) {
    end = isMap ? '}' : ']';
    p = skipSpaces(s, p + 1);
  } else if (p >= s.length) {
    throw new VsctlError(isMap ? 'use "{}" to specify the empty map' : 'use "[]" to specify the empty set');
  }
  const keys: Atom[] = [];
  const values: Atom[] = [];
  while (p < s.length && s[p] !== end) {
    if (DELIMS.includes(s[p]!)) throw new VsctlError(`${s}: unexpected "${s[p]!}" parsing ${typeToEnglish(type)}`);
    const start = p;
    const k = parseToken(s, p);
    p = k.pos;
    if (isMap) keys.push(atomFromString(type.key, k.token, symtab));
    else keys.push(...atomsFromString(type.key, k.token, symtab));
    if (isMap) {
      p = skipSpaces(s, p);
      if (s[p] !== '=') throw new VsctlError(`${s.slice(start)}: syntax error at "${s[p] ?? ''}" expecting "="`);
      p = skipSpaces(s, p + 1);
      const v = parseToken(s, p);
      p = v.pos;
      values.push(atomFromString(type.value!, v.token, symtab));
    }
    p = skipSpaces(s, p);
    if (s[p] === ',') p = skipSpaces(s, p + 1);
  }
  if ((s[p] ?? '') !== end) throw new VsctlError(`${s}: missing "${end}" at end of data`);
  if (end) {
    p = skipSpaces(s, p + 1);
    if (p < s.length) throw new VsctlError(`${s}: trailing garbage after "${end}"`);
  }
  if (keys.length < type.min) {
    throw new VsctlError(`${s}: ${keys.length} ${isMap ? 'pair(s)' : 'value(s)'} specified but the minimum number is ${type.min}`);
  }
  if (keys.length > type.max) {
    throw new VsctlError(`${s}: ${keys.length} ${isMap ? 'pair(s)' : 'value(s)'} specified but the maximum number is ${type.max}`);
  }
  try {
    return makeDatum(keys, isMap ? values : undefined, s);
  } catch {
    throw new VsctlError(`${s}: ${isMap ? 'map contains duplicate key' : 'set contains duplicate value'}`);
  }
}

function needsQuotes(s: string): boolean {
  if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(s)) return true;
  return s === 'true' || s === 'false' || UUID_RE.test(s);
}

/** JSON string as OVS's json_to_ds writes it (control characters as \uXXXX, "/" unescaped). */
function jsonString(s: string): string {
  return JSON.stringify(s);
}

export function atomToString(base: BaseType, a: Atom): string {
  switch (base.type) {
    case 'integer':
      return String(a);
    case 'real':
      return fmtReal(a as number);
    case 'boolean':
      return a ? 'true' : 'false';
    case 'string':
      return needsQuotes(a as string) ? jsonString(a as string) : (a as string);
    case 'uuid':
      return a as string;
  }
}

function atomToBare(base: BaseType, a: Atom): string {
  return base.type === 'string' ? (a as string) : atomToString(base, a);
}

/** ovsdb_datum_to_string: a scalar bare, a set in brackets, a map in braces. */
export function datumToString(type: ColumnType, d: Datum): string {
  const isMap = type.value !== undefined;
  const parts = d.keys.map((k, i) => (isMap ? `${atomToString(type.key, k)}=${atomToString(type.value!, d.values![i]!)}` : atomToString(type.key, k)));
  const body = parts.join(', ');
  if (type.max > 1 || d.keys.length === 0) return isMap ? `{${body}}` : `[${body}]`;
  return body;
}

export function datumToBare(type: ColumnType, d: Datum): string {
  const isMap = type.value !== undefined;
  return d.keys.map((k, i) => (isMap ? `${atomToBare(type.key, k)}=${atomToBare(type.value!, d.values![i]!)}` : atomToBare(type.key, k))).join(' ');
}

/**
 * Union of two datums of the same type (ovsdb_datum_union). On a duplicate map key `a`'s value
 * stays, unless `replace`, when `b`'s wins (what "add" does to a map).
 */
export function datumUnion(type: ColumnType, a: Datum, b: Datum, replace = false): Datum {
  const keys = [...a.keys];
  const values = a.values ? [...a.values] : undefined;
  b.keys.forEach((k, i) => {
    const at = keys.findIndex((x) => compareAtoms(x, k) === 0);
    if (at >= 0) {
      if (replace && values) values[at] = b.values![i]!;
      return;
    }
    keys.push(k);
    if (values) values.push(b.values![i]!);
  });
  return makeDatum(keys, type.value ? values : undefined, 'union');
}

/**
 * ovsdb_datum_subtract: removes from `a` the elements of `b`. `b` may be a set of keys for a map
 * (removing those keys) or a map (removing only pairs whose value matches).
 */
export function datumSubtract(a: Datum, b: Datum): Datum {
  const keys: Atom[] = [];
  const values: Atom[] = [];
  a.keys.forEach((k, i) => {
    const j = b.keys.findIndex((x) => compareAtoms(x, k) === 0);
    const drop = j >= 0 && (!b.values || !a.values || compareAtoms(b.values[j]!, a.values[i]!) === 0);
    if (!drop) {
      keys.push(k);
      if (a.values) values.push(a.values[i]!);
    }
  });
  return a.values ? { keys, values } : { keys };
}

/** ovsdb_datum_compare_3way: by size first, then element by element. */
export function datumCompare(a: Datum, b: Datum): number {
  if (a.keys.length !== b.keys.length) return a.keys.length < b.keys.length ? -1 : 1;
  for (let i = 0; i < a.keys.length; i++) {
    const c = compareAtoms(a.keys[i]!, b.keys[i]!);
    if (c !== 0) return c < 0 ? -1 : 1;
  }
  if (a.values && b.values) {
    for (let i = 0; i < a.values.length; i++) {
      const c = compareAtoms(a.values[i]!, b.values[i]!);
      if (c !== 0) return c < 0 ? -1 : 1;
    }
  }
  return 0;
}

/** Does `a` include every element (pair, for maps) of `b`? */
export function datumIncludesAll(a: Datum, b: Datum): boolean {
  return b.keys.every((k, i) => {
    const j = a.keys.findIndex((x) => compareAtoms(x, k) === 0);
    return j >= 0 && (!a.values || !b.values || compareAtoms(a.values[j]!, b.values[i]!) === 0);
  });
}

export function datumExcludesAll(a: Datum, b: Datum): boolean {
  return b.keys.every((k, i) => {
    const j = a.keys.findIndex((x) => compareAtoms(x, k) === 0);
    return j < 0 || (a.values !== undefined && b.values !== undefined && compareAtoms(a.values[j]!, b.values[i]!) !== 0);
  });
}
