// The OVSDB server: databases, listeners, and one session per client connection speaking the
// methods of RFC 7047 section 4.1 plus OVS's monitor_cond / monitor_cond_since / _Server
// extensions that current ovs-vsctl and ovsdb-client depend on.
//
// Durability: a commit is applied in memory at once (later transactions see it) and its record
// is group-committed to the log; the reply and every monitor update it causes are sent only when
// the record is on disk, through a per-session queue that keeps each client's messages in order.

import { createServer, type Server, type Socket } from 'node:net';
import { lstat, mkdir, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DEFAULT_MAX_MESSAGE_BYTES, type IncomingRequest, JsonRpcConnection } from '../lib/jsonrpc.js';
import { getLogger } from '../lib/log.js';
import { LongTimeout } from '../lib/timer.js';
import type { Changeset, Database } from './database.js';
import { changesetToRecord, openDatabaseFile } from './db-file.js';
import { OvsdbError, show, syntaxError } from './errors.js';
import { type ExecOutcome, executeTransaction } from './execute.js';
import { LockTable } from './lock.js';
import { Monitor, type MonitorVersion, type TableUpdates } from './monitor.js';
import { parseListen } from './remote.js';
import { schemaToJSON } from './schema.js';
import { addDatabaseRow, createServerDatabase, SERVER_SCHEMA_JSON } from './server-db.js';
import type { LogFile, TornTail } from './storage-log.js';
import { createTlsServer, type TlsFiles } from '../lib/tls.js';
import { listenOwnerOnly } from '../lib/unix-socket.js';

const log = getLogger('ovsdb_server');

/** Standalone databases have no transaction history to resume from; OVS answers with zeros too. */
const ZERO_TXN_ID = '00000000-0000-0000-0000-000000000000';

interface Served {
  db: Database;
  schemaJson: unknown;
  log?: LogFile;
  readOnly: boolean;
  monitors: Set<SessionMonitor>;
  /** Transactions whose "wait" is not yet satisfied, retried after every commit. */
  blocked: BlockedTxn[];
  /**
   * Set when a log write failed: memory is then ahead of the disk, and a later record could refer
   * to rows the disk never got, so the database refuses changes until a restart replays the log.
   */
  writeFailure?: OvsdbError;
}

interface SessionMonitor {
  session: Session;
  monitor: Monitor;
  served: Served;
}

interface BlockedTxn {
  session: Session;
  id: unknown;
  ops: unknown[];
  timer?: LongTimeout;
}

export interface ServerOptions {
  maxMessageBytes?: number;
  /** Compact a database log automatically past this size (see LogFile). */
  compactMinBytes?: number;
}

class Session {
  readonly monitors = new Map<string, SessionMonitor>();
  readonly locks = new Set<string>();
  dbChangeAware = false;
  private chain: Promise<void> = Promise.resolve();

  constructor(readonly conn: JsonRpcConnection) {}

  /** Sends `send()` after `durable` and after everything queued earlier for this session. */
  enqueue(durable: Promise<unknown>, send: () => void, onError: (e: OvsdbError) => void): void {
    this.chain = this.chain.then(() => durable).then(send, (e: unknown) => onError(e instanceof OvsdbError ? e : new OvsdbError('I/O error', String(e))));
  }
}

export class OvsdbServer {
  private readonly dbs = new Map<string, Served>();
  private readonly sessions = new Set<Session>();
  /** The listeners, by the remote given to listen(). */
  private readonly listeners = new Map<string, Server>();
  private readonly unixPaths: string[] = [];
  private readonly locks = new LockTable<Session>();
  private readonly serverDb: Served;
  private readonly maxMessageBytes: number;
  /**
   * Transactions that changed a database and were written (committed), and
   * those answered with an error (failed); read-only ones count in neither.
   */
  readonly transactions = { committed: 0, failed: 0 };

  constructor(private readonly opts: ServerOptions = {}) {
    this.maxMessageBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.serverDb = { db: createServerDatabase(), schemaJson: SERVER_SCHEMA_JSON, readOnly: true, monitors: new Set(), blocked: [] };
    this.dbs.set('_Server', this.serverDb);
    this.describe('_Server', SERVER_SCHEMA_JSON);
  }

  get databaseNames(): string[] {
    return [...this.dbs.keys()];
  }

  /** Opens and serves a database file; reports a torn tail that replay cut off. */
  async addDatabaseFile(path: string): Promise<{ name: string; torn?: TornTail }> {
    const opened = await openDatabaseFile(path, this.opts.compactMinBytes === undefined ? {} : { compactMinBytes: this.opts.compactMinBytes });
    if (this.dbs.has(opened.db.name)) {
      await opened.log.close();
      throw new OvsdbError('I/O error', `${path}: a database named ${opened.db.name} is already being served`);
    }
    this.addDatabase(opened.db, opened.schemaJson, opened.log);
    return opened.torn ? { name: opened.db.name, torn: opened.torn } : { name: opened.db.name };
  }

  /** Serves `db`, durable through `log` if given, in memory only otherwise. */
  addDatabase(db: Database, schemaJson: unknown, logFile?: LogFile): void {
    const served: Served = { db, schemaJson, readOnly: false, monitors: new Set(), blocked: [] };
    if (logFile) served.log = logFile;
    this.dbs.set(db.name, served);
    this.describe(db.name, schemaJson);
  }

  private describe(name: string, schemaJson: unknown): void {
    this.publish(this.serverDb, addDatabaseRow(this.serverDb.db, name, schemaJson), Promise.resolve());
  }

  /**
   * Listens on punix:PATH, ptcp:PORT[:IP] or pssl:PORT[:IP]; returns the bound remote (with the
   * real port). pssl: takes its key, certificate and CA from `tls`, read again for each client.
   */
  async listen(remote: string, tls?: () => TlsFiles): Promise<string> {
    const addr = parseListen(remote);
    let server: Server;
    if (addr.kind === 'tcp' && addr.tls) {
      if (!tls) throw new OvsdbError('I/O error', `${remote}: SSL/TLS needs a private key, certificate and CA certificate: give --private-key, --certificate and --ca-cert`);
      try {
        server = createTlsServer(tls, remote, (socket) => this.accept(socket));
      } catch (e) {
        throw new OvsdbError('I/O error', `${remote}: ${(e as Error).message}`);
      }
    } else server = createServer((socket) => this.accept(socket));
    if (addr.kind === 'unix') {
      // The default, $TVS_RUNDIR/db.sock, lives in a directory that a fresh boot does not have.
      await mkdir(dirname(addr.path), { recursive: true });
      await this.removeStaleSocket(addr.path);
    }
    if (addr.kind === 'unix') await listenOwnerOnly(server, addr.path);
    else {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(addr.port, addr.host, resolve);
      });
    }
    server.on('error', (e) => log.err(`${remote}: ${e.message}`));
    this.listeners.set(remote, server);
    if (addr.kind === 'unix') {
      this.unixPaths.push(addr.path);
      return remote;
    }
    const bound = server.address();
    const port = typeof bound === 'object' && bound ? bound.port : addr.port;
    return `${addr.tls ? 'pssl' : 'ptcp'}:${port}:${addr.host}`;
  }

  /**
   * Resolves a `db:DB,TABLE,COLUMN` reference as ovsdb-server does for its TLS options: the first
   * non-empty string in COLUMN of any row of TABLE (undefined if there is none yet); anything not
   * starting with `db:` is returned as it is.
   */
  queryString(ref: string): string | undefined {
    if (!ref.startsWith('db:')) return ref;
    const [dbName, tableName, columnName] = ref.slice(3).split(',');
    if (dbName === undefined || tableName === undefined || columnName === undefined) throw new OvsdbError('syntax error', `"${ref}": invalid syntax; use db:DATABASE,TABLE,COLUMN`);
    const db = this.dbs.get(dbName)?.db;
    if (!db) throw new OvsdbError('unknown database', `"${ref}": no database named ${dbName}`);
    const table = db.tables.get(tableName);
    if (!table) throw new OvsdbError('syntax error', `"${ref}": no table named ${tableName}`);
    const column = table.schema.columnsByName.get(columnName);
    if (!column) throw new OvsdbError('syntax error', `"${ref}": table "${tableName}" has no column "${columnName}"`);
    for (const row of table.rows.values()) {
      const hit = row.data[column.index]?.keys.find((k) => typeof k === 'string' && k !== '');
      if (typeof hit === 'string') return hit;
    }
    return undefined;
  }

  /** A socket file left by a killed server would make listen() fail; anything else is kept. */
  private async removeStaleSocket(path: string): Promise<void> {
    const st = await lstat(path).catch(() => undefined);
    if (!st) return;
    if (!st.isSocket()) throw new OvsdbError('I/O error', `${path} exists and is not a socket; refusing to replace it`);
    await unlink(path);
  }

  /**
   * Compacts the log of database `name`, or of every served database with a
   * log: the file is rewritten atomically (temp file + rename). Returns the
   * names compacted.
   */
  async compact(name?: string): Promise<string[]> {
    if (name !== undefined && !this.dbs.has(name)) throw new OvsdbError('unknown database', `${name}: no such database is served here`);
    const targets = [...this.dbs].filter(([n, served]) => served.log && (name === undefined || n === name));
    for (const [, served] of targets) await served.log!.compact();
    return targets.map(([n]) => n);
  }

  /** Stops listening on `remote` (as given to listen()); its clients stay connected, as ovsdb-server's do. */
  async unlisten(remote: string): Promise<void> {
    const server = this.listeners.get(remote);
    if (!server) return;
    this.listeners.delete(remote);
    server.close();
    const addr = parseListen(remote);
    if (addr.kind === 'unix') {
      this.unixPaths.splice(this.unixPaths.indexOf(addr.path), 1);
      await unlink(addr.path).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    for (const l of this.listeners.values()) l.close();
    for (const s of this.sessions) s.conn.destroy();
    for (const p of this.unixPaths) await unlink(p).catch(() => undefined);
    for (const served of this.dbs.values()) {
      for (const b of served.blocked) b.timer?.clear();
      await served.log?.close();
    }
  }

  private accept(socket: Socket): void {
    const name = socket.remoteAddress ? `${'encrypted' in socket ? 'ssl' : 'tcp'}:${socket.remoteAddress}:${socket.remotePort ?? 0}` : 'unix';
    const session = new Session(new JsonRpcConnection(socket, name, this.maxMessageBytes));
    this.sessions.add(session);
    log.info(`${name}: connected`);
    session.conn.handlers = {
      onRequest: (req) => this.handle(session, req),
      onNotification: (method, params) => {
        // "cancel" is the one notification RFC 7047 defines for clients to send.
        if (method === 'cancel' && Array.isArray(params) && params.length === 1) this.cancel(session, params[0]);
        else log.dbg(`${name}: ignoring notification ${method}`);
      },
      onClose: (midMessage) => {
        log.info(`${name}: disconnected${midMessage ? ' in the middle of a message, which was discarded' : ''}`);
        this.endSession(session);
      },
    };
  }

  private endSession(session: Session): void {
    this.sessions.delete(session);
    for (const m of session.monitors.values()) m.served.monitors.delete(m);
    for (const served of this.dbs.values()) {
      served.blocked = served.blocked.filter((b) => {
        if (b.session !== session) return true;
        b.timer?.clear();
        return false;
      });
    }
    for (const name of session.locks) this.releaseLock(name, session);
  }

  private handle(session: Session, req: IncomingRequest): void {
    const reply = (result: unknown): void => session.enqueue(Promise.resolve(), () => session.conn.reply(req.id, result), () => undefined);
    const fail = (e: OvsdbError): void => session.enqueue(Promise.resolve(), () => session.conn.replyError(req.id, e.toJSON()), () => undefined);
    try {
      const params = req.params;
      if (!Array.isArray(params)) throw syntaxError(`"${req.method}" params must be a JSON array, got ${show(params)}`);
      switch (req.method) {
        case 'echo':
          return reply(params);
        case 'list_dbs':
          return reply(this.databaseNames);
        case 'get_schema':
          return reply(schemaToJSON(this.served(params[0]).db.schema));
        case 'transact':
          return this.transact(session, req.id, params);
        case 'monitor':
          return this.monitor(session, req.id, params, 1);
        case 'monitor_cond':
          return this.monitor(session, req.id, params, 2);
        case 'monitor_cond_since':
          return this.monitor(session, req.id, params, 3);
        case 'monitor_cancel':
          return reply(this.monitorCancel(session, params));
        case 'lock':
        case 'steal':
        case 'unlock':
          return reply(this.lockMethod(session, req.method, params));
        case 'set_db_change_aware':
          if (params.length !== 1 || typeof params[0] !== 'boolean') throw syntaxError('"set_db_change_aware" takes [true] or [false]');
          session.dbChangeAware = params[0];
          return reply({});
        case 'cancel':
          throw syntaxError('"cancel" must be sent as a notification (with "id": null)');
        default:
          throw new OvsdbError(
            'unknown method',
            `"${req.method}" is not a method of this server (it knows list_dbs, get_schema, transact, cancel, monitor, monitor_cond, monitor_cond_since, monitor_cancel, lock, steal, unlock, echo, set_db_change_aware)`,
          );
      }
    } catch (e) {
      if (e instanceof OvsdbError) return fail(e);
      log.err(`${session.conn.name}: ${req.method} failed: ${(e as Error).stack ?? String(e)}`);
      session.enqueue(Promise.resolve(), () => session.conn.replyError(req.id, { error: 'internal error', details: String(e) }), () => undefined);
    }
  }

  private served(name: unknown): Served {
    const s = typeof name === 'string' ? this.dbs.get(name) : undefined;
    if (!s) throw new OvsdbError('unknown database', `${show(name)} is not served here (databases: ${this.databaseNames.join(', ')})`);
    return s;
  }

  private transact(session: Session, id: unknown, params: unknown[]): void {
    const served = this.served(params[0]);
    this.runTransaction({ session, id, ops: params.slice(1) }, served, false);
  }

  /** Runs a transaction; false if it blocked on a "wait" and should stay queued. */
  private runTransaction(t: BlockedTxn, served: Served, timedOut: boolean): boolean {
    let out: ExecOutcome;
    try {
      out = executeTransaction(served.db, t.ops, {
        ownsLock: (name) => this.locks.owns(name, t.session),
        readOnly: served.readOnly,
        timedOut,
      });
    } catch (e) {
      log.err(`${t.session.conn.name}: transaction failed: ${(e as Error).stack ?? String(e)}`);
      this.transactions.failed++;
      t.session.enqueue(Promise.resolve(), () => t.session.conn.replyError(t.id, { error: 'internal error', details: String(e) }), () => undefined);
      return true;
    }
    if (out.kind === 'blocked') {
      if (!served.blocked.includes(t)) served.blocked.push(t);
      // The timeout is the client's: it may exceed what setTimeout holds.
      t.timer ??= new LongTimeout(() => {
        served.blocked = served.blocked.filter((b) => b !== t);
        this.runTransaction(t, served, true);
      }, out.timeoutMs);
      return false;
    }
    const results = out.results;
    let durable: Promise<unknown> = served.log?.flushed() ?? Promise.resolve();
    if (out.changeset && served.writeFailure) {
      const refusal = new OvsdbError('I/O error', `database ${served.db.name} accepts no changes since a log write failed (${served.writeFailure.details}); restart the server`);
      this.transactions.failed++;
      t.session.enqueue(Promise.resolve(), () => t.session.conn.reply(t.id, [...results, refusal.toJSON()]), () => undefined);
      return true;
    }
    if (out.changeset) {
      served.db.apply(out.changeset);
      if (served.log) {
        durable = served.log.append(changesetToRecord(out.changeset));
        durable.catch((e: unknown) => (served.writeFailure ??= e instanceof OvsdbError ? e : new OvsdbError('I/O error', String(e))));
      }
      this.publish(served, out.changeset, durable);
    }
    if (results.some((r) => typeof r === 'object' && r !== null && 'error' in r)) this.transactions.failed++;
    else if (out.changeset) durable.then(() => this.transactions.committed++, () => this.transactions.failed++);
    t.session.enqueue(
      durable,
      () => t.session.conn.reply(t.id, results),
      (e) => t.session.conn.reply(t.id, [...results, e.toJSON()]),
    );
    if (out.changeset) this.retryBlocked(served);
    return true;
  }

  private retryBlocked(served: Served): void {
    if (served.blocked.length === 0) return;
    const pending = served.blocked;
    served.blocked = [];
    for (const t of pending) if (this.runTransaction(t, served, false)) t.timer?.clear();
  }

  private cancel(session: Session, id: unknown): void {
    const key = JSON.stringify(id);
    for (const served of this.dbs.values()) {
      const hit = served.blocked.find((b) => b.session === session && JSON.stringify(b.id) === key);
      if (!hit) continue;
      served.blocked = served.blocked.filter((b) => b !== hit);
      hit.timer?.clear();
      session.enqueue(Promise.resolve(), () => session.conn.replyError(hit.id, new OvsdbError('canceled', 'the client canceled this transaction').toJSON()), () => undefined);
    }
  }

  /** Tells every monitor of `served` about a commit, once `durable` resolves. */
  private publish(served: Served, cs: Changeset, durable: Promise<unknown>): void {
    for (const m of served.monitors) {
      const updates = m.monitor.update(cs);
      if (!updates) continue;
      const send = (): void => this.sendUpdate(m, updates);
      // A failed write is reported to the committing client; monitors still follow memory.
      m.session.enqueue(durable, send, send);
    }
  }

  private sendUpdate(m: SessionMonitor, updates: TableUpdates): void {
    const mon = m.monitor;
    if (mon.version === 1) m.session.conn.notify('update', [mon.id, updates]);
    else if (mon.version === 2) m.session.conn.notify('update2', [mon.id, updates]);
    else m.session.conn.notify('update3', [mon.id, ZERO_TXN_ID, updates]);
  }

  private monitor(session: Session, id: unknown, params: unknown[], version: MonitorVersion): void {
    const method = ['monitor', 'monitor_cond', 'monitor_cond_since'][version - 1]!;
    const expected = version === 3 ? 4 : 3;
    if (params.length !== expected) {
      throw syntaxError(`"${method}" takes [db, monitor-id, monitor-requests${version === 3 ? ', last-txn-id' : ''}], got ${params.length} parameters`);
    }
    const served = this.served(params[0]);
    const key = JSON.stringify(params[1]);
    if (session.monitors.has(key)) throw new OvsdbError('duplicate monitor ID', `this session already has a monitor with id ${key}; cancel it first or pick another id`);
    const monitor = Monitor.parse(served.db, params[1], version, params[2]);
    const sm: SessionMonitor = { session, monitor, served };
    session.monitors.set(key, sm);
    served.monitors.add(sm);
    const initial = monitor.initial();
    const result = version === 3 ? [false, ZERO_TXN_ID, initial] : initial;
    // The snapshot may include commits still being written: reply once they are durable.
    session.enqueue(served.log?.flushed() ?? Promise.resolve(), () => session.conn.reply(id, result), () => session.conn.reply(id, result));
  }

  private monitorCancel(session: Session, params: unknown[]): unknown {
    if (params.length !== 1) throw syntaxError('"monitor_cancel" takes [monitor-id]');
    const key = JSON.stringify(params[0]);
    const sm = session.monitors.get(key);
    if (!sm) throw new OvsdbError('unknown monitor', `this session has no monitor with id ${key}`);
    session.monitors.delete(key);
    sm.served.monitors.delete(sm);
    return {};
  }

  private lockMethod(session: Session, method: 'lock' | 'steal' | 'unlock', params: unknown[]): unknown {
    if (params.length !== 1 || typeof params[0] !== 'string') throw syntaxError(`"${method}" takes [lock-name]`);
    const name = params[0];
    if (method === 'unlock') {
      if (!session.locks.has(name)) throw new OvsdbError('unknown lock', `this session neither holds nor waits for lock "${name}"`);
      this.releaseLock(name, session);
      return {};
    }
    if (method === 'lock') {
      if (session.locks.has(name)) throw new OvsdbError('duplicate lock', `this session already holds or waits for lock "${name}"`);
      session.locks.add(name);
      return { locked: this.locks.lock(name, session) };
    }
    session.locks.add(name);
    const victim = this.locks.steal(name, session);
    if (victim && victim !== session) {
      victim.locks.delete(name);
      victim.enqueue(Promise.resolve(), () => victim.conn.notify('stolen', [name]), () => undefined);
    }
    return { locked: true };
  }

  private releaseLock(name: string, session: Session): void {
    session.locks.delete(name);
    const next = this.locks.unlock(name, session);
    if (next) next.enqueue(Promise.resolve(), () => next.conn.notify('locked', [name]), () => undefined);
  }
}
