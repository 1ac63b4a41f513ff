// Monitors (RFC 7047 section 4.1.5 "monitor", and OVS's "monitor_cond"/"monitor_cond_since"
// extensions): which tables, columns and rows a client follows, and the table-updates it is sent
// initially and after each commit. Version 1 sends whole rows as "old"/"new"; versions 2 and 3
// (update2/update3) send "initial"/"insert" without default columns, "delete": null, and
// "modify" with a diff per changed column.

import { type Condition, evalCondition, parseCondition } from './condition.js';
import { datumDiff, datumEquals, datumToJSON, defaultDatum } from './datum.js';
import type { Changeset, Database, Row, Table } from './database.js';
import { OvsdbError, show, syntaxError } from './errors.js';
import type { ColumnSchema } from './schema.js';

export type MonitorVersion = 1 | 2 | 3;

interface Select {
  initial: boolean;
  insert: boolean;
  delete: boolean;
  modify: boolean;
}

interface TableMonitor {
  table: Table;
  columns: ColumnSchema[];
  select: Select;
  /** A row is followed if it satisfies any of these; undefined means every row. */
  conditions?: Condition[];
}

export type TableUpdates = Record<string, Record<string, unknown>>;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseSelect(json: unknown, where: string): Select {
  const s: Select = { initial: true, insert: true, delete: true, modify: true };
  if (json === undefined) return s;
  if (!isObject(json)) throw syntaxError(`${where}: "select" must be an object, got ${show(json)}`);
  for (const [k, v] of Object.entries(json)) {
    if (!(k in s)) throw syntaxError(`${where}: "select" has unknown member "${k}" (use initial, insert, delete, modify)`);
    if (typeof v !== 'boolean') throw syntaxError(`${where}: "select.${k}" must be true or false`);
    s[k as keyof Select] = v;
  }
  return s;
}

export class Monitor {
  private constructor(
    readonly id: unknown,
    readonly version: MonitorVersion,
    private readonly tables: Map<Table, TableMonitor>,
  ) {}

  /** Parses <monitor-requests>: {table: request or [requests]}. */
  static parse(db: Database, id: unknown, version: MonitorVersion, json: unknown): Monitor {
    if (!isObject(json)) throw syntaxError(`monitor requests must be an object mapping table names to requests, got ${show(json)}`);
    const tables = new Map<Table, TableMonitor>();
    for (const [tname, reqs] of Object.entries(json)) {
      const table = db.tables.get(tname);
      if (!table) throw syntaxError(`cannot monitor table ${show(tname)}: database ${db.name} has no such table`);
      const list = Array.isArray(reqs) ? reqs : [reqs];
      const columns = new Map<string, ColumnSchema>();
      const select: Select = { initial: false, insert: false, delete: false, modify: false };
      let conditions: Condition[] | undefined = [];
      for (const [n, req] of list.entries()) {
        const where = `monitor request ${n} for table ${tname}`;
        if (!isObject(req)) throw syntaxError(`${where} must be an object, got ${show(req)}`);
        for (const k of Object.keys(req)) {
          if (k !== 'columns' && k !== 'select' && !(k === 'where' && version > 1)) throw syntaxError(`${where}: unknown member "${k}"`);
        }
        if (req.columns === undefined) for (const c of table.schema.columns) columns.set(c.name, c);
        else if (!Array.isArray(req.columns)) throw syntaxError(`${where}: "columns" must be an array of column names`);
        else {
          for (const name of req.columns) {
            const c = typeof name === 'string' ? table.schema.columnsByName.get(name) : undefined;
            if (!c) throw new OvsdbError('unknown column', `${where}: table ${tname} has no column ${show(name)}`);
            columns.set(c.name, c);
          }
        }
        const s = parseSelect(req.select, where);
        for (const k of Object.keys(s) as (keyof Select)[]) select[k] ||= s[k];
        if (req.where === undefined) conditions = undefined;
        else conditions?.push(parseCondition(table.schema, req.where, true, `${where} "where"`));
      }
      const tm: TableMonitor = { table, columns: [...columns.values()], select };
      if (conditions) tm.conditions = conditions;
      tables.set(table, tm);
    }
    return new Monitor(id, version, tables);
  }

  private follows(tm: TableMonitor, row: Row): boolean {
    return !tm.conditions || tm.conditions.some((c) => evalCondition(c, row));
  }

  private wholeRow(tm: TableMonitor, row: Row, skipDefaults: boolean): Record<string, unknown> {
    const o: Record<string, unknown> = {};
    for (const c of tm.columns) {
      const d = row.data[c.index]!;
      if (skipDefaults && datumEquals(d, defaultDatum(c.type))) continue;
      o[c.name] = datumToJSON(c.type, d);
    }
    return o;
  }

  /** The reply to the monitor request: every followed row, if "initial" is selected. */
  initial(): TableUpdates {
    const out: TableUpdates = {};
    for (const tm of this.tables.values()) {
      if (!tm.select.initial) continue;
      const rows: Record<string, unknown> = {};
      let any = false;
      for (const row of tm.table.rows.values()) {
        if (!this.follows(tm, row)) continue;
        rows[row.uuid] = this.version === 1 ? { new: this.wholeRow(tm, row, false) } : { initial: this.wholeRow(tm, row, true) };
        any = true;
      }
      if (any) out[tm.table.schema.name] = rows;
    }
    return out;
  }

  /** What this monitor is told about a commit, or null if nothing it follows changed. */
  update(cs: Changeset): TableUpdates | null {
    let out: TableUpdates | null = null;
    for (const ch of cs.changes) {
      const tm = this.tables.get(ch.table);
      if (!tm) continue;
      const wasIn = ch.old !== null && this.follows(tm, ch.old);
      const isIn = ch.new !== null && this.follows(tm, ch.new);
      let u: unknown;
      if (!wasIn && isIn && tm.select.insert) {
        u = this.version === 1 ? { new: this.wholeRow(tm, ch.new, false) } : { insert: this.wholeRow(tm, ch.new, true) };
      } else if (wasIn && !isIn && tm.select.delete) {
        u = this.version === 1 ? { old: this.wholeRow(tm, ch.old, false) } : { delete: null };
      } else if (wasIn && isIn && tm.select.modify) {
        const changed = tm.columns.filter((c) => !datumEquals(ch.old!.data[c.index]!, ch.new!.data[c.index]!));
        if (changed.length === 0) continue;
        if (this.version === 1) {
          const old: Record<string, unknown> = {};
          for (const c of changed) old[c.name] = datumToJSON(c.type, ch.old.data[c.index]!);
          u = { old, new: this.wholeRow(tm, ch.new, false) };
        } else {
          const diff: Record<string, unknown> = {};
          for (const c of changed) diff[c.name] = datumToJSON(c.type, datumDiff(c.type, ch.old.data[c.index]!, ch.new.data[c.index]!));
          u = { modify: diff };
        }
      } else {
        continue;
      }
      out ??= {};
      (out[tm.table.schema.name] ??= {})[ch.uuid] = u;
    }
    return out;
  }
}
