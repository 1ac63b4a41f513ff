// OVSDB values (RFC 7047 section 5.1): a datum is a sorted set of atoms, or a map from key atoms
// to value atoms. Datums are immutable; rows share them freely.

import { OvsdbError, show, syntaxError } from './errors.js';
import { type Atom, type BaseType, type ColumnType, atomToJSON, compareAtoms, isScalar, parseBareAtom } from './types.js';

export interface Datum {
  /** Sorted by compareAtoms, no duplicates. */
  readonly keys: readonly Atom[];
  /** Present exactly for maps; values[i] belongs to keys[i]. */
  readonly values?: readonly Atom[];
}

/** Resolves ["named-uuid", NAME] inside a transaction; absent where named uuids are not allowed. */
export type NamedUuidResolver = (name: string) => string;

const EMPTY_SET: Datum = Object.freeze({ keys: Object.freeze([]) });
const EMPTY_MAP: Datum = Object.freeze({ keys: Object.freeze([]), values: Object.freeze([]) });

/** A string's length as OVSDB counts it (minLength, maxLength): in code points, not UTF-16 units. */
export function codePoints(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i += s.codePointAt(i)! > 0xffff ? 2 : 1) n++;
  return n;
}

function showAtom(a: Atom): string {
  return typeof a === 'string' ? JSON.stringify(a) : String(a);
}

/** Checks an atom against its base type's constraints (enum, ranges, lengths). */
export function checkAtom(base: BaseType, a: Atom, where: string): void {
  const fail = (why: string): never => {
    throw new OvsdbError('constraint violation', `${where}: ${showAtom(a)} ${why}`);
  };
  if (base.enum && !base.enum.some((e) => compareAtoms(e, a) === 0)) {
    fail(`is not one of the allowed values (${base.enum.map(showAtom).join(', ')})`);
  }
  if (typeof a === 'number') {
    const lo = base.type === 'integer' ? base.minInteger : base.minReal;
    const hi = base.type === 'integer' ? base.maxInteger : base.maxReal;
    if (lo !== undefined && a < lo) fail(`is less than the minimum ${lo}`);
    if (hi !== undefined && a > hi) fail(`is greater than the maximum ${hi}`);
  }
  if (typeof a === 'string' && base.type === 'string' && (base.minLength !== undefined || base.maxLength !== undefined)) {
    const n = codePoints(a);
    if (base.minLength !== undefined && n < base.minLength) fail(`is shorter than the minimum length ${base.minLength}`);
    if (base.maxLength !== undefined && n > base.maxLength) fail(`is longer than the maximum length ${base.maxLength}`);
  }
}

function parseAtom(base: BaseType, json: unknown, where: string, named?: NamedUuidResolver): Atom {
  let a: Atom;
  if (base.type === 'uuid' && named && Array.isArray(json) && json[0] === 'named-uuid') {
    if (json.length !== 2 || typeof json[1] !== 'string') throw syntaxError(`${where}: expected ["named-uuid", "<name>"], got ${show(json)}`);
    a = named(json[1]);
  } else {
    a = parseBareAtom(base.type, json, where);
  }
  checkAtom(base, a, where);
  return a;
}

export interface CountRelaxation {
  /** Accept fewer elements than the column's min (conditions, partial rows). */
  anyMin?: boolean;
  /** Accept more elements than the column's max (includes/excludes, mutations). */
  anyMax?: boolean;
}

function sortUnique(keys: Atom[], values: Atom[] | undefined, where: string): Datum {
  const idx = keys.map((_, i) => i).sort((i, j) => compareAtoms(keys[i]!, keys[j]!));
  const k = idx.map((i) => keys[i]!);
  for (let i = 1; i < k.length; i++) {
    if (compareAtoms(k[i - 1]!, k[i]!) === 0) {
      throw new OvsdbError('constraint violation', `${where}: ${values ? 'map has duplicate key' : 'set has duplicate value'} ${showAtom(k[i]!)}`);
    }
  }
  return values ? { keys: k, values: idx.map((i) => values[i]!) } : { keys: k };
}

export function checkCount(type: ColumnType, n: number, where: string, relax: CountRelaxation = {}): void {
  if (!relax.anyMin && n < type.min) {
    throw new OvsdbError('constraint violation', `${where}: ${n} values where at least ${type.min} ${type.min === 1 ? 'is' : 'are'} required`);
  }
  if (!relax.anyMax && n > type.max) {
    throw new OvsdbError('constraint violation', `${where}: ${n} values where at most ${type.max} ${type.max === 1 ? 'is' : 'are'} allowed`);
  }
}

/** Parses a datum in RFC 7047 <value> notation for a column of `type`. */
export function datumFromJSON(type: ColumnType, json: unknown, where: string, named?: NamedUuidResolver, relax: CountRelaxation = {}): Datum {
  let d: Datum;
  if (type.value) {
    if (!Array.isArray(json) || json.length !== 2 || json[0] !== 'map' || !Array.isArray(json[1])) {
      throw syntaxError(`${where}: expected ["map", [[KEY, VALUE], ...]], got ${show(json)}`);
    }
    const keys: Atom[] = [];
    const values: Atom[] = [];
    (json[1] as unknown[]).forEach((pair, i) => {
      if (!Array.isArray(pair) || pair.length !== 2) throw syntaxError(`${where}: map element ${i} must be a [KEY, VALUE] pair, got ${show(pair)}`);
      keys.push(parseAtom(type.key, pair[0], `${where} key`, named));
      values.push(parseAtom(type.value!, pair[1], `${where} value`, named));
    });
    d = sortUnique(keys, values, where);
  } else if (Array.isArray(json) && json[0] === 'set') {
    if (json.length !== 2 || !Array.isArray(json[1])) throw syntaxError(`${where}: expected ["set", [...]], got ${show(json)}`);
    d = sortUnique((json[1] as unknown[]).map((a) => parseAtom(type.key, a, where, named)), undefined, where);
  } else {
    d = { keys: [parseAtom(type.key, json, where, named)] };
  }
  checkCount(type, d.keys.length, where, relax);
  return d;
}

export function datumToJSON(type: ColumnType, d: Datum): unknown {
  if (type.value) {
    const v = type.value;
    return ['map', d.keys.map((k, i) => [atomToJSON(type.key, k), atomToJSON(v, d.values![i]!)])];
  }
  if (d.keys.length === 1) return atomToJSON(type.key, d.keys[0]!);
  return ['set', d.keys.map((k) => atomToJSON(type.key, k))];
}

function defaultAtom(b: BaseType): Atom {
  switch (b.type) {
    case 'integer':
    case 'real':
      return 0;
    case 'boolean':
      return false;
    case 'string':
      return '';
    case 'uuid':
      return '00000000-0000-0000-0000-000000000000';
  }
}

const defaults = new WeakMap<ColumnType, Datum>();

/** RFC 7047: a column left out of an insert takes the default, the empty set or the type's zero. */
export function defaultDatum(type: ColumnType): Datum {
  let d = defaults.get(type);
  if (!d) {
    if (type.min === 0) d = type.value ? EMPTY_MAP : EMPTY_SET;
    else d = Object.freeze(type.value ? { keys: [defaultAtom(type.key)], values: [defaultAtom(type.value)] } : { keys: [defaultAtom(type.key)] });
    defaults.set(type, d);
  }
  return d;
}

export function datumEquals(a: Datum, b: Datum): boolean {
  if (a === b) return true;
  if (a.keys.length !== b.keys.length) return false;
  for (let i = 0; i < a.keys.length; i++) {
    if (a.keys[i] !== b.keys[i]) return false;
    if (a.values && a.values[i] !== b.values![i]) return false;
  }
  return true;
}

/** Index of `a` in the sorted keys, or -(insertion point)-1. */
export function findKey(d: Datum, a: Atom): number {
  let lo = 0;
  let hi = d.keys.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const c = compareAtoms(d.keys[mid]!, a);
    if (c === 0) return mid;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return -lo - 1;
}

/** Builds a datum from unsorted atoms; duplicates are errors (the caller names the column). */
export function makeDatum(keys: Atom[], values: Atom[] | undefined, where: string): Datum {
  return sortUnique(keys, values, where);
}

/**
 * The update2 <diff> of RFC 7047bis / OVS's monitor_cond: for a scalar column the new value; for a
 * set the elements in exactly one of old and new; for a map the removed pairs, the added pairs and,
 * for a changed value, the new pair. Applying the diff to old yields new (see applyDiff).
 */
export function datumDiff(type: ColumnType, oldD: Datum, newD: Datum): Datum {
  if (isScalar(type)) return newD;
  const keys: Atom[] = [];
  const values: Atom[] = [];
  let i = 0;
  let j = 0;
  while (i < oldD.keys.length || j < newD.keys.length) {
    const c = i >= oldD.keys.length ? 1 : j >= newD.keys.length ? -1 : compareAtoms(oldD.keys[i]!, newD.keys[j]!);
    if (c < 0) {
      keys.push(oldD.keys[i]!);
      if (type.value) values.push(oldD.values![i]!);
      i++;
    } else if (c > 0) {
      keys.push(newD.keys[j]!);
      if (type.value) values.push(newD.values![j]!);
      j++;
    } else {
      if (type.value && oldD.values![i] !== newD.values![j]) {
        keys.push(newD.keys[j]!);
        values.push(newD.values![j]!);
      }
      i++;
      j++;
    }
  }
  return type.value ? { keys, values } : { keys };
}

/** Applies an update2 diff (see datumDiff) to `old`. */
export function applyDiff(type: ColumnType, old: Datum, diff: Datum): Datum {
  if (isScalar(type)) return diff;
  const keys = [...old.keys];
  const values = old.values ? [...old.values] : undefined;
  diff.keys.forEach((k, n) => {
    const at = findKey({ keys }, k);
    if (at >= 0) {
      if (values && values[at] !== diff.values![n]) {
        values[at] = diff.values![n]!;
      } else {
        keys.splice(at, 1);
        values?.splice(at, 1);
      }
    } else {
      keys.splice(-at - 1, 0, k);
      values?.splice(-at - 1, 0, diff.values![n]!);
    }
  });
  return values ? { keys, values } : { keys };
}

/** A canonical string for hashing a datum (index keys, row comparison in "wait"). */
export function datumKey(d: Datum): string {
  return JSON.stringify(d.values ? [d.keys, d.values] : d.keys);
}
