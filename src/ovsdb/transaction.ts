// A transaction: a private overlay of row changes on a Database, and the commit-time checks of
// RFC 7047 section 4.1.3 (references, garbage collection, counts, row limits, unique indexes).

import { type Datum, checkCount, datumEquals } from './datum.js';
import { type Changeset, type Database, type RefKind, type Row, type RowChange, type Table, makeRow, rowRefs } from './database.js';
import { OvsdbError } from './errors.js';

interface Change {
  table: Table;
  old: Row | null;
  new: Row | null;
}

export class Txn {
  private readonly changes = new Map<string, Change>();
  comment: string | undefined;

  constructor(readonly db: Database) {}

  get(table: Table, uuid: string): Row | undefined {
    const c = this.changes.get(uuid);
    if (c) return c.table === table && c.new ? c.new : undefined;
    return table.rows.get(uuid);
  }

  /** True if `uuid` names a row (in any table) as this transaction sees the database. */
  exists(uuid: string): boolean {
    const c = this.changes.get(uuid);
    return c ? c.new !== null : this.db.tableOf(uuid) !== undefined;
  }

  private tableOf(uuid: string): Table | undefined {
    const c = this.changes.get(uuid);
    if (c) return c.new ? c.table : undefined;
    return this.db.tableOf(uuid);
  }

  private current(uuid: string): Row | undefined {
    const c = this.changes.get(uuid);
    return c ? (c.new ?? undefined) : this.db.getRow(uuid);
  }

  *rows(table: Table): Iterable<Row> {
    for (const r of table.rows.values()) {
      const c = this.changes.get(r.uuid);
      if (!c) yield r;
      else if (c.new) yield c.new;
    }
    for (const c of this.changes.values()) if (c.table === table && !c.old && c.new) yield c.new;
  }

  insert(table: Table, uuid: string, data: Datum[]): Row {
    if (this.exists(uuid) || this.changes.has(uuid)) throw new OvsdbError('duplicate uuid', `a row with UUID ${uuid} already exists; pick another "uuid"`);
    const row = makeRow(uuid, data);
    this.changes.set(uuid, { table, old: null, new: row });
    return row;
  }

  update(table: Table, row: Row, data: Datum[]): Row {
    const next = makeRow(row.uuid, data);
    const c = this.changes.get(row.uuid);
    if (c) c.new = next;
    else this.changes.set(row.uuid, { table, old: row, new: next });
    return next;
  }

  delete(table: Table, row: Row): void {
    const c = this.changes.get(row.uuid);
    if (c) c.new = null;
    else this.changes.set(row.uuid, { table, old: row, new: null });
  }

  /** Referrers of `target` with references of `kind`, as this transaction sees them. */
  private referrersOf(target: string, kind: RefKind, txnRefs: Map<string, Set<string>>): Set<string> {
    const out = new Set<string>();
    for (const src of this.db.referrers[kind].get(target) ?? []) if (!this.changes.has(src)) out.add(src);
    for (const src of txnRefs.get(target) ?? []) out.add(src);
    return out;
  }

  /** target -> changed rows whose new version refers to it with references of `kind`. */
  private changedRefs(kind: RefKind): Map<string, Set<string>> {
    const m = new Map<string, Set<string>>();
    for (const [uuid, c] of this.changes) {
      if (!c.new) continue;
      for (const t of rowRefs(c.table.schema, c.new, kind)) {
        let s = m.get(t);
        if (!s) m.set(t, (s = new Set()));
        s.add(uuid);
      }
    }
    return m;
  }

  /** Removes from row `src` its weak references to rows that `isGone`; true if it changed. */
  private dropWeakRefs(src: string, isGone: (uuid: string) => boolean): boolean {
    const row = this.current(src)!;
    const table = this.tableOf(src)!;
    let data: Datum[] | undefined;
    for (const col of table.schema.refColumns) {
      const kWeak = col.type.key.refType === 'weak';
      const vWeak = col.type.value?.refType === 'weak';
      if (!kWeak && !vWeak) continue;
      const d = row.data[col.index]!;
      const keep = d.keys.map((k, i) => !((kWeak && isGone(k as string)) || (vWeak && isGone(d.values![i] as string))));
      if (keep.every(Boolean)) continue;
      data ??= [...row.data];
      const keys = d.keys.filter((_, i) => keep[i]);
      data[col.index] = d.values ? { keys, values: d.values.filter((_, i) => keep[i]) } : { keys };
    }
    if (data) this.update(table, row, data);
    return data !== undefined;
  }

  /**
   * Weak references to missing rows vanish and unreferenced non-root rows are deleted; each can
   * cause the other (a collected row's references go away), so repeat until nothing changes.
   */
  private collectGarbage(): void {
    for (let changed = true; changed; ) {
      changed = false;
      const gone = (u: string): boolean => !this.exists(u);
      const weakRefs = this.changedRefs('weak');
      const suspects = new Set<string>();
      for (const [uuid, c] of this.changes) {
        if (c.new) {
          const targets = rowRefs(c.table.schema, c.new, 'weak');
          if (targets.some(gone)) suspects.add(uuid);
        } else {
          for (const src of this.referrersOf(uuid, 'weak', weakRefs)) suspects.add(src);
        }
      }
      for (const src of suspects) if (this.exists(src) && this.dropWeakRefs(src, gone)) changed = true;

      const strongRefs = this.changedRefs('strong');
      const candidates = new Set<string>();
      for (const [uuid, c] of this.changes) {
        if (c.new && !c.table.schema.isRoot) candidates.add(uuid);
        if (c.old) for (const t of rowRefs(c.table.schema, c.old, 'strong')) candidates.add(t);
      }
      for (const uuid of candidates) {
        const table = this.tableOf(uuid);
        if (!table || table.schema.isRoot) continue;
        if (this.referrersOf(uuid, 'strong', strongRefs).size === 0) {
          this.delete(table, this.current(uuid)!);
          changed = true;
        }
      }
    }
  }

  private checkReferences(): void {
    const strongRefs = this.changedRefs('strong');
    for (const [uuid, c] of this.changes) {
      if (c.new) {
        for (const col of c.table.schema.refColumns) {
          for (const [base, targets] of [[col.type.key, c.new.data[col.index]!.keys], [col.type.value, c.new.data[col.index]!.values ?? []]] as const) {
            if (!base?.refTable || base.refType !== 'strong') continue;
            for (const t of targets) {
              if (this.tableOf(t as string)?.schema.name !== base.refTable) {
                throw new OvsdbError(
                  'referential integrity violation',
                  `table ${c.table.schema.name} column ${col.name} row ${uuid} refers to ${t as string}, which is not a row of table ${base.refTable}`,
                );
              }
            }
          }
        }
      } else if (c.old) {
        const refs = this.referrersOf(uuid, 'strong', strongRefs);
        if (refs.size > 0) {
          const [first] = refs;
          throw new OvsdbError(
            'referential integrity violation',
            `cannot delete ${c.table.schema.name} row ${uuid}: ${refs.size} row(s) still refer to it, e.g. ${this.tableOf(first!)!.schema.name} row ${first!}; remove those references in the same transaction`,
          );
        }
      }
    }
  }

  private checkCountsAndLimits(): void {
    const delta = new Map<Table, number>();
    for (const [uuid, c] of this.changes) {
      delta.set(c.table, (delta.get(c.table) ?? 0) + (c.new ? 1 : 0) - (c.old ? 1 : 0));
      // Values were checked as they came in; only weak-reference removal can break a count now.
      if (c.new) {
        for (const col of c.table.schema.refColumns) checkCount(col.type, c.new.data[col.index]!.keys.length, `table ${c.table.schema.name} row ${uuid} column ${col.name} (after removing weak references to deleted rows)`);
      }
    }
    for (const [t, d] of delta) {
      if (d > 0 && t.rows.size + d > t.schema.maxRows) {
        throw new OvsdbError('constraint violation', `transaction would leave ${t.rows.size + d} rows in table ${t.schema.name}, which allows at most ${t.schema.maxRows}`);
      }
    }
  }

  private checkIndexes(): void {
    const seen = new Map<Table, Map<string, string>[]>();
    for (const [uuid, c] of this.changes) {
      if (!c.new || c.table.schema.indexes.length === 0) continue;
      const t = c.table;
      let maps = seen.get(t);
      if (!maps) seen.set(t, (maps = t.schema.indexes.map(() => new Map<string, string>())));
      t.schema.indexes.forEach((cols, i) => {
        const key = t.indexKey(c.new!, i);
        const names = cols.map((ci) => t.schema.columns[ci]!.name).join(', ');
        const values = cols.map((ci) => JSON.stringify(c.new!.data[ci]!.keys.length === 1 ? c.new!.data[ci]!.keys[0] : c.new!.data[ci]!.keys)).join(', ');
        const dup = maps[i]!.get(key);
        if (dup) {
          throw new OvsdbError('constraint violation', `transaction gives rows ${dup} and ${uuid} of table ${t.schema.name} the same value (${values}) for unique index (${names})`);
        }
        maps[i]!.set(key, uuid);
        const holder = t.indexes[i]!.get(key);
        if (holder && holder !== uuid && !this.changes.has(holder)) {
          throw new OvsdbError('constraint violation', `transaction gives row ${uuid} of table ${t.schema.name} the value (${values}) for unique index (${names}), which existing row ${holder} already has`);
        }
      });
    }
  }

  /** Runs every commit-time check and returns the net changes; throws OvsdbError on violation. */
  commit(date = Date.now()): Changeset {
    this.collectGarbage();
    this.checkReferences();
    this.checkCountsAndLimits();
    this.checkIndexes();
    const changes: RowChange[] = [];
    for (const [uuid, c] of this.changes) {
      if (!c.old && !c.new) continue;
      if (c.old && c.new && c.old.data.every((d, i) => datumEquals(d, c.new!.data[i]!))) continue;
      changes.push({ table: c.table, uuid, old: c.old, new: c.new });
    }
    return this.comment === undefined ? { changes, date } : { changes, date, comment: this.comment };
  }
}
