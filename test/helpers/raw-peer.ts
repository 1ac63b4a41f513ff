// A bare JSON-RPC peer on a unix socket: it sends whatever text a test gives it, as no
// well-behaved client would, and hands back each message the daemon sends, in order.
import { connect, type Socket } from 'node:net';
import { JsonStreamParser } from '../../src/lib/jsonrpc.js';

export class RawPeer {
  private readonly received: unknown[] = [];
  private waiting: (() => void) | undefined;
  private ended = false;

  private constructor(private readonly socket: Socket) {
    const parser = new JsonStreamParser();
    socket.on('data', (data: Buffer) => {
      for (const ev of parser.feed(data)) this.received.push(ev.kind === 'message' ? ev.value : ev);
      this.waiting?.();
    });
    socket.on('close', () => {
      this.ended = true;
      this.waiting?.();
    });
  }

  static connect(path: string): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const socket = connect(path);
      socket.once('connect', () => resolve(new RawPeer(socket)));
      socket.once('error', reject);
    });
  }

  send(text: string): void {
    this.socket.write(text);
  }

  /** The next message from the daemon; rejects if the connection closes first. */
  async next(): Promise<unknown> {
    while (this.received.length === 0) {
      if (this.ended) throw new Error('the daemon closed the connection');
      await new Promise<void>((resolve) => (this.waiting = resolve));
    }
    return this.received.shift();
  }

  /** Resolves once the daemon has closed the connection. */
  async closed(): Promise<void> {
    while (!this.ended) await new Promise<void>((resolve) => (this.waiting = resolve));
  }

  close(): void {
    this.socket.destroy();
  }
}

/** `n` arrays nested in one another: [[[...]]]. */
export function nested(n: number): string {
  return '['.repeat(n) + ']'.repeat(n);
}
