import { beforeEach, describe, expect, it } from 'vitest';
import { Database } from '../../../src/ovsdb/database.js';
import { executeTransaction } from '../../../src/ovsdb/execute.js';
import { parseSchema } from '../../../src/ovsdb/schema.js';
import { TEST_SCHEMA } from './helpers.js';

let db: Database;
const noLocks = { ownsLock: () => false };

/** Runs one transaction and commits it like the server does; returns the results. */
function tx(...ops: unknown[]): unknown[] {
  const out = executeTransaction(db, ops, noLocks);
  if (out.kind !== 'done') throw new Error('transaction blocked');
  if (out.changeset) db.apply(out.changeset);
  return out.results;
}

function rows(table: string, ...columns: string[]): Record<string, unknown>[] {
  return (tx({ op: 'select', table, where: [], columns }) as [{ rows: Record<string, unknown>[] }])[0].rows;
}

function uuidOf(result: unknown): string {
  return (result as { uuid: [string, string] }).uuid[1];
}

beforeEach(() => {
  db = new Database(parseSchema(TEST_SCHEMA));
});

describe('transact operations', () => {
  it('inserts with defaults for missing columns and selects them back', () => {
    tx({ op: 'insert', table: 'Root', row: { name: 'a' } });
    const [r] = tx({ op: 'select', table: 'Root', where: [['name', '==', 'a']] }) as [{ rows: Record<string, unknown>[] }];
    expect(r.rows).toHaveLength(1);
    expect(r.rows[0]).toMatchObject({ name: 'a', children: ['set', []], favorite: ['set', []], counter: 0 });
    expect(r.rows[0]!._uuid).toEqual(['uuid', expect.any(String)]);
    expect(r.rows[0]!._version).toEqual(['uuid', expect.any(String)]);
  });

  it('resolves named-uuids used before the insert that defines them', () => {
    const res = tx(
      { op: 'insert', table: 'Root', row: { name: 'a', children: ['named-uuid', 'kid'] } },
      { op: 'insert', table: 'Child', 'uuid-name': 'kid', row: { name: 'k', peer: ['named-uuid', 'kid'] } },
    );
    const kid = uuidOf(res[1]);
    expect(rows('Root', 'children')).toEqual([{ children: ['uuid', kid] }]);
    expect(rows('Child', 'peer')).toEqual([{ peer: ['uuid', kid] }]);
  });

  it('lets a where clause name a row inserted earlier in the same transaction by its uuid-name', () => {
    const res = tx(
      { op: 'insert', table: 'Free', 'uuid-name': 'mine', row: { n: 1 } },
      { op: 'update', table: 'Free', where: [['_uuid', '==', ['named-uuid', 'mine']]], row: { n: 2 } },
    );
    expect(res[1]).toEqual({ count: 1 });
    expect(rows('Free', 'n')).toEqual([{ n: 2 }]);
  });

  it('inserts a row with the uuid the client chose, once (OVS\'s "uuid" extension)', () => {
    const uuid = '0a1b2c3d-0000-4000-8000-000000000001';
    expect(tx({ op: 'insert', table: 'Free', uuid, row: { n: 1 } })).toEqual([{ uuid: ['uuid', uuid] }]);
    expect(tx({ op: 'insert', table: 'Free', uuid, row: { n: 2 } })[0]).toMatchObject({ error: 'duplicate uuid', details: expect.stringContaining(uuid) });
    expect(tx({ op: 'insert', table: 'Free', uuid: 'nope', row: {} })[0]).toMatchObject({ error: 'syntax error', details: '"uuid" must be a UUID string, got "nope"' });
  });

  it('updates and counts matching rows, and refuses to update an immutable column', () => {
    tx({ op: 'insert', table: 'Free', row: { n: 1 } }, { op: 'insert', table: 'Free', row: { n: 2 } }, { op: 'insert', table: 'Free', row: { n: 3 } });
    expect(tx({ op: 'update', table: 'Free', where: [['n', '>=', 2]], row: { n: 7 } })).toEqual([{ count: 2 }]);
    expect(rows('Free', 'n').map((r) => r.n).sort()).toEqual([1, 7, 7]);
    tx({ op: 'insert', table: 'Root', row: { name: 'r', children: ['named-uuid', 'c'] } }, { op: 'insert', table: 'Child', 'uuid-name': 'c', row: { name: 'c' } });
    const res = tx({ op: 'update', table: 'Child', where: [], row: { name: 'renamed' } });
    expect(res[0]).toEqual({ error: 'constraint violation', details: expect.stringContaining('column name of table Child is immutable') });
  });

  it('mutates numbers and sets, and reports domain, range and constraint errors', () => {
    tx({ op: 'insert', table: 'Root', row: { name: 'a', counter: 10 } });
    expect(tx({ op: 'mutate', table: 'Root', where: [], mutations: [['counter', '+=', 5]] })).toEqual([{ count: 1 }]);
    expect(rows('Root', 'counter')).toEqual([{ counter: 15 }]);
    expect(tx({ op: 'mutate', table: 'Root', where: [], mutations: [['counter', '/=', 0]] })[0]).toMatchObject({ error: 'domain error' });
    expect(tx({ op: 'mutate', table: 'Root', where: [], mutations: [['counter', '*=', 100]] })[0]).toMatchObject({
      error: 'constraint violation',
      details: expect.stringContaining('1500 is greater than the maximum 100'),
    });
    tx({ op: 'insert', table: 'Free', row: { n: Number.MAX_SAFE_INTEGER } });
    expect(tx({ op: 'mutate', table: 'Free', where: [], mutations: [['n', '+=', 1]] })[0]).toMatchObject({ error: 'range error' });
  });

  it('inserts into and deletes from sets and maps, keeping set limits', () => {
    tx({ op: 'insert', table: 'Root', row: { name: 'r', children: ['named-uuid', 'c'] } }, { op: 'insert', table: 'Child', 'uuid-name': 'c', row: { name: 'c', attrs: ['map', [['a', 1]]] } });
    tx({ op: 'mutate', table: 'Child', where: [], mutations: [['tags', 'insert', ['set', ['x', 'y']]], ['attrs', 'insert', ['map', [['a', 9], ['b', 2]]]]] });
    expect(rows('Child', 'tags', 'attrs')).toEqual([{ tags: ['set', ['x', 'y']], attrs: ['map', [['a', 1], ['b', 2]]] }]);
    const over = tx({ op: 'mutate', table: 'Child', where: [], mutations: [['tags', 'insert', ['set', ['p', 'q']]]] });
    expect(over[0]).toMatchObject({ error: 'constraint violation', details: expect.stringContaining('at most 3') });
    tx({ op: 'mutate', table: 'Child', where: [], mutations: [['tags', 'delete', 'x'], ['attrs', 'delete', ['set', ['a']]]] });
    expect(rows('Child', 'tags', 'attrs')).toEqual([{ tags: 'y', attrs: ['map', [['b', 2]]] }]);
  });

  it('evaluates includes and excludes on sets', () => {
    tx({ op: 'insert', table: 'Root', row: { name: 'r', children: ['set', [['named-uuid', 'a'], ['named-uuid', 'b']]] } }, { op: 'insert', table: 'Child', 'uuid-name': 'a', row: { name: 'a', tags: ['set', ['x', 'y']] } }, { op: 'insert', table: 'Child', 'uuid-name': 'b', row: { name: 'b', tags: 'y' } });
    const names = (where: unknown) => (tx({ op: 'select', table: 'Child', where, columns: ['name'] }) as [{ rows: { name: string }[] }])[0].rows.map((r) => r.name).sort();
    expect(names([['tags', 'includes', 'y']])).toEqual(['a', 'b']);
    expect(names([['tags', 'includes', ['set', ['x', 'y']]]])).toEqual(['a']);
    expect(names([['tags', 'excludes', 'x']])).toEqual(['b']);
  });

  it('stops at the first failing operation and fills the rest with null, committing nothing', () => {
    const res = tx(
      { op: 'insert', table: 'Free', row: { n: 1 } },
      { op: 'insert', table: 'Nope', row: {} },
      { op: 'insert', table: 'Free', row: { n: 2 } },
    );
    expect(res).toEqual([{ uuid: expect.any(Array) }, { error: 'syntax error', details: 'unknown table "Nope": database Test has no such table' }, null]);
    expect(rows('Free', 'n')).toEqual([]);
  });

  it('rejects wrong types with a syntax error that names the column', () => {
    const res = tx({ op: 'insert', table: 'Free', row: { n: 'five' } });
    expect(res[0]).toEqual({ error: 'syntax error', details: 'table Free column n: expected a JSON integer, got "five"' });
    expect(tx({ op: 'insert', table: 'Free', row: { m: 1 } })[0]).toMatchObject({ error: 'unknown column' });
    expect(tx({ op: 'insert', table: 'Free', row: { n: 1 }, bogus: true })[0]).toMatchObject({ error: 'syntax error', details: expect.stringContaining('"bogus"') });
    expect(tx({ op: 'explode', table: 'Free' })[0]).toMatchObject({ error: 'syntax error', details: expect.stringContaining('unknown "op"') });
  });

  it('abort, comment, commit and assert behave as RFC 7047 says', () => {
    expect(tx({ op: 'insert', table: 'Free', row: { n: 1 } }, { op: 'abort' })).toEqual([{ uuid: expect.any(Array) }, { error: 'aborted', details: expect.any(String) }]);
    expect(rows('Free')).toEqual([]);
    expect(tx({ op: 'comment', comment: 'hi' }, { op: 'commit', durable: true })).toEqual([{}, {}]);
    expect(tx({ op: 'assert', lock: 'l' })[0]).toMatchObject({ error: 'not owner' });
    const owned = executeTransaction(db, [{ op: 'assert', lock: 'l' }], { ownsLock: (n) => n === 'l' });
    expect(owned).toEqual({ kind: 'done', results: [{}] });
  });

  it('wait with timeout 0 fails with "timed out" when the rows differ, and passes when they match', () => {
    tx({ op: 'insert', table: 'Free', row: { n: 4 } });
    expect(tx({ op: 'wait', table: 'Free', where: [], columns: ['n'], until: '==', rows: [{ n: 4 }], timeout: 0 })).toEqual([{}]);
    expect(tx({ op: 'wait', table: 'Free', where: [], columns: ['n'], until: '==', rows: [{ n: 5 }], timeout: 0 })[0]).toMatchObject({ error: 'timed out' });
    expect(tx({ op: 'wait', table: 'Free', where: [], columns: ['n'], until: '!=', rows: [{ n: 5 }], timeout: 0 })).toEqual([{}]);
    expect(executeTransaction(db, [{ op: 'wait', table: 'Free', where: [], columns: ['n'], until: '==', rows: [], timeout: 1000 }], noLocks)).toEqual({ kind: 'blocked', timeoutMs: 1000 });
  });
});

describe('commit-time integrity', () => {
  it('garbage-collects non-root rows once nothing refers to them', () => {
    tx({ op: 'insert', table: 'Root', row: { name: 'r', children: ['named-uuid', 'c'] } }, { op: 'insert', table: 'Child', 'uuid-name': 'c', row: { name: 'c' } });
    // A child inserted without a reference is collected in the same commit.
    tx({ op: 'insert', table: 'Child', row: { name: 'orphan' } });
    expect(rows('Child', 'name')).toEqual([{ name: 'c' }]);
    tx({ op: 'update', table: 'Root', where: [], row: { children: ['set', []] } });
    expect(rows('Child', 'name')).toEqual([]);
    expect(db.check()).toEqual([]);
  });

  it('refuses to delete a row that a strong reference still points to', () => {
    tx({ op: 'insert', table: 'Root', row: { name: 'r', children: ['named-uuid', 'c'] } }, { op: 'insert', table: 'Child', 'uuid-name': 'c', row: { name: 'c' } });
    const res = tx({ op: 'delete', table: 'Child', where: [] });
    expect(res).toEqual([{ count: 1 }, { error: 'referential integrity violation', details: expect.stringMatching(/cannot delete Child row .* Root row/) }]);
    expect(rows('Child', 'name')).toEqual([{ name: 'c' }]);
  });

  it('refuses a strong reference to a row that does not exist or is in another table', () => {
    const free = uuidOf(tx({ op: 'insert', table: 'Free', row: { n: 1 } })[0]);
    const res = tx({ op: 'insert', table: 'Root', row: { name: 'r', children: ['uuid', free] } });
    expect(res[1]).toEqual({ error: 'referential integrity violation', details: expect.stringContaining(`refers to ${free}, which is not a row of table Child`) });
  });

  it('drops weak references to deleted rows, and fails when that leaves fewer than min', () => {
    const res = tx(
      { op: 'insert', table: 'Root', row: { name: 'r', children: ['set', [['named-uuid', 'a'], ['named-uuid', 'b']]], favorite: ['named-uuid', 'a'] } },
      { op: 'insert', table: 'Child', 'uuid-name': 'a', row: { name: 'a', peer: ['named-uuid', 'a'] } },
      { op: 'insert', table: 'Child', 'uuid-name': 'b', row: { name: 'b', peer: ['named-uuid', 'b'] } },
    );
    const b = uuidOf(res[2]);
    // Dropping child a clears the weak "favorite" reference to it.
    tx({ op: 'update', table: 'Root', where: [], row: { children: ['uuid', b] } });
    expect(rows('Root', 'favorite')).toEqual([{ favorite: ['set', []] }]);
    // Pin.target must hold exactly one reference: collecting the child it points to breaks min 1.
    tx({ op: 'insert', table: 'Pin', row: { target: ['uuid', b] } });
    const bad = tx({ op: 'update', table: 'Root', where: [], row: { children: ['set', []] } });
    expect(bad[1]).toMatchObject({ error: 'constraint violation', details: expect.stringContaining('column target') });
    expect(rows('Child', 'name')).toEqual([{ name: 'b' }]);
    expect(db.check()).toEqual([]);
  });

  it('enforces unique indexes within a transaction and against existing rows, allowing swaps', () => {
    tx({ op: 'insert', table: 'Root', row: { name: 'x' } });
    expect(tx({ op: 'insert', table: 'Root', row: { name: 'x' } })[1]).toEqual({
      error: 'constraint violation',
      details: expect.stringMatching(/value \("x"\) for unique index \(name\), which existing row .* already has/),
    });
    tx({ op: 'insert', table: 'Root', row: { name: 'y' } });
    expect(tx({ op: 'update', table: 'Root', where: [], row: { name: 'z' } })[1]).toMatchObject({ error: 'constraint violation', details: expect.stringContaining('the same value ("z")') });
    // Renaming x->y and y->x in one transaction is fine: only the final state counts.
    const res = tx({ op: 'update', table: 'Root', where: [['name', '==', 'x']], row: { name: 'tmp' } }, { op: 'update', table: 'Root', where: [['name', '==', 'y']], row: { name: 'x' } }, { op: 'update', table: 'Root', where: [['name', '==', 'tmp']], row: { name: 'y' } });
    expect(res).toEqual([{ count: 1 }, { count: 1 }, { count: 1 }]);
  });

  it('enforces maxRows', () => {
    tx({ op: 'insert', table: 'Root', row: { name: 'a' } }, { op: 'insert', table: 'Root', row: { name: 'b' } });
    expect(tx({ op: 'insert', table: 'Root', row: { name: 'c' } })[1]).toMatchObject({ error: 'constraint violation', details: expect.stringContaining('at most 2') });
  });

  it('checks enum and range constraints on the way in', () => {
    tx({ op: 'insert', table: 'Root', row: { name: 'r', children: ['named-uuid', 'c'] } }, { op: 'insert', table: 'Child', 'uuid-name': 'c', row: { name: 'c' } });
    expect(tx({ op: 'update', table: 'Child', where: [], row: { color: 'green' } })[0]).toEqual({
      error: 'constraint violation',
      details: 'table Child column color: "green" is not one of the allowed values ("blue", "red")',
    });
    expect(tx({ op: 'update', table: 'Root', where: [], row: { counter: -1 } })[0]).toMatchObject({ error: 'constraint violation' });
  });

  it('reports a named-uuid that no insert defines', () => {
    const res = tx({ op: 'insert', table: 'Root', row: { name: 'r', children: ['named-uuid', 'ghost'] } });
    expect(res[1]).toMatchObject({ error: 'referential integrity violation', details: expect.stringContaining('"ghost"') });
  });

  it('refuses writes to a read-only database', () => {
    const res = executeTransaction(db, [{ op: 'insert', table: 'Free', row: {} }], { ownsLock: () => false, readOnly: true });
    expect(res).toMatchObject({ kind: 'done', results: [{ error: 'not allowed' }] });
  });
});
