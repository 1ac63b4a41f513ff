// A client's local copy of the monitored part of a database, kept current from update2/update3
// notifications (the diff form needs the column types, hence the schema).

import { EventEmitter } from 'node:events';
import { type Datum, applyDiff, datumFromJSON, datumToJSON, defaultDatum } from './datum.js';
import { OvsdbError, show } from './errors.js';
import type { DatabaseSchema, TableSchema } from './schema.js';
import type { TableUpdates } from './monitor.js';

function versionOf(v: unknown): string | undefined {
  return Array.isArray(v) && v[0] === 'uuid' && typeof v[1] === 'string' ? v[1] : undefined;
}

export class ReplicaRow {
  /** The row's _version, when the server sends it (ovsdb-server does for monitors without "columns"). */
  version: string | undefined;

  constructor(
    readonly uuid: string,
    private readonly table: TableSchema,
    /** Only the monitored columns. */
    readonly columns: Map<string, Datum>,
  ) {}

  /** The column's value as a datum (the type's default if the column is monitored but unset). */
  get(column: string): Datum {
    const d = this.columns.get(column);
    if (d) return d;
    const c = this.table.columnsByName.get(column);
    if (!c) throw new OvsdbError('unknown column', `table ${this.table.name} has no column ${show(column)}`);
    return defaultDatum(c.type);
  }

  /** The row in RFC 7047 wire notation, e.g. for printing. */
  toJSON(): Record<string, unknown> {
    const o: Record<string, unknown> = { _uuid: ['uuid', this.uuid] };
    for (const [name, d] of this.columns) o[name] = datumToJSON(this.table.columnsByName.get(name)!.type, d);
    return o;
  }
}

export class Replica extends EventEmitter<{ update: [updates: TableUpdates] }> {
  readonly tables = new Map<string, Map<string, ReplicaRow>>();

  constructor(readonly schema: DatabaseSchema) {
    super();
  }

  rows(table: string): ReplicaRow[] {
    return [...(this.tables.get(table)?.values() ?? [])];
  }

  row(table: string, uuid: string): ReplicaRow | undefined {
    return this.tables.get(table)?.get(uuid);
  }

  /** Replaces the contents with a monitor's initial reply (after a (re)connection). */
  reset(initial: TableUpdates): void {
    this.tables.clear();
    this.apply(initial);
  }

  /** Applies table-updates in update2 form ("initial"/"insert"/"modify"/"delete"). */
  apply(updates: TableUpdates): void {
    for (const [tname, rows] of Object.entries(updates)) {
      const t = this.schema.tables.get(tname);
      if (!t) throw new OvsdbError('syntax error', `update names table ${show(tname)}, which the schema does not have`);
      let table = this.tables.get(tname);
      if (!table) this.tables.set(tname, (table = new Map<string, ReplicaRow>()));
      for (const [uuid, u] of Object.entries(rows)) {
        const upd = u as Record<string, Record<string, unknown> | null>;
        if ('delete' in upd) {
          table.delete(uuid);
          continue;
        }
        const values = upd.initial ?? upd.insert;
        if (values) {
          const row = new ReplicaRow(uuid, t, new Map());
          for (const [c, v] of Object.entries(values)) {
            if (c === '_version') row.version = versionOf(v);
            else row.columns.set(c, this.parse(t, c, v, false));
          }
          table.set(uuid, row);
        } else if (upd.modify) {
          const row = table.get(uuid);
          if (!row) throw new OvsdbError('syntax error', `update modifies ${tname} row ${uuid}, which the replica does not have`);
          for (const [c, v] of Object.entries(upd.modify)) {
            if (c === '_version') row.version = versionOf(v);
            else row.columns.set(c, applyDiff(t.columnsByName.get(c)?.type ?? this.unknown(t, c), row.get(c), this.parse(t, c, v, true)));
          }
        }
      }
    }
    this.emit('update', updates);
  }

  private unknown(t: TableSchema, column: string): never {
    throw new OvsdbError('unknown column', `update names column ${show(column)}, which table ${t.name} does not have`);
  }

  private parse(t: TableSchema, column: string, v: unknown, diff: boolean): Datum {
    const c = t.columnsByName.get(column) ?? this.unknown(t, column);
    return datumFromJSON(c.type, v, `${t.name}.${column}`, undefined, diff ? { anyMin: true, anyMax: true } : {});
  }
}
