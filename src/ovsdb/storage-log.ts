// The append-only log file, in the framing OVS uses for standalone databases so that Debian's
// ovsdb-tool can read our files too: each record is "OVSDB JSON <length> <sha1>\n" followed by
// <length> bytes of JSON and newline, whose SHA-1 is <sha1>. Record 0 is the schema; every later
// record is one committed transaction. Appends are group-committed: every record handed in
// during one turn of the event loop goes out in a single write+fsync at the end of that turn.
// Like ovsdb-server, which is single-threaded too, the fsync runs inline: a thread-pool hop per
// commit costs more than it saves, and requests that arrive meanwhile simply join the next batch.

import { createHash } from 'node:crypto';
import { type FileHandle, open, rename, unlink } from 'node:fs/promises';
import { closeSync, fdatasyncSync, fsyncSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseJson } from '../lib/json.js';
import { LockHeldError, Lockfile, lockfileName } from '../lib/lockfile.js';
import { getLogger } from '../lib/log.js';
import { OvsdbError } from './errors.js';

const log = getLogger('storage');
const MAGIC = 'OVSDB JSON';
const HEADER_RE = /^OVSDB JSON (\d+) ([0-9a-f]{40})$/;

function encodeRecord(json: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(json) + '\n', 'utf8');
  const sha1 = createHash('sha1').update(body).digest('hex');
  return Buffer.concat([Buffer.from(`${MAGIC} ${body.length} ${sha1}\n`, 'utf8'), body]);
}

export interface TornTail {
  /** Byte offset where the last good record ends; the file was cut here. */
  offset: number;
  droppedBytes: number;
  reason: string;
}

export interface DecodedLog {
  records: unknown[];
  /** Offset just past the last good record. */
  goodBytes: number;
  torn?: TornTail;
}

/** Splits a log file's bytes into records; stops at the first incomplete or corrupt one. */
export function decodeLog(buf: Buffer, path: string): DecodedLog {
  const records: unknown[] = [];
  let off = 0;
  const stop = (reason: string): DecodedLog => ({ records, goodBytes: off, torn: { offset: off, droppedBytes: buf.length - off, reason } });
  while (off < buf.length) {
    const nl = buf.indexOf(0x0a, off);
    if (nl < 0) return stop('record header is incomplete');
    const header = buf.subarray(off, nl).toString('latin1');
    const m = HEADER_RE.exec(header);
    if (!m) {
      if (off === 0 && header.startsWith('CLUSTER')) throw new OvsdbError('not supported', `${path} is a clustered OVSDB database; TVS serves standalone databases only`);
      return stop(`bad record header ${JSON.stringify(header.slice(0, 60))}`);
    }
    const len = Number(m[1]);
    const end = nl + 1 + len;
    if (end > buf.length) return stop(`record needs ${len} bytes but the file has ${buf.length - nl - 1}`);
    const body = buf.subarray(nl + 1, end);
    if (createHash('sha1').update(body).digest('hex') !== m[2]) return stop('record checksum does not match its contents');
    try {
      records.push(parseJson(body.toString('utf8')));
    } catch (e) {
      return stop(`record is not valid JSON (${(e as Error).message})`);
    }
    off = end;
  }
  return { records, goodBytes: off };
}

function fsyncDir(path: string): void {
  const fd = openSync(dirname(path), 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes `records` to a new file at `path` atomically: a temp file, fsync, rename, fsync dir. */
export async function writeLogAtomically(path: string, records: unknown[]): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w', 0o644);
  try {
    await fh.write(Buffer.concat(records.map(encodeRecord)));
    await fh.sync();
  } catch (e) {
    await fh.close();
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fh.close();
  await rename(tmp, path);
  fsyncDir(path);
}

/**
 * Claims `path` for writing through its lock file, as OVS's ".DB.~lock~": two writers would
 * interleave records. The kernel releases the lock when its holder dies, so a writer that was
 * killed (kill -9, a crash, a reboot) never blocks the next one.
 */
function lockForWriting(path: string): Lockfile {
  try {
    return Lockfile.lock(path);
  } catch (e) {
    if (!(e instanceof LockHeldError)) throw new OvsdbError('I/O error', `${path}: cannot lock ${lockfileName(path)}: ${(e as Error).message}`);
    if (e.holderPid === process.pid) throw new OvsdbError('I/O error', `${path} is already open for writing in this process`);
    const holder = e.holderPid === undefined ? 'another process' : `process ${e.holderPid}`;
    throw new OvsdbError('I/O error', `${path} is in use by ${holder} (lock file ${e.lockPath}); stop that process first`);
  }
}

interface Waiter {
  resolve: () => void;
  reject: (e: Error) => void;
}

export interface LogFileOptions {
  /** Produces the records of a compacted log (schema, then all rows as one transaction). */
  snapshot: () => unknown[];
  /** Compact once the file exceeds this size and has grown 4x since the last compaction. */
  compactMinBytes?: number;
}

export class LogFile {
  private queue: Buffer[] = [];
  private waiters: Waiter[] = [];
  private compactRequested: Waiter[] = [];
  private scheduled = false;
  private rewriting = false;
  private sizeAfterCompaction: number;
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly lock: Lockfile,
    private fh: FileHandle,
    private bytes: number,
    private readonly opts: LogFileOptions,
  ) {
    this.sizeAfterCompaction = bytes;
  }

  /**
   * Opens an existing log: returns its records and, if the tail was torn (a crash mid-write),
   * cuts the file back to the last whole record, which is the last acknowledged transaction.
   */
  static async open(path: string, opts: LogFileOptions): Promise<{ log: LogFile; records: unknown[]; torn?: TornTail }> {
    const lock = lockForWriting(path);
    let fh: FileHandle;
    try {
      fh = await open(path, 'r+');
    } catch (e) {
      lock.unlock();
      throw e;
    }
    try {
      const buf = await fh.readFile();
      const decoded = decodeLog(buf, path);
      if (decoded.records.length === 0) {
        throw new OvsdbError('I/O error', `${path} has no schema record${decoded.torn ? ` (${decoded.torn.reason})` : ''}; it is not an OVSDB database file`);
      }
      if (decoded.torn) {
        log.warn(`${path}: ${decoded.torn.reason} at offset ${decoded.torn.offset}; discarding the last ${decoded.torn.droppedBytes} bytes (an unfinished write)`);
        await fh.truncate(decoded.goodBytes);
        await fh.sync();
      }
      const lf = new LogFile(path, lock, fh, decoded.goodBytes, opts);
      return decoded.torn ? { log: lf, records: decoded.records, torn: decoded.torn } : { log: lf, records: decoded.records };
    } catch (e) {
      await fh.close();
      lock.unlock();
      throw e;
    }
  }

  /** Resolves once `record` is on disk (written and fsync'd). */
  append(record: unknown): Promise<void> {
    if (this.closed) return Promise.reject(new OvsdbError('I/O error', `${this.path} is closed`));
    this.queue.push(encodeRecord(record));
    return this.wait(this.waiters);
  }

  /** Rewrites the log as a snapshot; resolves when the new file is in place. */
  compact(): Promise<void> {
    return this.wait(this.compactRequested);
  }

  /** Resolves when every record appended so far is on disk. */
  flushed(): Promise<void> {
    if (!this.scheduled && !this.rewriting && this.queue.length === 0) return Promise.resolve();
    return this.wait(this.waiters);
  }

  /** Waits for everything appended so far, then closes the file and releases the lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.flushed();
    this.closed = true;
    await this.fh.close();
    this.lock.unlock();
  }

  private wait(list: Waiter[]): Promise<void> {
    return new Promise((resolve, reject) => {
      list.push({ resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.rewriting) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    const auto = this.bytes > Math.max(this.opts.compactMinBytes ?? 10 * 1024 * 1024, 4 * this.sizeAfterCompaction);
    if (this.compactRequested.length > 0 || auto) {
      void this.rewrite();
      return;
    }
    const batch = Buffer.concat(this.queue);
    const waiters = this.waiters;
    this.queue = [];
    this.waiters = [];
    try {
      if (batch.length > 0) {
        writeSync(this.fh.fd, batch, 0, batch.length, this.bytes);
        fdatasyncSync(this.fh.fd);
        this.bytes += batch.length;
      }
      for (const w of waiters) w.resolve();
    } catch (e) {
      // The file may now end in a partial record; cut it back so later appends stay readable.
      try {
        ftruncateSync(this.fh.fd, this.bytes);
      } catch {
        // Already failing: the error below is the one to report.
      }
      const err = new OvsdbError('I/O error', `writing ${this.path}: ${(e as Error).message}`);
      log.err(err.message);
      for (const w of waiters) w.reject(err);
    }
  }

  /** Compaction: the snapshot already contains every queued transaction, so the queue is dropped. */
  private async rewrite(): Promise<void> {
    this.rewriting = true;
    const requested = this.compactRequested;
    const waiters = this.waiters;
    const queued = this.queue;
    this.compactRequested = [];
    this.waiters = [];
    this.queue = [];
    const records = this.opts.snapshot();
    const before = this.bytes;
    try {
      await writeLogAtomically(this.path, records);
      const fh = await open(this.path, 'r+');
      await this.fh.close();
      this.fh = fh;
      this.bytes = (await fh.stat()).size;
      this.sizeAfterCompaction = this.bytes;
      log.info(`${this.path}: compacted from ${before} to ${this.bytes} bytes`);
      for (const w of [...requested, ...waiters]) w.resolve();
    } catch (e) {
      const err = new OvsdbError('I/O error', `compacting ${this.path}: ${(e as Error).message}`);
      log.err(err.message);
      // Stop retrying automatically until the file has grown again.
      this.sizeAfterCompaction = this.bytes;
      for (const w of requested) w.reject(err);
      // Queued transactions are in memory but not on disk: append them to the old file after all.
      this.queue = [...queued, ...this.queue];
      this.waiters = [...waiters, ...this.waiters];
    } finally {
      this.rewriting = false;
      if (this.queue.length > 0 || this.waiters.length > 0 || this.compactRequested.length > 0) this.schedule();
    }
  }
}
