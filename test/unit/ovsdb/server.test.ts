import { connect } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JsonRpcConnection } from '../../../src/lib/jsonrpc.js';
import { setLevels, setLogSink } from '../../../src/lib/log.js';
import { eventually } from '../../helpers/eventually.js';
import { type Fixture, TestClient, startServer } from './helpers.js';

let f: Fixture;
const logged: string[] = [];
setLogSink((line) => logged.push(line));

beforeEach(async () => {
  f = await startServer(undefined, { maxMessageBytes: 4096 });
});

afterEach(async () => {
  await f.stop();
});

/** The complete JSON objects at the start of `text`, and the incomplete rest. */
function splitObjects(text: string): { objects: unknown[]; rest: string } {
  const objects: unknown[] = [];
  let depth = 0;
  let inString = false;
  let escaped = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) {
      objects.push(JSON.parse(text.slice(start, i + 1)));
      start = i + 1;
    }
  }
  return { objects, rest: text.slice(start) };
}

/**
 * Sends raw bytes and collects the server's answers until `until` of them
 * have come, or until the server closes the connection ('close'); at a
 * generous deadline it returns what it has, for the test to assert on.
 */
async function raw(bytes: string, until: number | 'close'): Promise<{ replies: unknown[]; closed: boolean }> {
  const s = connect(f.sock);
  s.on('error', () => undefined);
  const replies: unknown[] = [];
  let closed = false;
  let pending = '';
  await new Promise((r) => s.once('connect', r));
  await new Promise<void>((resolve) => {
    const deadline = setTimeout(resolve, 10_000);
    const done = () => {
      clearTimeout(deadline);
      resolve();
    };
    s.on('data', (d: Buffer) => {
      const { objects, rest } = splitObjects(pending + d.toString());
      replies.push(...objects);
      pending = rest;
      if (until !== 'close' && replies.length >= until) done();
    });
    s.on('close', () => {
      closed = true;
      done();
    });
    s.write(bytes);
  });
  s.destroy();
  return { replies, closed };
}

describe('tvsdb server methods', () => {
  it('answers list_dbs, get_schema and echo', async () => {
    const c = await f.client();
    expect(await c.request('list_dbs', [])).toEqual(['_Server', 'Test']);
    expect(await c.request('get_schema', ['Test'])).toMatchObject({ name: 'Test', version: '1.0.0', tables: { Root: { isRoot: true, maxRows: 2 } } });
    expect(await c.request('echo', ['x', 1])).toEqual(['x', 1]);
  });

  it('names the unknown method, the unknown database and bad params in its errors', async () => {
    const c = await f.client();
    await expect(c.request('frobnicate', [])).rejects.toMatchObject({ error: { error: 'unknown method', details: expect.stringContaining('"frobnicate" is not a method') } });
    await expect(c.request('get_schema', ['Nope'])).rejects.toMatchObject({ error: { error: 'unknown database', details: '"Nope" is not served here (databases: _Server, Test)' } });
    await expect(c.request('transact', { db: 'Test' })).rejects.toMatchObject({ error: { error: 'syntax error', details: '"transact" params must be a JSON array, got {"db":"Test"}' } });
    expect(await c.request('echo', [])).toEqual([]);
  });

  it('serves _Server with a Database row per database and refuses writes to it', async () => {
    const c = await f.client();
    const init = (await c.request('monitor_cond', ['_Server', 'm', { Database: [{ columns: ['name', 'model', 'connected', 'leader', 'schema'] }] }])) as Record<string, Record<string, { initial: Record<string, unknown> }>>;
    const rows = Object.values(init.Database!).map((r) => r.initial);
    const test = rows.find((r) => r.name === 'Test')!;
    expect(test).toMatchObject({ model: 'standalone', connected: true, leader: true });
    expect(JSON.parse(test.schema as string)).toMatchObject({ name: 'Test' });
    const res = await c.transact('_Server', { op: 'delete', table: 'Database', where: [] });
    expect(res[0]).toMatchObject({ error: 'not allowed' });
  });

  it('sends update, update2 and update3 to monitors after another client commits, in their formats', async () => {
    const watcher = await f.client();
    const writer = await f.client();
    await watcher.request('monitor', ['Test', 'v1', { Free: { columns: ['n'] } }]);
    await watcher.request('monitor_cond', ['Test', 'v2', { Free: [{ columns: ['n'], where: [['n', '<', 10]] }] }]);
    expect(await watcher.request('monitor_cond_since', ['Test', 'v3', { Free: [{}] }, '00000000-0000-0000-0000-000000000000'])).toEqual([false, '00000000-0000-0000-0000-000000000000', {}]);
    const [ins] = await writer.transact('Test', { op: 'insert', table: 'Free', row: { n: 5 } });
    const uuid = (ins as { uuid: [string, string] }).uuid[1];
    expect((await watcher.nextNotification((n) => n.method === 'update')).params).toEqual(['v1', { Free: { [uuid]: { new: { n: 5 } } } }]);
    expect((await watcher.nextNotification((n) => n.method === 'update2')).params).toEqual(['v2', { Free: { [uuid]: { insert: { n: 5 } } } }]);
    expect((await watcher.nextNotification((n) => n.method === 'update3')).params).toEqual(['v3', '00000000-0000-0000-0000-000000000000', { Free: { [uuid]: { insert: { n: 5 } } } }]);
    // Moving the row out of the v2 condition is a delete for v2, a modify for the others.
    await writer.transact('Test', { op: 'update', table: 'Free', where: [], row: { n: 50 } });
    expect((await watcher.nextNotification((n) => n.method === 'update')).params).toEqual(['v1', { Free: { [uuid]: { old: { n: 5 }, new: { n: 50 } } } }]);
    expect((await watcher.nextNotification((n) => n.method === 'update2')).params).toEqual(['v2', { Free: { [uuid]: { delete: null } } }]);
    expect((await watcher.nextNotification((n) => n.method === 'update3')).params).toEqual(['v3', '00000000-0000-0000-0000-000000000000', { Free: { [uuid]: { modify: { n: 50 } } } }]);
  });

  it('sends set and map changes in update2 as diffs', async () => {
    const c = await f.client();
    await c.transact('Test', { op: 'insert', table: 'Root', row: { name: 'r', children: ['named-uuid', 'k'] } }, { op: 'insert', table: 'Child', 'uuid-name': 'k', row: { name: 'k', tags: ['set', ['a', 'b']], attrs: ['map', [['x', 1], ['y', 2]]] } });
    await c.request('monitor_cond', ['Test', 'd', { Child: [{ columns: ['tags', 'attrs'] }] }]);
    await c.transact('Test', { op: 'update', table: 'Child', where: [], row: { tags: ['set', ['b', 'c']], attrs: ['map', [['x', 1], ['y', 3], ['z', 4]]] } });
    const n = await c.nextNotification((x) => x.method === 'update2');
    const [upd] = Object.values((n.params as [string, { Child: Record<string, unknown> }])[1].Child);
    expect(upd).toEqual({ modify: { tags: ['set', ['a', 'c']], attrs: ['map', [['y', 3], ['z', 4]]] } });
  });

  it('delivers a monitor update before the reply to the transaction that caused it', async () => {
    const c = await f.client();
    await c.request('monitor_cond', ['Test', 'own', { Free: [{}] }]);
    const order: string[] = [];
    const origin = c.conn.handlers.onNotification!;
    c.conn.handlers.onNotification = (m, p) => {
      order.push(m);
      origin(m, p);
    };
    await c.transact('Test', { op: 'insert', table: 'Free', row: { n: 1 } });
    order.push('reply');
    expect(order).toEqual(['update2', 'reply']);
  });

  it('cancels monitors and refuses duplicate monitor ids', async () => {
    const c = await f.client();
    await c.request('monitor', ['Test', 'x', { Free: {} }]);
    await expect(c.request('monitor', ['Test', 'x', { Free: {} }])).rejects.toMatchObject({ error: { error: 'duplicate monitor ID' } });
    expect(await c.request('monitor_cancel', ['x'])).toEqual({});
    await expect(c.request('monitor_cancel', ['x'])).rejects.toMatchObject({ error: { error: 'unknown monitor' } });
    await expect(c.request('monitor', ['Test', 'y', { Nope: {} }])).rejects.toMatchObject({ error: { error: 'syntax error', details: expect.stringContaining('cannot monitor table "Nope"') } });
  });

  it('hands locks over in order, notifies "locked" and "stolen", and checks them in assert', async () => {
    const a = await f.client();
    const b = await f.client();
    expect(await a.request('lock', ['L'])).toEqual({ locked: true });
    expect(await b.request('lock', ['L'])).toEqual({ locked: false });
    expect(await b.transact('Test', { op: 'assert', lock: 'L' })).toMatchObject([{ error: 'not owner' }]);
    expect(await a.request('unlock', ['L'])).toEqual({});
    expect((await b.nextNotification((n) => n.method === 'locked')).params).toEqual(['L']);
    expect(await b.transact('Test', { op: 'assert', lock: 'L' })).toEqual([{}]);
    expect(await a.request('steal', ['L'])).toEqual({ locked: true });
    expect((await b.nextNotification((n) => n.method === 'stolen')).params).toEqual(['L']);
    await expect(b.request('unlock', ['L'])).rejects.toMatchObject({ error: { error: 'unknown lock' } });
  });

  it('passes a lock to the next waiter when its owner disconnects', async () => {
    const a = await f.client();
    const b = await f.client();
    await a.request('lock', ['L']);
    await b.request('lock', ['L']);
    a.close();
    expect((await b.nextNotification((n) => n.method === 'locked')).params).toEqual(['L']);
  });

  it('holds a transaction whose wait is unsatisfied until another commit satisfies it', async () => {
    const a = await f.client();
    const b = await f.client();
    let answered = false;
    const waiting = a
      .transact('Test', { op: 'wait', table: 'Free', where: [], columns: ['n'], until: '==', rows: [{ n: 7 }], timeout: 5000 }, { op: 'insert', table: 'Free', row: { n: 8 } })
      .finally(() => (answered = true));
    // The server handles a session's requests in order: once it echoes, it holds the wait.
    await a.request('echo', []);
    expect(answered).toBe(false);
    await b.transact('Test', { op: 'insert', table: 'Free', row: { n: 7 } });
    expect(await waiting).toEqual([{}, { uuid: expect.any(Array) }]);
  });

  it('fails a blocked wait with "timed out" after its timeout, and "canceled" on cancel', async () => {
    const a = await f.client();
    const wait = { op: 'wait', table: 'Free', where: [], columns: ['n'], until: '!=', rows: [], timeout: 100 };
    expect(await a.transact('Test', wait)).toEqual([{ error: 'timed out', details: expect.stringContaining('within 100 ms') }]);
    const pending = a.transact('Test', { ...wait, timeout: 60_000 });
    // Once the echo (id 2) comes back, the server holds the wait.
    await a.request('echo', []);
    // The client library numbers requests from 0; the wait above was id 0, this one is id 1.
    a.conn.notify('cancel', [1]);
    await expect(pending).rejects.toMatchObject({ error: { error: 'canceled' } });
  });

  it('creates the directory of a unix socket, and refuses to replace a regular file with one', async () => {
    const nested = f.dir.file('run/tvs/db.sock');
    await f.server.listen(`punix:${nested}`);
    const c = await TestClient.connect(nested);
    f.clients.push(c);
    expect(await c.request('echo', ['nested'])).toEqual(['nested']);
    await expect(f.server.listen(`punix:${f.dbPath}`)).rejects.toMatchObject({ tag: 'I/O error', details: expect.stringContaining('is not a socket') });
  });

  it('listens on TCP, on loopback by default, with the real port reported', async () => {
    const bound = await f.server.listen('ptcp:0');
    const m = /^ptcp:(\d+):127\.0\.0\.1$/.exec(bound)!;
    expect(m).not.toBeNull();
    const s = connect(Number(m[1]), '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    const c = new TestClient(new JsonRpcConnection(s, 'tcp'), s);
    f.clients.push(c);
    expect(await c.request('echo', ['tcp'])).toEqual(['tcp']);
  });
});

describe('tvsdb server when the disk fails', () => {
  it('reports the failed write to the committing client, then refuses changes but still serves reads', async () => {
    const c = await f.client();
    await c.transact('Test', { op: 'insert', table: 'Free', row: { n: 1 } });
    // Pull the file out from under the log: the next write fails with EBADF.
    const served = (f.server as unknown as { dbs: Map<string, { log: { fh: { close(): Promise<void> } } }> }).dbs.get('Test')!;
    await served.log.fh.close();
    const failed = await c.transact('Test', { op: 'insert', table: 'Free', row: { n: 2 } });
    expect(failed).toEqual([{ uuid: expect.any(Array) }, { error: 'I/O error', details: expect.stringContaining('writing') }]);
    const refused = await c.transact('Test', { op: 'insert', table: 'Free', row: { n: 3 } });
    expect(refused[1]).toEqual({ error: 'I/O error', details: expect.stringMatching(/accepts no changes since a log write failed .*restart the server/) });
    expect(await c.transact('Test', { op: 'select', table: 'Free', where: [['n', '==', 1]], columns: ['n'] })).toEqual([{ rows: [{ n: 1 }] }]);
  });
});

describe('tvsdb server on bad input', () => {
  it('answers malformed JSON with a syntax error and keeps the connection', async () => {
    const { replies, closed } = await raw('{"method":"echo","params":[1,],"id":1}{"method":"echo","params":[2],"id":2}', 2);
    expect(replies[0]).toEqual({ result: null, error: { error: 'syntax error', details: expect.stringContaining('invalid JSON') }, id: null });
    expect(replies[1]).toEqual({ result: [2], error: null, id: 2 });
    expect(closed).toBe(false);
    // The operator sees it too, at the default (warning) level.
    expect(logged.some((l) => /jsonrpc\|WARN\|unix: syntax error: invalid JSON/.test(l))).toBe(true);
  });

  it('answers a stream that is not JSON at all with an error, then closes that connection only', async () => {
    const other = await f.client();
    const { replies, closed } = await raw('GET / HTTP/1.1\r\n\r\n', 'close');
    expect(replies).toEqual([{ result: null, error: { error: 'syntax error', details: expect.stringContaining('"GET / HTTP/1.1') }, id: null }]);
    expect(closed).toBe(true);
    expect(await other.request('echo', ['still here'])).toEqual(['still here']);
  });

  it('rejects an oversized message with "resources exhausted" and serves the next one', async () => {
    const big = JSON.stringify({ method: 'echo', params: ['x'.repeat(10_000)], id: 1 });
    const { replies } = await raw(big + '{"method":"echo","params":["small"],"id":2}', 2);
    expect(replies).toEqual([
      { result: null, error: { error: 'resources exhausted', details: 'message exceeds the 4096-byte limit and was discarded' }, id: null },
      { result: ['small'], error: null, id: 2 },
    ]);
  });

  it('answers JSON that is not a JSON-RPC message', async () => {
    const { replies } = await raw('[1,2]{"id":5}{"method":7,"params":[],"id":6}{"method":"echo","id":8}', 4);
    expect(replies).toEqual([
      { result: null, error: { error: 'syntax error', details: 'a JSON-RPC message must be a JSON object' }, id: null },
      { result: null, error: { error: 'syntax error', details: 'message is neither a request, a notification nor a reply' }, id: 5 },
      { result: null, error: { error: 'syntax error', details: '"method" must be a string' }, id: 6 },
      { result: null, error: { error: 'syntax error', details: 'request "echo" has no "params" member' }, id: 8 },
    ]);
  });

  it('drops a client that disconnects mid-message without disturbing the others', async () => {
    const other = await f.client();
    await other.request('monitor_cond', ['Test', 'm', { Free: [{}] }]);
    const s = connect(f.sock);
    await new Promise((r) => s.once('connect', r));
    setLevels('ovsdb_server', 'console', 'info');
    try {
      s.write('{"method":"transact","params":["Test",{"op":"insert","table":"Free","row":{"n":');
      s.destroy();
      await eventually(() => logged.some((l) => /disconnected in the middle of a message, which was discarded/.test(l)), 5000, 'the server to drop the half message');
    } finally {
      setLevels('ovsdb_server', 'console', 'warn');
    }
    expect(await other.transact('Test', { op: 'select', table: 'Free', where: [] })).toEqual([{ rows: [] }]);
    expect(other.notifications).toEqual([]);
  });
});
