// The in-memory database: tables of rows, unique indexes, and reverse reference maps that make
// referential integrity and garbage collection proportional to a transaction's size, not the
// database's. Only Txn.commit() (and log replay, which repeats past commits) changes it.

import { randomUUID } from 'node:crypto';
import { type Datum, checkCount, datumKey } from './datum.js';
import type { ColumnSchema, DatabaseSchema, TableSchema } from './schema.js';

export interface Row {
  readonly uuid: string;
  /** RFC 7047 _version: changes on every modification of the row. */
  readonly version: string;
  /** Indexed by ColumnSchema.index. */
  readonly data: readonly Datum[];
}

export interface RowChange {
  readonly table: Table;
  readonly uuid: string;
  readonly old: Row | null;
  readonly new: Row | null;
}

export interface Changeset {
  readonly changes: readonly RowChange[];
  readonly comment?: string;
  /** Milliseconds since the epoch, as OVS writes "_date". */
  readonly date: number;
}

export function newUuid(): string {
  return randomUUID();
}

export function makeRow(uuid: string, data: readonly Datum[]): Row {
  return { uuid, version: newUuid(), data };
}

export type RefKind = 'strong' | 'weak';

/** Uuids `row` refers to with references of `kind` through `col`. */
function columnRefs(col: ColumnSchema, row: Row, kind: RefKind, out: string[]): void {
  const d = row.data[col.index]!;
  if (col.type.key.refTable !== undefined && col.type.key.refType === kind) for (const k of d.keys) out.push(k as string);
  if (col.type.value?.refTable !== undefined && col.type.value.refType === kind) for (const v of d.values!) out.push(v as string);
}

export function rowRefs(t: TableSchema, row: Row, kind: RefKind): string[] {
  const out: string[] = [];
  for (const c of t.refColumns) columnRefs(c, row, kind, out);
  return out;
}

export class Table {
  readonly rows = new Map<string, Row>();
  /** One map per schema index: index key -> uuid of the row holding it. */
  readonly indexes: Map<string, string>[];

  constructor(readonly schema: TableSchema) {
    this.indexes = schema.indexes.map(() => new Map<string, string>());
  }

  indexKey(row: Row, ix: number): string {
    return this.schema.indexes[ix]!.map((c) => datumKey(row.data[c]!)).join('\u0000');
  }
}

function addRef(map: Map<string, Set<string>>, target: string, src: string): void {
  let s = map.get(target);
  if (!s) map.set(target, (s = new Set()));
  s.add(src);
}

export class Database {
  readonly tables = new Map<string, Table>();
  /** Which table each row belongs to (uuids are unique database-wide). */
  private readonly owner = new Map<string, Table>();
  /** target uuid -> uuids of rows referring to it, by reference kind. */
  readonly referrers: Record<RefKind, Map<string, Set<string>>> = { strong: new Map(), weak: new Map() };

  constructor(readonly schema: DatabaseSchema) {
    for (const t of schema.tables.values()) this.tables.set(t.name, new Table(t));
  }

  get name(): string {
    return this.schema.name;
  }

  tableOf(uuid: string): Table | undefined {
    return this.owner.get(uuid);
  }

  getRow(uuid: string): Row | undefined {
    return this.owner.get(uuid)?.rows.get(uuid);
  }

  rowCount(): number {
    return this.owner.size;
  }

  apply(cs: Changeset): void {
    for (const ch of cs.changes) {
      const t = ch.table;
      if (ch.old) {
        for (const kind of ['strong', 'weak'] as const) {
          for (const target of rowRefs(t.schema, ch.old, kind)) this.referrers[kind].get(target)?.delete(ch.uuid);
        }
        t.indexes.forEach((ix, i) => {
          const k = t.indexKey(ch.old!, i);
          if (ix.get(k) === ch.uuid) ix.delete(k);
        });
      }
      if (ch.new) {
        t.rows.set(ch.uuid, ch.new);
        this.owner.set(ch.uuid, t);
      } else {
        t.rows.delete(ch.uuid);
        this.owner.delete(ch.uuid);
        this.referrers.strong.delete(ch.uuid);
        this.referrers.weak.delete(ch.uuid);
      }
    }
    // Second pass: a row's new references may point at rows inserted later in the same changeset.
    for (const ch of cs.changes) {
      if (!ch.new) continue;
      const t = ch.table;
      for (const kind of ['strong', 'weak'] as const) {
        for (const target of rowRefs(t.schema, ch.new, kind)) addRef(this.referrers[kind], target, ch.uuid);
      }
      t.indexes.forEach((ix, i) => ix.set(t.indexKey(ch.new!, i), ch.uuid));
    }
  }

  /**
   * Checks every invariant a committed database must satisfy and returns one line per problem:
   * value constraints are enforced on the way in, so this looks at what spans rows: references,
   * garbage, indexes, row limits, counts.
   */
  check(): string[] {
    const problems: string[] = [];
    const referenced = new Set<string>();
    for (const t of this.tables.values()) {
      if (t.rows.size > t.schema.maxRows) problems.push(`table ${t.schema.name} has ${t.rows.size} rows, more than its maxRows ${t.schema.maxRows}`);
      const seen = t.schema.indexes.map(() => new Map<string, string>());
      for (const row of t.rows.values()) {
        for (const c of t.schema.columns) {
          try {
            checkCount(c.type, row.data[c.index]!.keys.length, `${t.schema.name} row ${row.uuid} column ${c.name}`);
          } catch (e) {
            problems.push((e as Error).message);
          }
        }
        for (const c of t.schema.refColumns) {
          const d = row.data[c.index]!;
          for (const [base, targets] of [[c.type.key, d.keys], [c.type.value, d.values ?? []]] as const) {
            if (!base?.refTable) continue;
            for (const target of targets as string[]) {
              if (this.owner.get(target)?.schema.name !== base.refTable) {
                problems.push(`${t.schema.name} row ${row.uuid} column ${c.name} has a ${base.refType ?? 'strong'} reference to ${target}, which is not a row of ${base.refTable}`);
              }
              if (base.refType === 'strong') referenced.add(target);
            }
          }
        }
        t.indexes.forEach((_, i) => {
          const k = t.indexKey(row, i);
          const other = seen[i]!.get(k);
          if (other) problems.push(`${t.schema.name} rows ${other} and ${row.uuid} share values for unique index ${i}`);
          seen[i]!.set(k, row.uuid);
        });
      }
    }
    for (const t of this.tables.values()) {
      if (t.schema.isRoot) continue;
      for (const uuid of t.rows.keys()) {
        if (!referenced.has(uuid)) problems.push(`${t.schema.name} row ${uuid} is in a non-root table but nothing refers to it (it should have been garbage-collected)`);
      }
    }
    return problems;
  }
}
