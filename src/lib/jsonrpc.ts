// JSON-RPC 1.0 over a byte stream, as OVSDB (RFC 7047) and OVS's unixctl use it: JSON texts sent
// back to back with no delimiter, each possibly split across reads or several in one read.

import type { Socket } from 'node:net';
import { MAX_JSON_DEPTH } from './json.js';
import { getLogger } from './log.js';

const log = getLogger('jsonrpc');

/** Default cap on one incoming message; a full Open_vSwitch dump of 10 000 ports fits well inside. */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;


/** A peer that lets this much output pile up unread is dropped rather than exhausting memory. */
const MAX_SEND_BACKLOG_BYTES = 256 * 1024 * 1024;

export type StreamEvent =
  | { kind: 'message'; value: unknown }
  /** `fatal`: the stream cannot be resynchronised, so the connection must be closed. */
  | { kind: 'error'; error: string; details: string; fatal: boolean };

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN = new Set([0x7b, 0x5b]);
const CLOSE = new Set([0x7d, 0x5d]);

/**
 * Splits a byte stream into JSON texts by tracking bracket depth outside strings; only objects and
 * arrays may appear at top level, as in OVS, which is what makes splitting without a delimiter
 * possible. A message over the size limit or nested deeper than MAX_JSON_DEPTH is reported and
 * skipped to its end, so the stream stays usable.
 */
export class JsonStreamParser {
  private chunks: Buffer[] = [];
  private size = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** The current message has been reported as refused and is being skipped to its end. */
  private discarding = false;
  private broken = false;

  constructor(private readonly maxBytes = DEFAULT_MAX_MESSAGE_BYTES) {}

  /** True while part of a message has been received but not its end. */
  get midMessage(): boolean {
    return this.depth > 0;
  }

  feed(data: Buffer): StreamEvent[] {
    const events: StreamEvent[] = [];
    if (this.broken) return events;
    let start = this.depth > 0 ? 0 : -1;
    for (let i = 0; i < data.length; i++) {
      const c = data[i]!;
      if (this.depth === 0) {
        if (WS.has(c)) continue;
        if (!OPEN.has(c)) {
          this.broken = true;
          const shown = data.subarray(i, i + 20).toString('utf8');
          events.push({
            kind: 'error',
            error: 'syntax error',
            details: `a JSON-RPC message must be a JSON object, but the stream has ${JSON.stringify(shown)} here`,
            fatal: true,
          });
          return events;
        }
        start = i;
        this.depth = 1;
        continue;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === BACKSLASH) this.escaped = true;
        else if (c === QUOTE) this.inString = false;
      } else if (c === QUOTE) this.inString = true;
      else if (OPEN.has(c)) {
        if (++this.depth > MAX_JSON_DEPTH && !this.discarding) {
          events.push({
            kind: 'error',
            error: 'syntax error',
            details: `${this.position(data.subarray(start, i))}: input exceeds maximum nesting depth ${MAX_JSON_DEPTH}`,
            fatal: false,
          });
          this.discard();
        }
      } else if (CLOSE.has(c) && --this.depth === 0) {
        const ev = this.finish(data.subarray(start, i + 1));
        if (ev) events.push(ev);
        start = -1;
      }
    }
    if (this.depth > 0 && start >= 0) this.collect(data.subarray(start), events);
    return events;
  }

  /** Where the message's next byte is, after `tail` (its bytes in the current read), in OVS's words. */
  private position(tail: Buffer): string {
    const before = Buffer.concat([...this.chunks, tail]);
    let line = 0;
    for (const b of before) if (b === 0x0a) line++;
    const column = before.length - (before.lastIndexOf(0x0a) + 1);
    return `line ${line}, column ${column}, byte ${before.length}`;
  }

  private discard(): void {
    this.discarding = true;
    this.chunks = [];
  }

  private collect(part: Buffer, events: StreamEvent[]): void {
    if (this.discarding) return;
    this.size += part.length;
    if (this.size > this.maxBytes) {
      this.discard();
      events.push({
        kind: 'error',
        error: 'resources exhausted',
        details: `message exceeds the ${this.maxBytes}-byte limit and was discarded`,
        fatal: false,
      });
      return;
    }
    // Copy: the socket may reuse its buffer.
    this.chunks.push(Buffer.from(part));
  }

  private finish(last: Buffer): StreamEvent | null {
    const wasDiscarding = this.discarding;
    const overLimit = wasDiscarding || this.size + last.length > this.maxBytes;
    const text = overLimit ? '' : Buffer.concat([...this.chunks, last]).toString('utf8');
    this.chunks = [];
    this.size = 0;
    this.discarding = false;
    if (overLimit) {
      // Already reported when refused, unless the whole oversized message came in one read.
      return wasDiscarding
        ? null
        : {
            kind: 'error',
            error: 'resources exhausted',
            details: `message exceeds the ${this.maxBytes}-byte limit and was discarded`,
            fatal: false,
          };
    }
    try {
      return { kind: 'message', value: JSON.parse(text) };
    } catch (e) {
      return { kind: 'error', error: 'syntax error', details: `invalid JSON: ${(e as Error).message}`, fatal: false };
    }
  }
}

/** The error member of a JSON-RPC reply, carried as an exception by request(). */
export class JsonRpcError extends Error {
  constructor(readonly error: unknown) {
    super(typeof error === 'object' && error !== null && 'error' in error
      ? `${String(error.error)}${'details' in error ? `: ${String((error as { details: unknown }).details)}` : ''}`
      : JSON.stringify(error));
  }
}

export interface IncomingRequest {
  method: string;
  params: unknown;
  id: unknown;
}

export interface ConnectionHandlers {
  onRequest?: (req: IncomingRequest) => void;
  onNotification?: (method: string, params: unknown) => void;
  onClose?: (midMessage: boolean) => void;
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

/** One JSON-RPC peer over a connected socket: requests both ways, replies matched by id. */
export class JsonRpcConnection {
  private readonly parser: JsonStreamParser;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private closed = false;
  handlers: ConnectionHandlers = {};

  constructor(
    private readonly socket: Socket,
    readonly name: string,
    maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES,
  ) {
    this.parser = new JsonStreamParser(maxMessageBytes);
    socket.on('data', (data: Buffer) => this.onData(data));
    socket.on('error', (e) => log.dbg(`${name}: ${e.message}`));
    socket.on('close', () => this.onClosed());
  }

  get isClosed(): boolean {
    return this.closed;
  }

  request(method: string, params: unknown): Promise<unknown> {
    if (this.closed) return Promise.reject(new JsonRpcError({ error: 'connection closed', details: this.name }));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.send({ method, params, id }, 'request');
    });
  }

  notify(method: string, params: unknown): void {
    this.send({ method, params, id: null }, 'notification');
  }

  reply(id: unknown, result: unknown): void {
    this.send({ result, error: null, id }, 'reply');
  }

  replyError(id: unknown, error: unknown): void {
    this.send({ result: null, error, id }, 'error reply');
  }

  close(): void {
    if (!this.closed) this.socket.end();
  }

  /** Closes at once without flushing (a peer that broke the protocol). */
  destroy(): void {
    this.socket.destroy();
  }

  private send(msg: object, what: string): void {
    if (this.closed || this.socket.destroyed) return;
    const text = JSON.stringify(msg);
    if (log.enabled('dbg')) log.dbg(`${this.name}: send ${what}, ${text.length > 2000 ? text.slice(0, 2000) + '...' : text}`);
    if (this.socket.writableLength > MAX_SEND_BACKLOG_BYTES) {
      log.warn(`${this.name}: peer is not reading (${this.socket.writableLength} bytes queued); disconnecting it`);
      this.socket.destroy();
      return;
    }
    this.socket.write(text);
  }

  private onData(data: Buffer): void {
    for (const ev of this.parser.feed(data)) {
      if (ev.kind === 'error') {
        log.warn(`${this.name}: ${ev.error}: ${ev.details}`);
        this.replyError(null, { error: ev.error, details: ev.details });
        if (ev.fatal) {
          this.socket.end();
          return;
        }
      } else {
        this.dispatch(ev.value);
      }
    }
  }

  private dispatch(msg: unknown): void {
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
      this.replyError(null, { error: 'syntax error', details: 'a JSON-RPC message must be a JSON object' });
      return;
    }
    const m = msg as Record<string, unknown>;
    if (log.enabled('dbg')) log.dbg(`${this.name}: received ${JSON.stringify(m).slice(0, 2000)}`);
    if ('method' in m) {
      if (typeof m.method !== 'string') {
        this.replyError(m.id ?? null, { error: 'syntax error', details: '"method" must be a string' });
      } else if (m.id === null || m.id === undefined) {
        this.handlers.onNotification?.(m.method, m.params);
      } else if (!('params' in m)) {
        this.replyError(m.id, { error: 'syntax error', details: `request "${m.method}" has no "params" member` });
      } else {
        this.handlers.onRequest?.({ method: m.method, params: m.params, id: m.id });
      }
      return;
    }
    if ('result' in m || 'error' in m) {
      const p = typeof m.id === 'number' ? this.pending.get(m.id) : undefined;
      if (!p) {
        log.dbg(`${this.name}: reply with unknown id ${JSON.stringify(m.id)} ignored`);
        return;
      }
      this.pending.delete(m.id as number);
      if (m.error !== null && m.error !== undefined) p.reject(new JsonRpcError(m.error));
      else p.resolve(m.result);
      return;
    }
    this.replyError(m.id ?? null, { error: 'syntax error', details: 'message is neither a request, a notification nor a reply' });
  }

  private onClosed(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.values()) p.reject(new JsonRpcError({ error: 'connection closed', details: this.name }));
    this.pending.clear();
    this.handlers.onClose?.(this.parser.midMessage);
  }
}
