// A database kept in a log file: what a transaction record says (the OVS standalone format:
// {"Table": {"uuid": {columns} | null}, "_date": ms, "_comment": "...", "_is_diff": true}), how
// replay rebuilds the database from the records, and what a compacted log holds. As in OVS since
// 2.15, a modified column is written as its update2 diff, so growing a 10 000-port bridge by one
// port logs one uuid, not 10 001.

import { access } from 'node:fs/promises';
import { getLogger } from '../lib/log.js';
import { type Datum, applyDiff, datumDiff, datumEquals, datumFromJSON, datumToJSON, defaultDatum } from './datum.js';
import { type Changeset, Database, type RowChange, makeRow } from './database.js';
import { OvsdbError, show } from './errors.js';
import { type DatabaseSchema, parseSchema, schemaToJSON } from './schema.js';
import { LogFile, type LogFileOptions, type TornTail, writeLogAtomically } from './storage-log.js';
import { UUID_RE } from './types.js';

const log = getLogger('storage');

/** The log record for a committed changeset; ephemeral columns are not persisted. */
export function changesetToRecord(cs: Changeset): Record<string, unknown> {
  const rec: Record<string, unknown> = {};
  for (const ch of cs.changes) {
    const t = ch.table.schema;
    let rows = rec[t.name] as Record<string, unknown> | undefined;
    if (!rows) rec[t.name] = rows = {};
    if (!ch.new) {
      rows[ch.uuid] = null;
      continue;
    }
    const cols: Record<string, unknown> = {};
    for (const c of t.columns) {
      if (c.ephemeral) continue;
      const d = ch.new.data[c.index]!;
      const old = ch.old?.data[c.index] ?? defaultDatum(c.type);
      if (datumEquals(old, d)) continue;
      cols[c.name] = datumToJSON(c.type, ch.old ? datumDiff(c.type, old, d) : d);
    }
    rows[ch.uuid] = cols;
  }
  rec._date = cs.date;
  rec._is_diff = true;
  if (cs.comment !== undefined) rec._comment = cs.comment;
  return rec;
}

/** Schema record then every row as one insert: what compaction writes. */
export function snapshotRecords(db: Database, schemaJson: unknown): unknown[] {
  const changes: RowChange[] = [];
  for (const t of db.tables.values()) for (const row of t.rows.values()) changes.push({ table: t, uuid: row.uuid, old: null, new: row });
  const records: unknown[] = [schemaJson];
  if (changes.length) records.push(changesetToRecord({ changes, date: Date.now(), comment: 'compacted' }));
  return records;
}

/** Turns a log record back into a changeset against `db` (record `n`, for error messages). */
export function recordToChangeset(db: Database, rec: unknown, n: number): Changeset {
  const where = `log record ${n}`;
  if (typeof rec !== 'object' || rec === null || Array.isArray(rec)) throw new OvsdbError('syntax error', `${where} is not a JSON object`);
  const r = rec as Record<string, unknown>;
  const isDiff = r._is_diff === true;
  const changes: RowChange[] = [];
  for (const [tname, rows] of Object.entries(r)) {
    if (tname.startsWith('_')) continue;
    const table = db.tables.get(tname);
    if (!table) throw new OvsdbError('syntax error', `${where} names table ${show(tname)}, which the schema does not have`);
    if (typeof rows !== 'object' || rows === null) throw new OvsdbError('syntax error', `${where}: table ${tname} must map uuids to rows`);
    for (const [uuid, cols] of Object.entries(rows)) {
      if (!UUID_RE.test(uuid)) throw new OvsdbError('syntax error', `${where}: ${show(uuid)} is not a UUID`);
      const old = table.rows.get(uuid) ?? null;
      if (cols === null) {
        if (old) changes.push({ table, uuid, old, new: null });
        continue;
      }
      if (typeof cols !== 'object') throw new OvsdbError('syntax error', `${where}: row ${uuid} must be an object or null`);
      const data: Datum[] = old ? [...old.data] : table.schema.columns.map((c) => defaultDatum(c.type));
      for (const [cname, v] of Object.entries(cols as Record<string, unknown>)) {
        const c = table.schema.columnsByName.get(cname);
        if (!c) throw new OvsdbError('syntax error', `${where}: table ${tname} has no column ${show(cname)}`);
        // OVS's own tools may write diffs for modified sets and maps (the update2 diff form).
        const d = datumFromJSON(c.type, v, `${where} ${tname} ${cname}`, undefined, isDiff && old ? { anyMin: true, anyMax: true } : {});
        data[c.index] = isDiff && old ? applyDiff(c.type, old.data[c.index]!, d) : d;
      }
      changes.push({ table, uuid, old, new: makeRow(uuid, data) });
    }
  }
  return { changes, date: typeof r._date === 'number' ? r._date : 0 };
}

export interface OpenedDatabase {
  db: Database;
  schemaJson: unknown;
  log: LogFile;
  /** Set when the last record was incomplete and has been cut off. */
  torn?: TornTail;
  /** Number of transaction records replayed. */
  transactions: number;
}

/** Creates a new database file holding only `schemaJson` (which must be valid). Fails if it exists. */
export async function createDatabaseFile(path: string, schemaJson: unknown): Promise<DatabaseSchema> {
  const schema = parseSchema(schemaJson);
  const exists = await access(path).then(
    () => true,
    () => false,
  );
  if (exists) throw new OvsdbError('I/O error', `${path} already exists; remove it first or pick another name`);
  await writeLogAtomically(path, [schemaToJSON(schema)]);
  return schema;
}

/** Rebuilds a database from its log records (schema first); errors name the file. */
export function replayRecords(records: unknown[], path: string): Database {
  try {
    const db = new Database(parseSchema(records[0]));
    for (let i = 1; i < records.length; i++) db.apply(recordToChangeset(db, records[i], i));
    return db;
  } catch (e) {
    throw e instanceof OvsdbError ? new OvsdbError(e.tag, `${path}: ${e.details}`) : e;
  }
}

/** Opens a database file, replaying its log; later commits are appended through `log`. */
export async function openDatabaseFile(path: string, opts: Omit<LogFileOptions, 'snapshot'> = {}): Promise<OpenedDatabase> {
  let db: Database | undefined;
  let schemaJson: unknown;
  const { log: lf, records, torn } = await LogFile.open(path, { ...opts, snapshot: () => snapshotRecords(db!, schemaJson) });
  try {
    schemaJson = records[0];
    db = replayRecords(records, path);
  } catch (e) {
    await lf.close();
    throw e;
  }
  log.info(`${path}: loaded ${db.name} with ${db.rowCount()} rows from ${records.length - 1} transactions`);
  const out: OpenedDatabase = { db, schemaJson, log: lf, transactions: records.length - 1 };
  if (torn) out.torn = torn;
  return out;
}
