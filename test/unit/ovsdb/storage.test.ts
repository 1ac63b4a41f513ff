import { appendFileSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../../src/ovsdb/database.js';
import { changesetToRecord, createDatabaseFile, openDatabaseFile, type OpenedDatabase } from '../../../src/ovsdb/db-file.js';
import { executeTransaction } from '../../../src/ovsdb/execute.js';
import { decodeLog } from '../../../src/ovsdb/storage-log.js';
import { TEST_SCHEMA, tempDir } from './helpers.js';

let dir: ReturnType<typeof tempDir>;
let path: string;
const opened: OpenedDatabase[] = [];

async function open(opts = {}): Promise<OpenedDatabase> {
  const o = await openDatabaseFile(path, opts);
  opened.push(o);
  return o;
}

/** Commits `ops` durably, as the server does. */
async function commit(o: OpenedDatabase, ...ops: unknown[]): Promise<void> {
  const out = executeTransaction(o.db, ops, { ownsLock: () => false });
  if (out.kind !== 'done' || !out.changeset) throw new Error(`nothing committed: ${JSON.stringify(out)}`);
  o.db.apply(out.changeset);
  await o.log.append(changesetToRecord(out.changeset));
}

function freeValues(db: Database): number[] {
  return [...db.tables.get('Free')!.rows.values()].map((r) => r.data[0]!.keys[0] as number).sort((a, b) => a - b);
}

beforeEach(async () => {
  dir = tempDir();
  path = dir.file('db');
  await createDatabaseFile(path, TEST_SCHEMA);
});

afterEach(async () => {
  for (const o of opened.splice(0)) await o.log.close().catch(() => undefined);
  dir.remove();
});

describe('the database log', () => {
  it('replays every committed transaction on reopen, updates and deletes included', async () => {
    const a = await open();
    await commit(a, { op: 'insert', table: 'Free', row: { n: 1 } }, { op: 'insert', table: 'Free', row: { n: 2 } });
    await commit(a, { op: 'update', table: 'Free', where: [['n', '==', 2]], row: { n: 20 } });
    await commit(a, { op: 'insert', table: 'Root', row: { name: 'r', children: ['named-uuid', 'c'] } }, { op: 'insert', table: 'Child', 'uuid-name': 'c', row: { name: 'c', attrs: ['map', [['k', 1]]] } });
    await commit(a, { op: 'delete', table: 'Free', where: [['n', '==', 1]] });
    // Modified sets, maps and optional values are logged as diffs; replay must rebuild them exactly.
    await commit(a, { op: 'update', table: 'Child', where: [], row: { tags: ['set', ['p', 'q']], color: 'red' } });
    await commit(a, { op: 'update', table: 'Child', where: [], row: { tags: ['set', ['q', 'r']], attrs: ['map', [['k', 2], ['m', 3]]], color: 'blue' } });
    await a.log.close();
    const b = await open();
    expect(b.transactions).toBe(6);
    expect(freeValues(b.db)).toEqual([20]);
    const [child] = b.db.tables.get('Child')!.rows.values();
    const col = (name: string) => child!.data[b.db.tables.get('Child')!.schema.columnsByName.get(name)!.index];
    expect(col('tags')).toEqual({ keys: ['q', 'r'] });
    expect(col('attrs')).toEqual({ keys: ['k', 'm'], values: [2, 3] });
    expect(col('color')).toEqual({ keys: ['blue'] });
    expect(b.db.check()).toEqual([]);
  });

  it('group-commits concurrent appends and resolves each once it is on disk', async () => {
    const a = await open();
    await Promise.all(Array.from({ length: 50 }, (_, i) => commit(a, { op: 'insert', table: 'Free', row: { n: i } })));
    const decoded = decodeLog(readFileSync(path), path);
    expect(decoded.records).toHaveLength(51);
    expect(decoded.torn).toBeUndefined();
  });

  it('cuts a torn last record, keeps everything before it, and says what it cut', async () => {
    const a = await open();
    await commit(a, { op: 'insert', table: 'Free', row: { n: 1 } });
    await commit(a, { op: 'insert', table: 'Free', row: { n: 2 } });
    await a.log.close();
    const good = statSync(path).size;
    // A crash in the middle of writing the third record leaves its header and part of its body.
    appendFileSync(path, 'OVSDB JSON 120 0123456789012345678901234567890123456789\n{"Free":{"');
    const b = await open();
    expect(b.torn).toEqual({ offset: good, droppedBytes: 66, reason: 'record needs 120 bytes but the file has 10' });
    expect(freeValues(b.db)).toEqual([1, 2]);
    expect(statSync(path).size).toBe(good);
    // The log is usable afterwards: new commits land after the cut.
    await commit(b, { op: 'insert', table: 'Free', row: { n: 3 } });
    await b.log.close();
    expect(freeValues((await open()).db)).toEqual([1, 2, 3]);
  });

  it('detects a last record whose checksum does not match', async () => {
    const a = await open();
    await commit(a, { op: 'insert', table: 'Free', row: { n: 1 } });
    await a.log.close();
    const bytes = readFileSync(path);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 5) ^ 0x01, bytes.length - 5);
    writeFileSync(path, bytes);
    const b = await open();
    expect(b.torn?.reason).toBe('record checksum does not match its contents');
    expect(freeValues(b.db)).toEqual([]);
  });

  it('refuses a file without a schema record, and an existing file on create', async () => {
    truncateSync(path, 10);
    await expect(openDatabaseFile(path)).rejects.toMatchObject({ tag: 'I/O error', details: expect.stringContaining('has no schema record') });
    await expect(createDatabaseFile(path, TEST_SCHEMA)).rejects.toMatchObject({ tag: 'I/O error', details: expect.stringContaining('already exists') });
  });

  it('lets one writer at a time open a file, even within one process', async () => {
    const a = await open();
    await expect(openDatabaseFile(path)).rejects.toMatchObject({ tag: 'I/O error', details: `${path} is already open for writing in this process` });
    expect(readFileSync(dir.file('.db.~lock~'), 'utf8')).toBe(`${process.pid}\n`);
    await a.log.close();
    const b = await open();
    await b.log.close();
  });

  it('is not blocked by a lock file that names a live process which holds no lock', async () => {
    // After a reboot or kill -9 the file may name any pid, reused by now by an unrelated process.
    writeFileSync(dir.file('.db.~lock~'), `${process.ppid}\n`);
    const a = await open();
    expect(readFileSync(dir.file('.db.~lock~'), 'utf8')).toBe(`${process.pid}\n`);
    await a.log.close();
  });

  it('compacts on request into a schema record plus one snapshot, atomically', async () => {
    const a = await open();
    for (let i = 0; i < 20; i++) await commit(a, { op: 'insert', table: 'Free', row: { n: i } });
    await commit(a, { op: 'delete', table: 'Free', where: [['n', '>=', 10]] });
    const before = statSync(path).size;
    await a.log.compact();
    expect(statSync(path).size).toBeLessThan(before);
    expect(decodeLog(readFileSync(path), path).records).toHaveLength(2);
    await commit(a, { op: 'insert', table: 'Free', row: { n: 99 } });
    await a.log.close();
    const b = await open();
    expect(freeValues(b.db)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 99]);
  });

  it('compacts by itself once the log passes its size threshold', async () => {
    const a = await open({ compactMinBytes: 2000 });
    for (let i = 0; i < 40; i++) await commit(a, { op: 'update', table: 'Free', where: [], row: { n: i } }, { op: 'insert', table: 'Free', row: { n: 1000 + i } });
    await a.log.flushed();
    expect(decodeLog(readFileSync(path), path).records.length).toBeLessThan(41);
    await a.log.close();
    expect((await open()).db.tables.get('Free')!.rows.size).toBe(40);
  });
});
