import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { setLevels, setLogSink } from '../../../src/lib/log.js';
import { OvsdbClient, TransactionError } from '../../../src/ovsdb/client.js';
import { OvsdbServer } from '../../../src/ovsdb/server.js';
import { type Fixture, startServer } from './helpers.js';

let f: Fixture;
const clients: OvsdbClient[] = [];

async function client(opts = {}): Promise<OvsdbClient> {
  const c = await OvsdbClient.connect(`unix:${f.sock}`, opts);
  clients.push(c);
  return c;
}

function until(pred: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (pred()) resolve();
      else if (Date.now() > deadline) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(tick, 10);
    };
    tick();
  });
}

beforeEach(async () => {
  f = await startServer();
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await f.stop();
});

describe('OvsdbClient', () => {
  it('lists databases, fetches schemas and runs transactions', async () => {
    const c = await client();
    expect(await c.listDbs()).toEqual(['_Server', 'Test']);
    expect((await c.getSchema('Test')).name).toBe('Test');
    const [res] = await c.transact('Test', [{ op: 'insert', table: 'Free', row: { n: 3 } }]);
    expect(res).toEqual({ uuid: ['uuid', expect.any(String)] });
  });

  it('throws TransactionError carrying every result when an operation fails', async () => {
    const c = await client();
    const err = await c.transact('Test', [{ op: 'insert', table: 'Free', row: { n: 'x' } }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransactionError);
    expect((err as TransactionError).error.error).toBe('syntax error');
    expect((err as TransactionError).results).toHaveLength(1);
  });

  it('keeps a replica in step with inserts, set/map modifications and deletes by others', async () => {
    const reader = await client();
    const writer = await client();
    const replica = await reader.monitor('Test', { Root: { columns: ['name', 'children'] }, Child: {} });
    const [, kid] = await writer.transact('Test', [
      { op: 'insert', table: 'Root', row: { name: 'r', children: ['named-uuid', 'k'] } },
      { op: 'insert', table: 'Child', 'uuid-name': 'k', row: { name: 'k', tags: ['set', ['a', 'b']], attrs: ['map', [['x', 1]]] } },
    ]);
    const kidUuid = (kid as { uuid: [string, string] }).uuid[1];
    await until(() => replica.rows('Child').length === 1, 'the insert');
    expect(replica.rows('Root')[0]!.toJSON()).toMatchObject({ name: 'r', children: ['uuid', kidUuid] });
    await writer.transact('Test', [{ op: 'mutate', table: 'Child', where: [], mutations: [['tags', 'delete', 'a'], ['tags', 'insert', 'c'], ['attrs', 'insert', ['map', [['y', 2]]]]] }]);
    await until(() => replica.row('Child', kidUuid)!.get('tags').keys.includes('c'), 'the modify');
    expect(replica.row('Child', kidUuid)!.toJSON()).toMatchObject({ tags: ['set', ['b', 'c']], attrs: ['map', [['x', 1], ['y', 2]]] });
    await writer.transact('Test', [{ op: 'update', table: 'Root', where: [], row: { children: ['set', []] } }]);
    await until(() => replica.rows('Child').length === 0, 'the garbage-collected child to disappear');
  });

  it('stops updating a replica whose monitor is cancelled', async () => {
    const c = await client();
    const replica = await c.monitor('Test', { Free: {} });
    let updates = 0;
    replica.on('update', () => updates++);
    await c.transact('Test', [{ op: 'insert', table: 'Free', row: { n: 1 } }]);
    await until(() => updates === 1, 'the first update');
    await c.cancelMonitor(replica);
    await c.transact('Test', [{ op: 'insert', table: 'Free', row: { n: 2 } }]);
    // An echo round trip after the commit: any update for it would have arrived before the reply.
    await c.request('echo', []);
    expect(updates).toBe(1);
    expect(replica.rows('Free')).toHaveLength(1);
    await expect(c.cancelMonitor(replica)).rejects.toMatchObject({ tag: 'unknown monitor' });
  });

  it('reconnects with backoff after the server restarts and refills its replica', async () => {
    const c = await client({ minBackoffMs: 20, maxBackoffMs: 100 });
    await c.transact('Test', [{ op: 'insert', table: 'Free', row: { n: 1 } }]);
    const replica = await c.monitor('Test', { Free: {} });
    expect(replica.rows('Free')).toHaveLength(1);
    let disconnects = 0;
    c.on('disconnected', () => disconnects++);
    // Each attempt that fails schedules the next one, and says so at level info.
    const retries: string[] = [];
    setLevels('ovsdb_client', 'console', 'info');
    setLogSink((line) => /reconnecting in \d+ ms/.test(line) && retries.push(line));
    try {
      await f.server.close();
      await until(() => disconnects === 1, 'the disconnect');
      await expect(c.transact('Test', [])).rejects.toMatchObject({ error: { error: 'connection closed' } });
      // A few attempts fail before the server comes back.
      await until(() => retries.length >= 3, 'three reconnection attempts');
    } finally {
      setLevels('ovsdb_client', 'console', 'warn');
      setLogSink((line) => process.stderr.write(line + '\n'));
    }
    const again = new OvsdbServer();
    await again.addDatabaseFile(f.dbPath);
    await again.listen(`punix:${f.sock}`);
    f.server = again;
    await until(() => c.connected, 'the reconnection');
    const other = await client();
    await other.transact('Test', [{ op: 'insert', table: 'Free', row: { n: 2 } }]);
    await until(() => replica.rows('Free').length === 2, 'the replica to follow the new server');
    expect(disconnects).toBe(1);
  });
});
