// tvsdb-server as a real process on a real database file and socket, sent what no well-behaved
// client sends: it must answer with an error, keep serving, and keep every committed row.
import { once } from 'node:events';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH } from '../../../src/lib/json.js';
import { createDatabaseFile } from '../../../src/ovsdb/db-file.js';
import { nested, RawPeer } from '../../helpers/raw-peer.js';
import { ServerProcess, ensureBuilt } from '../../compat/ovsdb-harness.js';
import { TEST_SCHEMA, TestClient, tempDir } from './helpers.js';

let dir: ReturnType<typeof tempDir>;
let server: ServerProcess;
let sock: string;
const peers: RawPeer[] = [];
const clients: TestClient[] = [];

beforeAll(async () => {
  ensureBuilt();
  dir = tempDir();
  sock = dir.file('db.sock');
  await createDatabaseFile(dir.file('test.db'), TEST_SCHEMA);
  server = await ServerProcess.start(dir.file('test.db'), [`punix:${sock}`]);
  const c = await client();
  await c.transact('Test', { op: 'insert', table: 'Free', row: { n: 1 } });
});

afterEach(() => {
  for (const p of peers.splice(0)) p.close();
  for (const c of clients.splice(0)) c.close();
});

afterAll(async () => {
  await server?.stop();
  dir?.remove();
});

async function peer(): Promise<RawPeer> {
  const p = await RawPeer.connect(sock);
  peers.push(p);
  return p;
}

async function client(path = sock): Promise<TestClient> {
  const c = await TestClient.connect(path);
  clients.push(c);
  return c;
}

async function committedRows(): Promise<unknown> {
  return (await client()).transact('Test', { op: 'select', table: 'Free', where: [], columns: ['n'] });
}

describe('tvsdb-server against deeply nested JSON', () => {
  it('answers a request nested 5 000 levels deep with a syntax error, and serves that connection and others on', async () => {
    const p = await peer();
    p.send(`{"method":"echo","params":${nested(5000)},"id":1}`);
    expect(await p.next()).toEqual({
      result: null,
      error: { error: 'syntax error', details: 'line 0, column 1025, byte 1025: input exceeds maximum nesting depth 1000' },
      id: null,
    });
    p.send('{"method":"echo","params":["still here"],"id":2}');
    expect(await p.next()).toEqual({ result: ['still here'], error: null, id: 2 });
    expect(await committedRows()).toEqual([{ rows: [{ n: 1 }] }]);
    expect(server.child.exitCode).toBe(null);
  });

  it('echoes a request nested exactly 1000 levels deep', async () => {
    const p = await peer();
    p.send(`{"method":"echo","params":${nested(MAX_JSON_DEPTH - 1)},"id":1}`);
    const reply = (await p.next()) as { result: unknown };
    expect(JSON.stringify(reply.result)).toBe(nested(MAX_JSON_DEPTH - 1));
  });

  it('refuses 100 000 levels of data in a where clause as a syntax error, not an internal error', async () => {
    const p = await peer();
    p.send(`{"method":"transact","params":["Test",{"op":"select","table":"Free","where":[["n","==",${nested(100_000)}]]}],"id":1}`);
    expect(await p.next()).toEqual({
      result: null,
      error: { error: 'syntax error', details: expect.stringMatching(/^line 0, column \d+, byte \d+: input exceeds maximum nesting depth 1000$/) },
      id: null,
    });
    expect(await committedRows()).toEqual([{ rows: [{ n: 1 }] }]);
  });

  it('names the column when data as deep as allowed sits where an atom belongs', async () => {
    const deep = nested(MAX_JSON_DEPTH - 10);
    const c = await client();
    expect(await c.transact('Test', { op: 'select', table: 'Free', where: [['n', '==', JSON.parse(deep)]] })).toEqual([
      { error: 'syntax error', details: expect.stringContaining('where[0] value for column n') },
    ]);
    expect(await c.transact('Test', { op: 'insert', table: 'Free', row: { n: JSON.parse(deep) } })).toEqual([
      { error: 'syntax error', details: expect.stringContaining('column n') },
    ]);
    expect(await c.request('monitor_cond', ['Test', JSON.parse(deep), { Free: [{ where: [['n', '==', JSON.parse(deep)]] }] }]).catch((e: unknown) => (e as { error: unknown }).error)).toEqual({
      error: 'syntax error',
      details: expect.stringContaining('column n'),
    });
    expect(await committedRows()).toEqual([{ rows: [{ n: 1 }] }]);
  });
});

describe('tvsdb-server against names that every JavaScript object has', () => {
  it('refuses an operation named toString or constructor as an unknown "op", and serves on', async () => {
    const c = await client();
    for (const op of ['toString', 'constructor', '__proto__']) {
      expect(await c.transact('Test', { op, table: 'Free' })).toEqual([
        { error: 'syntax error', details: expect.stringContaining(`operation 0 has unknown "op" "${op}"`) },
      ]);
    }
    expect(await committedRows()).toEqual([{ rows: [{ n: 1 }] }]);
  });
});

describe('tvsdb-server "wait" timeouts', () => {
  it('keeps a wait with a 2^32 ms timeout pending until another client makes it true, with no TimeoutOverflowWarning', async () => {
    // A server of its own, stopped at the end so that all it wrote to stderr can be read.
    await createDatabaseFile(dir.file('wait.db'), TEST_SCHEMA);
    const ownSock = dir.file('wait.sock');
    const own = await ServerProcess.start(dir.file('wait.db'), [`punix:${ownSock}`]);
    const waiter = await client(ownSock);
    const wait = waiter.transact('Test', { op: 'wait', table: 'Free', where: [['n', '==', 42]], columns: ['n'], until: '==', rows: [{ n: 42 }], timeout: 2 ** 32 });
    // Requests on one connection are handled in order: once the echo is answered, the wait is pending.
    expect(await waiter.request('echo', ['after the wait'])).toEqual(['after the wait']);
    await (await client(ownSock)).transact('Test', { op: 'insert', table: 'Free', row: { n: 42 } });
    expect(await wait).toEqual([{}]);
    const closed = once(own.child, 'close');
    await own.stop();
    await closed;
    expect(own.stderr).not.toContain('TimeoutOverflowWarning');
  });
});
