/**
 * One OpenFlow connection over a stream socket: framing, the hello exchange, echo, xids and
 * replies, for both the switch side (accept) and the client side (connect).
 *
 * Messages are framed by the 16-bit length in their header. Every message is decoded with the
 * connection's `Session`, which the Nicira format messages (NXT_SET_FLOW_FORMAT,
 * NXT_SET_PACKET_IN_FORMAT, NXT_FLOW_MOD_TABLE_ID) update as they pass in either direction. A
 * message that cannot be decoded is answered with the OpenFlow error for it, carrying its first
 * 64 bytes, and the connection goes on; a length below the header's 8 bytes leaves no way to find
 * the next message, so the connection is closed.
 *
 * TCP_NODELAY is set, and the writes of one turn of the event loop are corked into one: small
 * messages leave at once, and a burst of them in one segment. Writes respect the socket's backpressure: while the socket's buffer is full the connection
 * stops reading (its peer's requests are what make most of the output), and a connection whose
 * peer does not read at all is closed once its backlog passes MAX_BACKLOG bytes.
 */
import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import type * as tls from 'node:tls';
import { getLogger } from '../lib/log.js';
import { TlsConfigError, type TlsFiles, tlsConnect } from '../lib/tls.js';
import { OfDecodeError } from './codec/buffer.js';
import { decodeMessage, encodeMessage, OFP_HEADER_LEN } from './codec/index.js';
import { defaultSession, SUPPORTED_VERSIONS, type MultipartReply, type OfMessage, type Session } from './messages.js';

const log = getLogger('vconn');

export const OFP_TCP_PORT = 6653;
/** How much of an undecodable message its error reply carries back (as OVS does). */
const ERROR_DATA_LEN = 64;
/** Bytes written but not yet taken by the kernel beyond which a peer that never reads is dropped. */
const MAX_BACKLOG = 16 * 1024 * 1024;
/** How long connecting, and then the peer's hello, may take. */
const DEFAULT_HELLO_TIMEOUT_MS = 10_000;

/** An error message a peer answered a request with; `name` is OVS's name of it (`OFPBRC_BAD_TYPE`). */
export class OfRemoteError extends Error {
  constructor(
    override readonly name: string,
    readonly data: Buffer,
  ) {
    super(`${name} (the peer refused the request)`);
  }
}

type Socket = net.Socket | tls.TLSSocket;

interface Pending {
  resolve: (msg: OfMessage) => void;
  reject: (err: Error) => void;
  /** Multipart reply parts received so far, joined when the last one arrives. */
  parts: MultipartReply[];
}

function versionList(versions: readonly number[]): string {
  return versions.map((v) => `0x${v.toString(16).padStart(2, '0')}`).join(', ');
}

export class OfConnection extends EventEmitter {
  readonly session: Session;
  private nextXid = 1;
  private readonly pending = new Map<number, Pending>();
  private input: Buffer = Buffer.alloc(0);
  private closed = false;
  private writeBlocked = false;
  /** Set while writes are corked until the end of this turn of the event loop. */
  private corked = false;

  private constructor(
    private readonly socket: Socket,
    version: number,
    leftover: Buffer,
  ) {
    super();
    this.session = defaultSession(version);
    // OpenFlow is request/response with small messages: Nagle's algorithm would hold a packet-in
    // or a reply until the peer's delayed ACK (up to 40 ms). OVS sets TCP_NODELAY too. (A unix
    // socket has no such option and ignores this.)
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.receive(chunk);
    });
    socket.on('drain', () => {
      this.writeBlocked = false;
      socket.resume();
      this.receive(Buffer.alloc(0));
    });
    socket.on('error', (err: Error) => {
      this.shutdown(err.message);
    });
    socket.on('close', () => {
      this.shutdown('connection closed by peer');
    });
    // Messages that arrived right behind the peer's hello go first; they are handled after the
    // caller of accept()/connect() has had its turn to listen for them.
    this.input = leftover;
    if (leftover.length > 0) {
      setImmediate(() => {
        this.receive(Buffer.alloc(0));
      });
    }
  }

  /**
   * Switch side: run the hello exchange on an accepted/connected socket. A peer that sends no
   * hello within `timeoutMs` is hung up on, so silent connections do not pile up.
   */
  static accept(socket: Socket, opts: { versions?: number[]; timeoutMs?: number } = {}): Promise<OfConnection> {
    return OfConnection.handshake(socket, opts.versions ?? [...SUPPORTED_VERSIONS], opts.timeoutMs ?? DEFAULT_HELLO_TIMEOUT_MS);
  }

  /**
   * Client side: connect to 'tcp:IP[:PORT]', 'ssl:IP[:PORT]' (default port 6653; ssl: with the
   * key, certificate and CA of `tls`) or 'unix:PATH' and run the hello exchange.
   */
  static async connect(target: string, opts: { versions?: number[]; timeoutMs?: number; tls?: TlsFiles } = {}): Promise<OfConnection> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_HELLO_TIMEOUT_MS;
    const socket = await openSocket(target, timeoutMs, opts.tls);
    return OfConnection.handshake(socket, opts.versions ?? [...SUPPORTED_VERSIONS], timeoutMs);
  }

  /**
   * Sends our hello, waits for the peer's and settles on the highest version both support. With
   * none in common the peer gets OFPHFC_INCOMPATIBLE naming both sides' versions, and the socket
   * is closed.
   */
  private static handshake(socket: Socket, ours: number[], timeoutMs: number): Promise<OfConnection> {
    return new Promise((resolve, reject) => {
      let buffered = Buffer.alloc(0);
      const timer = setTimeout(() => {
        fail(new Error(`OpenFlow hello: the peer sent no hello within ${timeoutMs} ms`));
      }, timeoutMs);
      const fail = (err: Error): void => {
        cleanup();
        socket.destroy();
        reject(err);
      };
      const onData = (chunk: Buffer): void => {
        buffered = Buffer.concat([buffered, chunk]);
        if (buffered.length < OFP_HEADER_LEN) return;
        const length = buffered.readUInt16BE(2);
        if (length < OFP_HEADER_LEN) {
          fail(new Error(`OpenFlow hello: the peer sent a message length of ${length}, shorter than the header`));
          return;
        }
        if (buffered.length < length) return;
        const first = buffered.subarray(0, length);
        let peer: number[];
        let peerHeaderVersion: number;
        try {
          const decoded = decodeMessage(first, defaultSession(first.readUInt8(0)));
          if (decoded.msg.type === 'error') throw new OfRemoteError(decoded.msg.name, decoded.msg.data);
          if (decoded.msg.type !== 'hello') throw new OfDecodeError('OFPBRC_BAD_TYPE', `expected a hello, got ${decoded.msg.type}`);
          peer = decoded.msg.versions;
          peerHeaderVersion = first.readUInt8(0);
        } catch (e) {
          const detail = e instanceof OfRemoteError ? `the peer refused the connection with ${e.name}: ${e.data.toString('latin1')}` : e instanceof Error ? e.message : String(e);
          fail(new Error(`OpenFlow hello: ${detail}`));
          return;
        }
        const common = ours.filter((v) => peer.includes(v));
        if (common.length === 0) {
          const text = `We support versions ${versionList(ours)}, you support ${versionList(peer)}; no common version.`;
          const errorVersion = Math.min(Math.max(...ours), peerHeaderVersion);
          const [msg] = encodeMessage({ type: 'error', name: 'OFPHFC_INCOMPATIBLE', data: Buffer.from(text) }, defaultSession(errorVersion), first.readUInt32BE(4));
          cleanup();
          // The peer may hang up first on seeing our hello; the error is then for nobody.
          socket.on('error', () => undefined);
          if (msg) socket.end(msg);
          else socket.end();
          reject(new Error(`OpenFlow hello: no common version (${text})`));
          return;
        }
        cleanup();
        resolve(new OfConnection(socket, Math.max(...common), Buffer.from(buffered.subarray(length))));
      };
      const onError = (err: Error): void => {
        fail(err);
      };
      const onClose = (): void => {
        fail(new Error('OpenFlow hello: the connection closed before the peer sent its hello'));
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        socket.off('data', onData);
        socket.off('error', onError);
        socket.off('close', onClose);
      };
      socket.on('data', onData);
      socket.on('error', onError);
      socket.on('close', onClose);
      const [hello] = encodeMessage({ type: 'hello', versions: ours }, defaultSession(Math.max(...ours)), 0);
      if (hello) socket.write(hello);
    });
  }

  /** Sends `msg` with `xid` (or a fresh one) and returns the xid used; throws once the connection has closed. */
  send(msg: OfMessage, xid?: number): number {
    const id = xid ?? this.allocXid();
    if (this.closed) throw new Error('OpenFlow connection is closed');
    for (const buf of encodeMessage(msg, this.session, id)) this.write(buf);
    this.applyToSession(msg);
    return id;
  }

  /** Bytes written and not yet taken by the kernel (what the peer has not read). */
  backlog(): number {
    return this.socket.writableLength;
  }

  /** Sends `msg` and resolves to its reply (multipart parts joined); an error reply rejects with OfRemoteError. */
  request(msg: OfMessage): Promise<OfMessage> {
    const xid = this.allocXid();
    return new Promise((resolve, reject) => {
      this.pending.set(xid, { resolve, reject, parts: [] });
      try {
        this.send(msg, xid);
      } catch (e) {
        this.pending.delete(xid);
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  }

  /** Resolves once the peer has processed every message sent before it. */
  async barrier(): Promise<void> {
    await this.request({ type: 'barrier_request' });
  }

  close(): void {
    if (this.closed) return;
    this.socket.end();
    this.shutdown();
  }

  private allocXid(): number {
    const xid = this.nextXid;
    // 0 is what unsolicited messages often carry; never hand it out.
    this.nextXid = this.nextXid >= 0xffffffff ? 1 : this.nextXid + 1;
    return xid;
  }

  private write(buf: Buffer): void {
    if (this.socket.writableLength + buf.length > MAX_BACKLOG) {
      log.warn(`dropping OpenFlow connection: the peer has not read ${this.socket.writableLength} bytes`);
      this.socket.destroy();
      this.shutdown('send backlog overflow: the peer does not read');
      return;
    }
    // With TCP_NODELAY every write would be a segment of its own: what one turn of the event
    // loop sends (a batch of flow-mods, replies and the barrier reply behind them, the packet-ins
    // of a batch of upcalls) leaves in one writev instead, right after the loop's I/O phase.
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      setImmediate(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    if (!this.socket.write(buf) && !this.writeBlocked) {
      this.writeBlocked = true;
      this.socket.pause();
    }
  }

  private applyToSession(msg: OfMessage): void {
    if (msg.type === 'nx_set_flow_format') this.session.flowFormat = msg.format;
    else if (msg.type === 'nx_set_packet_in_format') this.session.packetInFormat = msg.format;
    else if (msg.type === 'nx_flow_mod_table_id') this.session.flowModTableId = msg.enable;
  }

  private receive(chunk: Buffer): void {
    this.input = this.input.length === 0 ? chunk : Buffer.concat([this.input, chunk]);
    // While the peer is not taking our output, what it sent waits here; 'drain' resumes it.
    while (!this.closed && !this.writeBlocked && this.input.length >= OFP_HEADER_LEN) {
      const length = this.input.readUInt16BE(2);
      if (length < OFP_HEADER_LEN) {
        log.err(`closing OpenFlow connection: received a message length of ${length}, shorter than the 8-byte header`);
        this.socket.destroy();
        this.shutdown(`bad message length ${length}`);
        return;
      }
      if (this.input.length < length) return;
      const frame = this.input.subarray(0, length);
      this.input = this.input.subarray(length);
      this.handle(frame);
    }
  }

  private handle(frame: Buffer): void {
    const xid = frame.readUInt32BE(4);
    let decoded;
    try {
      decoded = decodeMessage(frame, this.session);
    } catch (e) {
      if (!(e instanceof OfDecodeError)) throw e;
      this.answerDecodeError(e, frame, xid);
      return;
    }
    const { msg, more } = decoded;
    this.applyToSession(msg);
    if (msg.type === 'hello') return;
    if (msg.type === 'echo_request') {
      this.send({ type: 'echo_reply', data: msg.data }, xid);
      return;
    }
    const waiting = this.pending.get(xid);
    // An echo reply nobody awaits answers an echo request sent with send(): nothing to tell.
    if (!waiting && msg.type === 'echo_reply') return;
    if (!waiting) {
      this.emit('message', msg, xid);
      return;
    }
    if (msg.type === 'error') {
      this.pending.delete(xid);
      waiting.reject(new OfRemoteError(msg.name, msg.data));
      return;
    }
    if (msg.type === 'multipart_reply') {
      waiting.parts.push(msg.reply);
      if (more) return;
      this.pending.delete(xid);
      waiting.resolve({ type: 'multipart_reply', reply: joinParts(waiting.parts) });
      return;
    }
    this.pending.delete(xid);
    waiting.resolve(msg);
  }

  private answerDecodeError(err: OfDecodeError, frame: Buffer, xid: number): void {
    const waiting = this.pending.get(xid);
    if (waiting) {
      this.pending.delete(xid);
      waiting.reject(err);
    }
    // Never answer an error with an error: two peers could bounce them forever.
    const isError = frame.readUInt8(1) === 1;
    if (!isError) this.send({ type: 'error', name: err.name, data: Buffer.from(frame.subarray(0, ERROR_DATA_LEN)) }, xid);
    log.dbg(`received an undecodable message (xid=${xid}): ${err.message}`);
    this.emit('decode-error', err, xid);
  }

  private shutdown(reason?: string): void {
    if (this.closed) return;
    this.closed = true;
    const err = new Error(`OpenFlow connection closed${reason ? `: ${reason}` : ''}`);
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.emit('close', reason);
  }
}

/** The parts of a multipart reply as one reply: their lists concatenated. */
function joinParts(parts: MultipartReply[]): MultipartReply {
  const [first, ...rest] = parts;
  if (!first) throw new Error('a multipart reply with no parts');
  const lists: Partial<Record<MultipartReply['kind'], string>> = {
    flow: 'flows', table: 'tables', table_features: 'tables', port: 'ports', port_desc: 'ports', queue: 'queues',
    group: 'groups', group_desc: 'groups', meter: 'meters', meter_config: 'meters',
  };
  const key = lists[first.kind];
  if (!key || rest.length === 0) return first;
  const joined = { ...first } as Record<string, unknown>;
  joined[key] = parts.flatMap((p) => (p as unknown as Record<string, unknown[]>)[key] ?? []);
  return joined as unknown as MultipartReply;
}

/** Opens 'tcp:IP[:PORT]', 'ssl:IP[:PORT]' or 'unix:PATH'. */
function openSocket(target: string, timeoutMs: number, tlsFiles: TlsFiles | undefined): Promise<Socket> {
  let opts: net.NetConnectOpts;
  if (target.startsWith('unix:')) {
    opts = { path: target.slice(5) };
  } else if (/^(tcp|ssl):/.test(target)) {
    const m = /^(?:tcp|ssl):(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(target);
    if (!m) throw new Error(`${target}: an OpenFlow target is tcp:IP[:PORT], ssl:IP[:PORT] or unix:PATH`);
    opts = { host: (m[1] ?? '').replace(/^\[|\]$/g, ''), port: m[2] ? Number(m[2]) : OFP_TCP_PORT };
    if (target.startsWith('ssl:')) {
      if (!tlsFiles) return Promise.reject(new TlsConfigError(`${target}: SSL/TLS needs a private key, certificate and CA certificate: give --private-key, --certificate and --ca-cert (or set-ssl)`));
      return tlsConnect(tlsFiles, opts.host!, opts.port, target, timeoutMs);
    }
  } else {
    throw new Error(`${target}: an OpenFlow target is tcp:IP[:PORT], ssl:IP[:PORT] or unix:PATH`);
  }
  return new Promise((resolve, reject) => {
    const socket = net.connect(opts);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${target}: connection timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve(socket);
    });
    const onError = (err: Error): void => {
      clearTimeout(timer);
      reject(new Error(`${target}: ${err.message}`));
    };
    socket.once('error', onError);
  });
}
