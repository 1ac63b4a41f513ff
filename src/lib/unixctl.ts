// The control socket of our daemons, speaking OVS's unixctl protocol (lib/unixctl.c) so that the
// real `ovs-appctl -t SOCKET` works against them and `tvs-appctl` works against real OVS daemons.
//
// Wire format, as observed between ovs-appctl 3.1 and ovsdb-server 3.1: JSON-RPC 1.0 texts sent
// back to back over a unix stream socket, with no delimiter.
//   request   {"method":"vlog/set","params":["jsonrpc:dbg"],"id":0}   params: strings only
//   success   {"id":0,"result":"text\n","error":null}
//   failure   {"id":0,"error":"text\n"}
// Non-empty texts always end in a newline (the server adds one). One connection may carry several
// requests; they are answered in order. Notifications, replies, requests without "params" and
// unparseable input make ovsdb-server drop the connection; we answer with an error first where
// there is something to answer, log a warning, and close only that connection.

import { existsSync, lstatSync, mkdirSync, readFileSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname, join, resolve as resolvePath } from 'node:path';
import type { CommandRegistry, CommandReply } from './command-registry.js';
import { JsonStreamParser } from './jsonrpc.js';
import { getLogger } from './log.js';
import { runDir } from './paths.js';
import { LongTimeout } from './timer.js';
import { listenOwnerOnly } from './unix-socket.js';

const log = getLogger('unixctl');

/** One incoming request may be this large (ofproto/trace packets fit many times over). */
const MAX_REQUEST_BYTES = 4 * 1024 * 1024;

/** strerror() texts for the errno codes a unix socket connect or bind can meet. */
const STRERROR: Record<string, string> = {
  ENOENT: 'No such file or directory',
  ECONNREFUSED: 'Connection refused',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  ENOTSOCK: 'Socket operation on non-socket',
  ENOTDIR: 'Not a directory',
  EADDRINUSE: 'Address already in use',
  ETIMEDOUT: 'Connection timed out',
  ECONNRESET: 'Connection reset by peer',
  EPIPE: 'Broken pipe',
  ENAMETOOLONG: 'File name too long',
  EAGAIN: 'Resource temporarily unavailable',
};

function strerror(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | null | undefined)?.code;
  return (code && STRERROR[code]) || (e instanceof Error ? e.message : String(e));
}

/** OVS ends every non-empty reply text with a newline. */
function withNewline(text: string): string {
  return text !== '' && !text.endsWith('\n') ? text + '\n' : text;
}

/** `list-commands` in OVS's layout: two spaces, the name padded to 23, a space, the usage. */
function formatCommandList(registry: CommandRegistry): string {
  let s = 'The available commands are:\n';
  for (const name of registry.names()) s += `  ${name.padEnd(23)} ${registry.usage(name) ?? ''}\n`;
  return s;
}

export interface UnixctlServerOptions {
  /** Socket path; its directory is created if missing. */
  path: string;
  /** The daemon's commands; `list-commands` and `version` are answered by the server. */
  registry: CommandRegistry;
  /** The `version` reply, e.g. "tvs-vswitchd (TVS) 0.1.0". */
  version: string;
}

/** A daemon's control socket. */
export class UnixctlServer {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private nextConn = 0;
  readonly path: string;

  constructor(private readonly opts: UnixctlServerOptions) {
    this.path = resolvePath(opts.path);
    if (!opts.registry.has('version')) opts.registry.register('version', '', 0, 0, () => withNewline(opts.version));
  }

  /**
   * Listens on the socket path. A stale socket file (nothing answering) is replaced; a live one,
   * or a file that is not a socket, is an error, so a second daemon cannot steal the first's socket.
   */
  async start(): Promise<void> {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o755 });
    await removeStaleSocket(this.path);
    const server = createServer((sock) => this.accept(sock));
    await listenOwnerOnly(server, this.path);
    server.on('error', (e) => log.err(`${this.path}: ${e.message}`));
    this.server = server;
    log.info(`listening on ${this.path}`);
  }

  /** Stops listening, drops every connection and removes the socket file. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    try {
      unlinkSync(this.path);
    } catch {
      // Already gone (Node removes it on close on some versions).
    }
  }

  private accept(sock: Socket): void {
    const name = `unix#${this.nextConn++}`;
    this.sockets.add(sock);
    const parser = new JsonStreamParser(MAX_REQUEST_BYTES);
    // Requests on one connection are answered in order even when a handler is asynchronous.
    let queue: Promise<void> = Promise.resolve();
    const send = (msg: object): void => {
      if (!sock.destroyed && sock.writable) sock.write(JSON.stringify(msg));
    };
    const drop = (why: string, id: unknown = null): void => {
      log.warn(`${name}: ${why}`);
      send({ id, error: withNewline(why) });
      sock.end();
    };
    sock.on('error', (e) => log.dbg(`${name}: ${e.message}`));
    sock.on('close', () => this.sockets.delete(sock));
    sock.on('data', (data: Buffer) => {
      for (const ev of parser.feed(data)) {
        if (ev.kind === 'error') {
          // Finish the replies already queued, then say what was wrong and hang up.
          queue = queue.then(() => drop(`${ev.error}: ${ev.details}`));
          return;
        }
        const msg = ev.value;
        queue = queue.then(async () => {
          if (sock.destroyed) return;
          const check = validate(msg);
          if ('drop' in check) return drop(check.drop, check.id);
          if ('error' in check) {
            log.warn(`${name}: ${check.error}`);
            return send({ id: check.id, error: withNewline(check.error) });
          }
          const { method, params, id } = check;
          if (log.enabled('dbg')) log.dbg(`received request ${method}${JSON.stringify(params)}, id=${JSON.stringify(id)}`);
          const r = await this.run(method, params);
          if (log.enabled('dbg')) log.dbg(`replying with ${r.ok ? 'success' : 'error'}, id=${JSON.stringify(id)}: ${JSON.stringify(r.output)}`);
          send(r.ok ? { id, result: withNewline(r.output), error: null } : { id, error: withNewline(r.output) });
        }).catch((e: unknown) => log.err(`${name}: ${e instanceof Error ? e.message : String(e)}`));
      }
    });
  }

  private async run(method: string, params: string[]): Promise<CommandReply> {
    const r = await this.opts.registry.run(method, params);
    // The registry's own list-commands layout is pinned by its tests; on the wire use OVS's.
    if (method === 'list-commands' && r.ok) return { ok: true, output: formatCommandList(this.opts.registry) };
    return r;
  }
}

type Checked =
  | { method: string; params: string[]; id: unknown }
  | { error: string; id: unknown }
  | { drop: string; id: unknown };

function validate(msg: unknown): Checked {
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return { drop: 'a JSON-RPC message must be a JSON object', id: null };
  const m = msg as Record<string, unknown>;
  const id = m.id ?? null;
  if (!('method' in m)) {
    if ('result' in m || 'error' in m) return { drop: 'received unexpected reply message', id: null };
    return { drop: 'message is neither a request, a notification nor a reply', id };
  }
  if (typeof m.method !== 'string') return { drop: '"method" must be a string', id };
  if (m.id === null || m.id === undefined) return { drop: 'received unexpected notification message', id: null };
  if (!('params' in m)) return { error: 'request must have "params"', id };
  if (!Array.isArray(m.params)) return { error: '"params" must be an array', id };
  const bad: unknown = m.params.find((p) => typeof p !== 'string');
  if (bad !== undefined) return { error: `command has non-string argument: ${JSON.stringify(bad)}`, id };
  return { method: m.method, params: m.params as string[], id };
}

/** Removes `path` if it is a socket nobody answers on; throws if it is live or not a socket. */
async function removeStaleSocket(path: string): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new Error(`${path} exists and is not a socket; not replacing it`);
  const live = await new Promise<boolean>((resolve) => {
    const c = createConnection(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
  if (live) throw new Error(`${path}: another process is already listening on this control socket`);
  log.info(`${path}: removing stale control socket`);
  unlinkSync(path);
}

/** A failure to reach the daemon, with ovs-appctl's wording: cannot connect to "PATH" (reason). */
export class UnixctlConnectError extends Error {
  constructor(
    readonly path: string,
    readonly code: string | undefined,
    reason: string,
  ) {
    super(`cannot connect to "${path}" (${reason})`);
  }
}

/** The connection broke or timed out before the reply came. */
class UnixctlTransportError extends Error {}

export interface UnixctlCallOptions {
  /** Give up after this long (connect plus reply); no limit when absent or 0. */
  timeoutMs?: number;
}

/** A connection to a daemon's control socket, ours or OVS's. */
export class UnixctlClient {
  private readonly parser = new JsonStreamParser(64 * 1024 * 1024);
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (r: CommandReply) => void; reject: (e: Error) => void }>();
  private closed = false;

  private constructor(
    private readonly sock: Socket,
    readonly path: string,
  ) {
    sock.on('data', (d: Buffer) => this.onData(d));
    sock.on('error', (e) => this.fail(new UnixctlTransportError(`${path}: ${strerror(e)}`)));
    sock.on('close', () => this.fail(new UnixctlTransportError(`${path}: connection closed by the server`)));
  }

  static connect(path: string, opts: UnixctlCallOptions = {}): Promise<UnixctlClient> {
    return new Promise((resolve, reject) => {
      const sock = createConnection(path);
      const timer = opts.timeoutMs
        ? new LongTimeout(() => {
            sock.destroy();
            reject(new UnixctlConnectError(path, 'ETIMEDOUT', STRERROR.ETIMEDOUT!));
          }, opts.timeoutMs)
        : undefined;
      sock.once('connect', () => {
        timer?.clear();
        sock.removeAllListeners('error');
        resolve(new UnixctlClient(sock, path));
      });
      sock.once('error', (e: NodeJS.ErrnoException) => {
        timer?.clear();
        reject(new UnixctlConnectError(path, e.code, strerror(e)));
      });
    });
  }

  /** Runs `command`: ok=false carries the daemon's error text. Rejects only on transport failure. */
  call(command: string, args: readonly string[] = [], opts: UnixctlCallOptions = {}): Promise<CommandReply> {
    if (this.closed) return Promise.reject(new UnixctlTransportError(`${this.path}: connection closed`));
    const id = this.nextId++;
    const { timeoutMs } = opts;
    return new Promise((resolve, reject) => {
      const timer = timeoutMs
        ? new LongTimeout(() => {
            this.pending.delete(id);
            reject(new UnixctlTransportError(`${this.path}: no reply within ${timeoutMs} ms`));
          }, timeoutMs)
        : undefined;
      this.pending.set(id, {
        resolve: (r) => {
          timer?.clear();
          resolve(r);
        },
        reject: (e) => {
          timer?.clear();
          reject(e);
        },
      });
      log.dbg(`${this.path}: send request, method=${JSON.stringify(command)}, params=${JSON.stringify(args)}, id=${id}`);
      this.sock.write(JSON.stringify({ method: command, params: [...args], id }));
    });
  }

  close(): void {
    this.closed = true;
    this.sock.end();
    this.sock.destroy();
  }

  private onData(data: Buffer): void {
    for (const ev of this.parser.feed(data)) {
      if (ev.kind === 'error') {
        this.fail(new UnixctlTransportError(`${this.path}: ${ev.error}: ${ev.details}`));
        this.sock.destroy();
        return;
      }
      const m = ev.value as Record<string, unknown> | null;
      const p = m !== null && typeof m.id === 'number' ? this.pending.get(m.id) : undefined;
      if (m === null || !p) {
        log.warn(`${this.path}: unexpected message ${JSON.stringify(m).slice(0, 200)}`);
        continue;
      }
      this.pending.delete(m.id as number);
      log.dbg(`${this.path}: received reply, ${JSON.stringify(m).slice(0, 2000)}`);
      const text = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));
      if (m.error !== null && m.error !== undefined) p.resolve({ ok: false, output: text(m.error) });
      else p.resolve({ ok: true, output: m.result === null || m.result === undefined ? '' : text(m.result) });
    }
  }

  private fail(e: Error): void {
    this.closed = true;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}

/** Connects, runs one command and disconnects. */
export async function unixctlCall(path: string, command: string, args: readonly string[] = [], opts: UnixctlCallOptions = {}): Promise<CommandReply> {
  const start = Date.now();
  const client = await UnixctlClient.connect(path, opts);
  try {
    const left = opts.timeoutMs ? Math.max(1, opts.timeoutMs - (Date.now() - start)) : undefined;
    return await client.call(command, args, { timeoutMs: left });
  } finally {
    client.close();
  }
}

/**
 * The socket path for an appctl target, as ovs-appctl resolves it: an argument containing '/' is
 * the socket path itself; a daemon name is <rundir>/<name>.ctl if that exists, else
 * <rundir>/<name>.<pid>.ctl from the daemon's pidfile <rundir>/<name>.pid, else <rundir>/<name>.ctl
 * (whose connect error then says the daemon is not running).
 */
export function resolveTarget(target: string): string {
  if (target.includes('/')) return resolvePath(target);
  const plain = join(runDir(), `${target}.ctl`);
  if (existsSync(plain)) return plain;
  try {
    const pid = Number.parseInt(readFileSync(join(runDir(), `${target}.pid`), 'utf8').trim(), 10);
    if (Number.isInteger(pid) && pid > 0) {
      const withPid = join(runDir(), `${target}.${pid}.ctl`);
      if (existsSync(withPid)) return withPid;
    }
  } catch {
    // No pidfile: fall through to the plain name.
  }
  return plain;
}
