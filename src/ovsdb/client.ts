// The OVSDB client library for TVS's own tools and daemons: requests and transactions, monitors
// that keep a Replica current, echo probes, and reconnection with exponential backoff that
// re-establishes every monitor (the replica is refilled from the new initial contents).

import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';
import { JsonRpcConnection, JsonRpcError } from '../lib/jsonrpc.js';
import { getLogger } from '../lib/log.js';
import { OvsdbError } from './errors.js';
import type { TableUpdates } from './monitor.js';
import { parseConnect } from './remote.js';
import { TlsConfigError, type TlsFiles, tlsConnect } from '../lib/tls.js';
import { Replica } from './replica.js';
import { parseSchema } from './schema.js';

const log = getLogger('ovsdb_client');

export interface ClientOptions {
  /** Reconnect after the connection drops (default true). */
  reconnect?: boolean;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Send an echo this often and drop the connection if it is not answered in time; 0 disables. */
  probeIntervalMs?: number;
  /** Key, certificate and CA for ssl: remotes. */
  tls?: TlsFiles;
}

export interface MonitorSpec {
  columns?: string[];
  where?: unknown[];
}

interface ActiveMonitor {
  db: string;
  id: string;
  requests: Record<string, MonitorSpec[]>;
  replica: Replica;
}

/** A transaction whose results include an error; `results` holds them all. */
export class TransactionError extends Error {
  constructor(
    readonly results: unknown[],
    readonly error: { error: string; details?: string },
  ) {
    super(`${error.error}${error.details ? `: ${error.details}` : ''}`);
  }
}

function firstError(results: unknown[]): { error: string; details?: string } | undefined {
  return results.find((r): r is { error: string; details?: string } => typeof r === 'object' && r !== null && 'error' in r);
}

function openSocket(remote: string, tls: TlsFiles | undefined): Promise<Socket> {
  const addr = parseConnect(remote);
  if (addr.kind === 'tcp' && addr.tls) {
    if (!tls) return Promise.reject(new TlsConfigError(`${remote}: SSL/TLS needs a private key, certificate and CA certificate: give --private-key, --certificate and --ca-cert`));
    return tlsConnect(tls, addr.host, addr.port, remote);
  }
  return new Promise((resolve, reject) => {
    const s = addr.kind === 'unix' ? connect(addr.path) : connect(addr.port, addr.host);
    s.once('connect', () => {
      s.removeListener('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** What an OvsdbClient emits, and its listeners' arguments. */
interface OvsdbClientEvents {
  connected: [];
  disconnected: [];
  /** Every notification from the server, monitor updates included. */
  notification: [method: string, params: unknown];
}

export class OvsdbClient extends EventEmitter<OvsdbClientEvents> {
  private conn: JsonRpcConnection | undefined;
  private readonly monitors = new Map<string, ActiveMonitor>();
  private nextMonitor = 0;
  private closing = false;
  private backoff: number;
  private probe: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;

  private constructor(
    readonly remote: string,
    private readonly opts: Required<Omit<ClientOptions, 'tls'>> & Pick<ClientOptions, 'tls'>,
  ) {
    super();
    this.backoff = opts.minBackoffMs;
  }

  /** Connects to unix:PATH, tcp:IP:PORT or ssl:IP:PORT; the first attempt must succeed. */
  static async connect(remote: string, opts: ClientOptions = {}): Promise<OvsdbClient> {
    const c = new OvsdbClient(remote, {
      reconnect: opts.reconnect ?? true,
      minBackoffMs: opts.minBackoffMs ?? 100,
      maxBackoffMs: opts.maxBackoffMs ?? 8000,
      probeIntervalMs: opts.probeIntervalMs ?? (/^(tcp|ssl):/.test(remote) ? 5000 : 0),
      ...(opts.tls ? { tls: opts.tls } : {}),
    });
    c.attach(await openSocket(remote, opts.tls));
    return c;
  }

  get connected(): boolean {
    return this.conn !== undefined && !this.conn.isClosed;
  }

  private attach(socket: Socket): void {
    const conn = new JsonRpcConnection(socket, this.remote);
    this.conn = conn;
    conn.handlers = {
      // Servers probe idle clients with echo requests (ovsdb-server does): answer them.
      onRequest: (req) => (req.method === 'echo' ? conn.reply(req.id, req.params) : conn.replyError(req.id, { error: 'unknown method' })),
      onNotification: (method, params) => this.onNotification(method, params),
      onClose: () => this.onDisconnect(conn),
    };
    if (this.opts.probeIntervalMs > 0) this.startProbe(conn);
    this.backoff = this.opts.minBackoffMs;
    this.emit('connected');
  }

  private startProbe(conn: JsonRpcConnection): void {
    let answered = true;
    this.probe = setInterval(() => {
      if (!answered) {
        log.warn(`${this.remote}: no reply to echo within ${this.opts.probeIntervalMs} ms; dropping the connection`);
        conn.destroy();
        return;
      }
      answered = false;
      conn.request('echo', []).then(
        () => (answered = true),
        () => undefined,
      );
    }, this.opts.probeIntervalMs);
  }

  private onDisconnect(conn: JsonRpcConnection): void {
    if (conn !== this.conn) return;
    clearInterval(this.probe);
    this.emit('disconnected');
    if (this.closing || !this.opts.reconnect) return;
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const delay = this.backoff;
    this.backoff = Math.min(this.backoff * 2, this.opts.maxBackoffMs);
    log.info(`${this.remote}: connection lost; reconnecting in ${delay} ms`);
    this.retry = setTimeout(() => void this.reconnect(), delay);
  }

  private async reconnect(): Promise<void> {
    let socket: Socket;
    try {
      socket = await openSocket(this.remote, this.opts.tls);
    } catch (e) {
      log.dbg(`${this.remote}: reconnect failed: ${(e as Error).message}`);
      if (!this.closing) this.scheduleReconnect();
      return;
    }
    if (this.closing) {
      socket.destroy();
      return;
    }
    this.attach(socket);
    for (const m of this.monitors.values()) {
      try {
        m.replica.reset(await this.startMonitor(m));
      } catch (e) {
        log.warn(`${this.remote}: could not re-establish monitor of ${m.db}: ${(e as Error).message}`);
      }
    }
  }

  /** Sends a request; rejects with JsonRpcError on an error reply or a lost connection. */
  request(method: string, params: unknown): Promise<unknown> {
    if (!this.conn) return Promise.reject(new JsonRpcError({ error: 'connection closed', details: this.remote }));
    return this.conn.request(method, params);
  }

  async listDbs(): Promise<string[]> {
    return (await this.request('list_dbs', [])) as string[];
  }

  async getSchema(db: string): Promise<Record<string, unknown>> {
    return (await this.request('get_schema', [db])) as Record<string, unknown>;
  }

  /** Runs a transaction and returns its results; throws TransactionError if any op failed. */
  async transact(db: string, ops: unknown[]): Promise<unknown[]> {
    const results = (await this.request('transact', [db, ...ops])) as unknown[];
    const err = firstError(results);
    if (err) throw new TransactionError(results, err);
    return results;
  }

  /** Monitors `tables` of `db` and returns a replica that follows every commit. */
  async monitor(db: string, tables: Record<string, MonitorSpec | MonitorSpec[]>): Promise<Replica> {
    const replica = new Replica(parseSchema(await this.getSchema(db)));
    const requests: Record<string, MonitorSpec[]> = {};
    for (const [t, spec] of Object.entries(tables)) requests[t] = Array.isArray(spec) ? spec : [spec];
    const m: ActiveMonitor = { db, id: `tvs-${this.nextMonitor++}`, requests, replica };
    replica.reset(await this.startMonitor(m));
    this.monitors.set(m.id, m);
    return replica;
  }

  /** Stops following `replica`'s database. */
  async cancelMonitor(replica: Replica): Promise<void> {
    const m = [...this.monitors.values()].find((x) => x.replica === replica);
    if (!m) throw new OvsdbError('unknown monitor', 'this replica is not being monitored by this client');
    this.monitors.delete(m.id);
    await this.request('monitor_cancel', [m.id]);
  }

  private async startMonitor(m: ActiveMonitor): Promise<TableUpdates> {
    return (await this.request('monitor_cond', [m.db, m.id, m.requests])) as TableUpdates;
  }

  private onNotification(method: string, params: unknown): void {
    this.emit('notification', method, params);
    if ((method !== 'update2' && method !== 'update3') || !Array.isArray(params)) return;
    const m = this.monitors.get(params[0] as string);
    if (!m) return;
    try {
      m.replica.apply(params[params.length - 1] as TableUpdates);
    } catch (e) {
      // A replica that missed an update is wrong from then on: resynchronise from scratch.
      log.err(`${this.remote}: bad ${method} for ${m.db}: ${(e as Error).message}; reconnecting`);
      this.conn?.destroy();
    }
  }

  close(): void {
    this.closing = true;
    clearInterval(this.probe);
    clearTimeout(this.retry);
    this.conn?.destroy();
  }
}
