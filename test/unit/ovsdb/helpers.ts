// Test fixtures: a tvsdb server in this process on a real database file and unix socket, and raw
// JSON-RPC clients, so tests exercise the wire exactly as other clients do.

import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsonRpcConnection } from '../../../src/lib/jsonrpc.js';
import { createDatabaseFile } from '../../../src/ovsdb/db-file.js';
import { OvsdbServer, type ServerOptions } from '../../../src/ovsdb/server.js';

/** A small schema with every feature the engine checks: refs of both kinds, GC, indexes, limits. */
export const TEST_SCHEMA = {
  name: 'Test',
  version: '1.0.0',
  tables: {
    Root: {
      isRoot: true,
      maxRows: 2,
      columns: {
        name: { type: 'string' },
        children: { type: { key: { type: 'uuid', refTable: 'Child' }, min: 0, max: 'unlimited' } },
        favorite: { type: { key: { type: 'uuid', refTable: 'Child', refType: 'weak' }, min: 0, max: 1 } },
        counter: { type: { key: { type: 'integer', minInteger: 0, maxInteger: 100 } } },
      },
      indexes: [['name']],
    },
    Child: {
      columns: {
        name: { type: 'string', mutable: false },
        color: { type: { key: { type: 'string', enum: ['set', ['blue', 'red']] }, min: 0, max: 1 } },
        tags: { type: { key: 'string', min: 0, max: 3 } },
        attrs: { type: { key: 'string', value: 'integer', min: 0, max: 'unlimited' } },
        ratio: { type: 'real' },
        peer: { type: { key: { type: 'uuid', refTable: 'Child', refType: 'weak' }, min: 0, max: 1 } },
      },
      indexes: [['name']],
    },
    Pin: {
      isRoot: true,
      columns: { target: { type: { key: { type: 'uuid', refTable: 'Child', refType: 'weak' }, min: 1, max: 1 } } },
    },
    Free: {
      isRoot: true,
      columns: { n: { type: 'integer' } },
    },
  },
};

export function tempDir(): { path: string; file(n: string): string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), 'tvsdb-unit-'));
  return { path, file: (n) => join(path, n), remove: () => rmSync(path, { recursive: true, force: true }) };
}

export class TestClient {
  readonly notifications: { method: string; params: unknown }[] = [];
  private waiters: (() => void)[] = [];

  constructor(
    readonly conn: JsonRpcConnection,
    readonly socket: Socket,
  ) {
    conn.handlers.onNotification = (method, params) => {
      this.notifications.push({ method, params });
      for (const w of this.waiters.splice(0)) w();
    };
  }

  static connect(path: string): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const s = connect(path);
      s.once('connect', () => resolve(new TestClient(new JsonRpcConnection(s, 'test'), s)));
      s.once('error', reject);
    });
  }

  request(method: string, params: unknown): Promise<unknown> {
    return this.conn.request(method, params);
  }

  transact(db: string, ...ops: unknown[]): Promise<unknown[]> {
    return this.conn.request('transact', [db, ...ops]) as Promise<unknown[]>;
  }

  /** Resolves with the first notification (already received or future) matching `pred`. */
  async nextNotification(pred: (n: { method: string; params: unknown }) => boolean, timeoutMs = 5000): Promise<{ method: string; params: unknown }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.notifications.findIndex(pred);
      if (i >= 0) return this.notifications.splice(i, 1)[0]!;
      if (Date.now() > deadline) throw new Error(`no matching notification; got ${JSON.stringify(this.notifications)}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

export interface Fixture {
  server: OvsdbServer;
  sock: string;
  dbPath: string;
  dir: ReturnType<typeof tempDir>;
  clients: TestClient[];
  client(): Promise<TestClient>;
  stop(): Promise<void>;
}

export async function startServer(schema: unknown = TEST_SCHEMA, opts: ServerOptions = {}): Promise<Fixture> {
  const dir = tempDir();
  const dbPath = dir.file('test.db');
  await createDatabaseFile(dbPath, schema);
  const server = new OvsdbServer(opts);
  await server.addDatabaseFile(dbPath);
  const sock = dir.file('db.sock');
  await server.listen(`punix:${sock}`);
  const clients: TestClient[] = [];
  return {
    server,
    sock,
    dbPath,
    dir,
    clients,
    async client() {
      const c = await TestClient.connect(sock);
      clients.push(c);
      return c;
    },
    async stop() {
      for (const c of clients) c.close();
      await server.close();
      dir.remove();
    },
  };
}
