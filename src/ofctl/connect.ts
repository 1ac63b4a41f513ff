/**
 * An OfctlChannel over an OfConnection (src/openflow/connection.ts): the connection does the
 * hello, framing, echo and multipart joining; this adds what tvs-ofctl prints about an exchange.
 *
 * The xid of a request is not part of OfConnection.request()'s answer, so the channel counts
 * them as the connection hands them out: one per request(), barrier() and send() without an xid,
 * from 1. Every message of the channel goes through here, so the count stays exact.
 */
import { OfConnection, OfRemoteError } from '../openflow/connection.js';
import type { TlsFiles } from '../lib/tls.js';
import type { OfMessage } from '../openflow/messages.js';
import { RemoteError, type OfctlChannel } from './channel.js';

class ConnectionChannel implements OfctlChannel {
  private nextXid = 1;
  private readonly sent = new Map<number, OfMessage>();
  private errorListener: ((err: RemoteError) => void) | undefined;
  private readonly whenClosed: Promise<void>;

  constructor(private readonly conn: OfConnection) {
    this.whenClosed = new Promise((resolve) => conn.once('close', () => resolve()));
    conn.on('message', (msg: OfMessage, xid: number) => {
      if (msg.type === 'error' && this.sent.has(xid)) this.errorListener?.(new RemoteError(msg.name, xid, this.sent.get(xid), conn.session.version, msg.data));
    });
  }

  get session() {
    return this.conn.session;
  }

  private takeXid(): number {
    const xid = this.nextXid;
    this.nextXid = xid >= 0xffffffff ? 1 : xid + 1;
    return xid;
  }

  async transact(msg: OfMessage): Promise<{ reply: OfMessage; xid: number }> {
    const xid = this.takeXid();
    try {
      return { reply: await this.conn.request(msg), xid };
    } catch (e) {
      if (e instanceof OfRemoteError) throw new RemoteError(e.name, xid, msg, this.conn.session.version, e.data);
      throw e;
    }
  }

  send(msg: OfMessage): number {
    // send() tells its xid: take the count from it.
    const xid = this.conn.send(msg);
    this.nextXid = xid;
    this.takeXid();
    this.sent.set(xid, msg);
    return xid;
  }

  async barrier(): Promise<void> {
    this.takeXid();
    await this.conn.barrier();
  }

  onError(fn: (err: RemoteError) => void): void {
    this.errorListener = fn;
  }

  onMessage(fn: (msg: OfMessage, xid: number) => void): void {
    this.conn.on('message', (msg: OfMessage, xid: number) => {
      if (msg.type !== 'error' || !this.sent.has(xid)) fn(msg, xid);
    });
  }

  closed(): Promise<void> {
    return this.whenClosed;
  }

  close(): void {
    this.conn.close();
  }
}

/** Connects to `target` (`tcp:...`, `ssl:...` with `tls`, or `unix:...`) offering `versions`, and runs the hello exchange. */
export async function connectChannel(target: string, versions: number[], timeoutMs: number | undefined, tls: TlsFiles): Promise<OfctlChannel> {
  return new ConnectionChannel(await OfConnection.connect(target, { versions, timeoutMs, tls }));
}
