// Database schemas (RFC 7047 section 3.2): parsed and checked once, so that every later stage
// can trust table and column names, types and references.

import { OvsdbError, show, syntaxError } from './errors.js';
import { type ColumnType, columnTypeToJSON, parseColumnType } from './types.js';

export interface ColumnSchema {
  name: string;
  type: ColumnType;
  /** Ephemeral columns are not written to disk. */
  ephemeral: boolean;
  mutable: boolean;
  /** Position in the table's row arrays. */
  index: number;
}

export interface TableSchema {
  name: string;
  columns: ColumnSchema[];
  columnsByName: Map<string, ColumnSchema>;
  /** Effective: true for every table when no table of the schema says isRoot. */
  isRoot: boolean;
  /** As written in the schema, for get_schema. */
  declaredRoot: boolean;
  maxRows: number;
  /** Each index is a list of column positions whose combined values must be unique. */
  indexes: number[][];
  /** Columns holding references, precomputed for integrity checks. */
  refColumns: ColumnSchema[];
}

export interface DatabaseSchema {
  name: string;
  version: string;
  cksum?: string;
  tables: Map<string, TableSchema>;
}

const ID_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const VERSION_RE = /^\d+\.\d+\.\d+$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkMembers(o: Record<string, unknown>, allowed: string[], where: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw syntaxError(`${where}: unknown member "${k}" (allowed: ${allowed.join(', ')})`);
  }
}

function parseColumn(name: string, json: unknown, index: number, where: string): ColumnSchema {
  if (!isObject(json)) throw syntaxError(`${where}: a column must be an object, got ${show(json)}`);
  checkMembers(json, ['type', 'ephemeral', 'mutable'], where);
  if (json.type === undefined) throw syntaxError(`${where}: column has no "type"`);
  for (const k of ['ephemeral', 'mutable']) {
    if (json[k] !== undefined && typeof json[k] !== 'boolean') throw syntaxError(`${where}: "${k}" must be true or false`);
  }
  return {
    name,
    type: parseColumnType(json.type, `${where}.type`),
    ephemeral: json.ephemeral === true,
    mutable: json.mutable !== false,
    index,
  };
}

function parseTable(name: string, json: unknown, where: string): TableSchema {
  if (!isObject(json)) throw syntaxError(`${where}: a table must be an object, got ${show(json)}`);
  checkMembers(json, ['columns', 'maxRows', 'isRoot', 'indexes'], where);
  if (!isObject(json.columns) || Object.keys(json.columns).length === 0) throw syntaxError(`${where}: "columns" must be an object with at least one column`);
  const columns: ColumnSchema[] = [];
  for (const [cname, cjson] of Object.entries(json.columns)) {
    if (!ID_RE.test(cname) || cname.startsWith('_')) {
      throw syntaxError(`${where}: column name "${cname}" is not a valid identifier (letters, digits and "_", not starting with "_" or a digit)`);
    }
    columns.push(parseColumn(cname, cjson, columns.length, `${where}.columns.${cname}`));
  }
  const byName = new Map(columns.map((c) => [c.name, c]));
  let maxRows = Infinity;
  if (json.maxRows !== undefined) {
    if (typeof json.maxRows !== 'number' || !Number.isInteger(json.maxRows) || json.maxRows < 1) throw syntaxError(`${where}: "maxRows" must be a positive integer`);
    maxRows = json.maxRows;
  }
  if (json.isRoot !== undefined && typeof json.isRoot !== 'boolean') throw syntaxError(`${where}: "isRoot" must be true or false`);
  const indexes: number[][] = [];
  if (json.indexes !== undefined) {
    if (!Array.isArray(json.indexes)) throw syntaxError(`${where}: "indexes" must be an array of column-name arrays`);
    json.indexes.forEach((ix, n) => {
      if (!Array.isArray(ix) || ix.length === 0) throw syntaxError(`${where}: index ${n} must be a non-empty array of column names`);
      indexes.push(
        ix.map((c) => {
          const col = typeof c === 'string' ? byName.get(c) : undefined;
          if (!col) throw syntaxError(`${where}: index ${n} names ${show(c)}, which is not a column of table ${name}`);
          if (col.ephemeral) throw syntaxError(`${where}: index ${n} uses ephemeral column ${col.name}; indexed columns must be persistent`);
          return col.index;
        }),
      );
    });
  }
  return {
    name,
    columns,
    columnsByName: byName,
    isRoot: json.isRoot === true,
    declaredRoot: json.isRoot === true,
    maxRows,
    indexes,
    refColumns: columns.filter((c) => c.type.key.refTable !== undefined || c.type.value?.refTable !== undefined),
  };
}

/** Parses and validates a schema; errors name the path of the offending member. */
export function parseSchema(json: unknown): DatabaseSchema {
  if (!isObject(json)) throw syntaxError(`schema must be a JSON object, got ${show(json)}`);
  checkMembers(json, ['name', 'version', 'cksum', 'tables', 'doc'], 'schema');
  if (typeof json.name !== 'string' || !ID_RE.test(json.name)) throw syntaxError(`schema: "name" must be an identifier, got ${show(json.name)}`);
  if (json.version !== undefined && (typeof json.version !== 'string' || !VERSION_RE.test(json.version))) {
    throw syntaxError(`schema: "version" must look like "x.y.z", got ${show(json.version)}`);
  }
  if (json.cksum !== undefined && typeof json.cksum !== 'string') throw syntaxError('schema: "cksum" must be a string');
  if (!isObject(json.tables)) throw syntaxError('schema: "tables" must be an object');
  const tables = new Map<string, TableSchema>();
  for (const [tname, tjson] of Object.entries(json.tables)) {
    if (!ID_RE.test(tname) || tname.startsWith('_')) throw syntaxError(`schema: table name "${tname}" is not a valid identifier`);
    tables.set(tname, parseTable(tname, tjson, `schema.tables.${tname}`));
  }
  // RFC 7047: a schema where no table says isRoot predates garbage collection: all tables are roots.
  if (![...tables.values()].some((t) => t.isRoot)) for (const t of tables.values()) t.isRoot = true;
  for (const t of tables.values()) {
    for (const c of t.columns) {
      for (const b of [c.type.key, c.type.value]) {
        if (b?.refTable !== undefined && !tables.has(b.refTable)) {
          throw syntaxError(`schema.tables.${t.name}.columns.${c.name}: refTable "${b.refTable}" is not a table of this schema`);
        }
      }
    }
  }
  const schema: DatabaseSchema = { name: json.name, version: json.version ?? '0.0.0', tables };
  if (typeof json.cksum === 'string') schema.cksum = json.cksum;
  return schema;
}

export function schemaToJSON(s: DatabaseSchema): Record<string, unknown> {
  const tables: Record<string, unknown> = {};
  for (const t of s.tables.values()) {
    const columns: Record<string, unknown> = {};
    for (const c of t.columns) {
      const cj: Record<string, unknown> = { type: columnTypeToJSON(c.type) };
      if (c.ephemeral) cj.ephemeral = true;
      if (!c.mutable) cj.mutable = false;
      columns[c.name] = cj;
    }
    const tj: Record<string, unknown> = { columns };
    if (t.declaredRoot) tj.isRoot = true;
    if (t.maxRows !== Infinity) tj.maxRows = t.maxRows;
    if (t.indexes.length) tj.indexes = t.indexes.map((ix) => ix.map((i) => t.columns[i]!.name));
    tables[t.name] = tj;
  }
  const o: Record<string, unknown> = { name: s.name, version: s.version };
  if (s.cksum !== undefined) o.cksum = s.cksum;
  o.tables = tables;
  return o;
}

export function getColumn(t: TableSchema, name: unknown): ColumnSchema {
  const c = typeof name === 'string' ? t.columnsByName.get(name) : undefined;
  if (!c) throw new OvsdbError('unknown column', `unknown column ${show(name)} in table ${t.name}`);
  return c;
}
