// A transaction over a monitored replica, in the manner of OVS's IDL (lib/ovsdb-idl.c): reads see
// the transaction's own writes, `verify` records the read values as prerequisites ("wait" ops with
// until "=="), inserted rows are named in the request and referenced by named-uuid, rows of
// non-root tables are left for the server's garbage collection, and a transaction that changes
// nothing is not sent at all.

import { randomUUID } from 'node:crypto';
import { type Datum, datumEquals, datumToJSON, defaultDatum } from '../ovsdb/datum.js';
import type { Replica } from '../ovsdb/replica.js';
import type { DatabaseSchema, TableSchema } from '../ovsdb/schema.js';
import type { ColumnType } from '../ovsdb/types.js';

export class TxnRow {
  /** Columns written by this transaction. */
  readonly written = new Map<string, Datum>();
  /** Columns whose read value must still hold at commit. */
  readonly prereqs = new Set<string>();
  deleted = false;

  constructor(
    readonly table: TableSchema,
    readonly uuid: string,
    /** The committed row's values; undefined for a row this transaction inserts. */
    readonly old: ReadonlyMap<string, Datum> | undefined,
    /** An explicit uuid for the insert (create --id=UUID). */
    readonly persistUuid = false,
  ) {}

  get inserted(): boolean {
    return this.old === undefined;
  }

  get(column: string): Datum {
    const w = this.written.get(column);
    if (w) return w;
    const c = this.table.columnsByName.get(column)!;
    return this.old?.get(column) ?? defaultDatum(c.type);
  }
}

export type TxnStatus =
  | { status: 'unchanged' }
  | { status: 'success'; inserted: Map<string, string>; nextCfg?: number }
  | { status: 'try-again' }
  | { status: 'error'; error: string };

export interface Increment {
  table: string;
  row: string;
  column: string;
}

function uuidName(uuid: string): string {
  return `row${uuid.replace(/-/g, '_')}`;
}

export class Txn {
  private readonly rows = new Map<string, TxnRow>();
  private readonly order: TxnRow[] = [];
  comment: string | undefined;
  increment: Increment | undefined;

  constructor(
    readonly schema: DatabaseSchema,
    private readonly replica: Replica,
  ) {}

  table(name: string): TableSchema {
    return this.schema.tables.get(name)!;
  }

  private track(row: TxnRow): TxnRow {
    if (!this.rows.has(row.uuid)) {
      this.rows.set(row.uuid, row);
      this.order.push(row);
    }
    return row;
  }

  /** The row with this uuid in `table` as this transaction sees it (undefined if absent or deleted). */
  row(table: string, uuid: string): TxnRow | undefined {
    const t = this.rows.get(uuid);
    if (t) return t.table.name === table && !t.deleted ? t : undefined;
    const r = this.replica.row(table, uuid);
    if (!r) return undefined;
    return this.track(new TxnRow(this.table(table), uuid, r.columns));
  }

  /** Every live row of `table`, committed rows first (in the replica's order), then inserted ones. */
  rowsOf(table: string): TxnRow[] {
    const out: TxnRow[] = [];
    for (const r of this.replica.rows(table)) {
      const row = this.row(table, r.uuid);
      if (row) out.push(row);
    }
    for (const r of this.order) if (r.inserted && !r.deleted && r.table.name === table) out.push(r);
    return out;
  }

  insert(table: string, uuid?: string): TxnRow {
    const persist = uuid !== undefined && !uuid.startsWith('@');
    return this.track(new TxnRow(this.table(table), uuid ?? randomUUID(), undefined, persist));
  }

  write(row: TxnRow, column: string, d: Datum): void {
    row.written.set(column, d);
  }

  delete(row: TxnRow): void {
    row.deleted = true;
  }

  verify(row: TxnRow, column: string): void {
    if (row.inserted || row.written.has(column)) return;
    row.prereqs.add(column);
  }

  /** Is `uuid` a row this transaction inserts (so references to it are named-uuids)? */
  isInserted(uuid: string): boolean {
    const r = this.rows.get(uuid);
    return r !== undefined && r.inserted && !r.persistUuid;
  }

  private json(type: ColumnType, d: Datum): unknown {
    const sub = (v: unknown): unknown => {
      if (Array.isArray(v)) {
        if (v.length === 2 && v[0] === 'uuid' && typeof v[1] === 'string' && this.isInserted(v[1])) return ['named-uuid', uuidName(v[1])];
        return v.map(sub);
      }
      return v;
    };
    return sub(datumToJSON(type, d));
  }

  private whereUuid(uuid: string): unknown[] {
    return [['_uuid', '==', this.isInserted(uuid) ? ['named-uuid', uuidName(uuid)] : ['uuid', uuid]]];
  }

  /** The transact operations, or undefined when nothing changes (OVS's TXN_UNCHANGED). */
  operations(): { ops: unknown[]; inserts: Map<string, number>; incIndex?: number } | undefined {
    const ops: unknown[] = [];
    const inserts = new Map<string, number>();
    for (const row of this.order) {
      if (row.prereqs.size === 0 || row.deleted) continue;
      const columns = [...row.prereqs];
      const r: Record<string, unknown> = {};
      for (const c of columns) r[c] = this.json(row.table.columnsByName.get(c)!.type, row.old!.get(c) ?? defaultDatum(row.table.columnsByName.get(c)!.type));
      ops.push({ op: 'wait', table: row.table.name, timeout: 0, where: this.whereUuid(row.uuid), until: '==', columns, rows: [r] });
    }
    let anyUpdates = false;
    for (const t of this.schema.tables.values()) {
      if (t.maxRows !== 1) continue;
      const initial = this.replica.rows(t.name).length;
      const final = this.rowsOf(t.name).length;
      if (initial === 0 && final === 1) ops.push({ op: 'wait', table: t.name, where: [], timeout: 0, until: '==', rows: [] });
    }
    for (const row of this.order) {
      if (row.deleted) {
        if (row.inserted) continue;
        if (row.table.isRoot) {
          ops.push({ op: 'delete', table: row.table.name, where: this.whereUuid(row.uuid) });
          anyUpdates = true;
        }
        continue;
      }
      if (!row.inserted && row.written.size === 0) continue;
      const r: Record<string, unknown> = {};
      for (const [c, d] of row.written) {
        const type = row.table.columnsByName.get(c)!.type;
        if (!row.inserted || !datumEquals(d, defaultDatum(type))) {
          r[c] = this.json(type, d);
          if (!row.inserted && !datumEquals(row.old!.get(c) ?? defaultDatum(type), d)) anyUpdates = true;
        }
      }
      if (row.inserted) {
        anyUpdates = true;
        inserts.set(row.uuid, ops.length);
        ops.push(
          row.persistUuid
            ? { op: 'insert', table: row.table.name, uuid: row.uuid, row: r }
            : { op: 'insert', table: row.table.name, 'uuid-name': uuidName(row.uuid), row: r },
        );
      } else if (Object.keys(r).length > 0) {
        ops.push({ op: 'update', table: row.table.name, where: this.whereUuid(row.uuid), row: r });
      }
    }
    if (!anyUpdates) return undefined;
    let incIndex: number | undefined;
    if (this.increment) {
      const { table, row, column } = this.increment;
      ops.push({ op: 'mutate', table, where: this.whereUuid(row), mutations: [[column, '+=', 1]] });
      incIndex = ops.length;
      ops.push({ op: 'select', table, where: this.whereUuid(row), columns: [column] });
    }
    if (this.comment) ops.push({ op: 'comment', comment: this.comment });
    return { ops, inserts, incIndex };
  }
}

/** Interprets a transact reply as OVS's IDL does (ovsdb_idl_txn_process_reply). */
export function txnStatus(results: unknown[], inserts: Map<string, number>, incIndex: number | undefined): TxnStatus {
  let hard: string | undefined;
  let soft = false;
  for (const r of results) {
    if (r === null) {
      soft = true;
    } else if (typeof r === 'object' && !Array.isArray(r)) {
      const e = (r as Record<string, unknown>).error;
      if (e === undefined) continue;
      if (e === 'timed out' || e === 'unknown database') soft = true;
      else if (e !== 'aborted' && hard === undefined) hard = sortedJson(r);
    }
  }
  if (hard !== undefined) return { status: 'error', error: hard };
  if (soft) return { status: 'try-again' };
  const inserted = new Map<string, string>();
  for (const [dummy, idx] of inserts) {
    const u = (results[idx] as { uuid?: unknown } | undefined)?.uuid;
    if (Array.isArray(u) && typeof u[1] === 'string') inserted.set(dummy, u[1]);
  }
  let nextCfg: number | undefined;
  if (incIndex !== undefined) {
    const rows = (results[incIndex] as { rows?: Record<string, unknown>[] } | undefined)?.rows;
    const v = rows?.[0] ? Object.values(rows[0])[0] : undefined;
    if (typeof v === 'number') nextCfg = v;
  }
  return { status: 'success', inserted, nextCfg };
}

/** JSON with object keys sorted, as OVS's json_to_string(JSSF_SORT). */
function sortedJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(sortedJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${sortedJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}
